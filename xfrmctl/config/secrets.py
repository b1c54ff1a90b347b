"""Secrets in configuration: pre-shared keys and manual SA keys.

Junos prints secrets as ``$9$`` strings. That is a reversible obfuscation (a public scheme: each
plaintext byte becomes 1-4 characters whose "gaps" in a fixed 65-character alphabet encode it),
not encryption, so an imported configuration can be decoded and used. The plaintext lives only in
`Secret.value`, which is kept out of ``repr`` and of every message.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

PLACEHOLDER = "SECRET-DATA-REMOVED"

SECRET_KEYWORDS = frozenset(
    {
        "ascii-text", "hexadecimal", "password", "secret", "encrypted-password",
        "authentication-key", "plain-text-password-value", "value",
    }
)  # fmt: skip
"""Keywords whose next word is a key or password: messages and writers never repeat it."""
"""Written by ``config convert`` in place of a key unless ``--show-secrets`` is given."""

_FAMILIES = ("QzF3n6/9CAtpu0O", "B1IREhcSyrleKvMW8LXx", "7N-dVbwsY2g4oaJZGUDj", "iHkq.mPf5T")
_ALPHABET = "".join(_FAMILIES)
_POSITION = {c: i for i, c in enumerate(_ALPHABET)}
# How many random filler characters follow the salt character, by the salt's family.
_EXTRA = {c: 3 - n for n, family in enumerate(_FAMILIES) for c in family}
# Weights of the gaps that encode one plaintext byte, cycling with the byte's position.
_ENCODING = ((1, 4, 32), (1, 16, 32), (1, 8, 32), (1, 64), (1, 32), (1, 4, 16, 128), (1, 32, 64))
_PREFIX = "$9$"


class SecretFormatError(ValueError):
    """A ``$9$`` string that is not a valid encoding."""


def is_junos_obfuscated(text: str) -> bool:
    return text.startswith(_PREFIX)


def junos9_decode(text: str) -> str:
    """Return the plaintext of a Junos ``$9$`` string."""
    if not text.startswith(_PREFIX):
        raise SecretFormatError("not a $9$ string")
    chars = text[len(_PREFIX) :]
    if not chars or any(c not in _POSITION for c in chars):
        raise SecretFormatError("invalid character in $9$ string")
    salt = chars[0]
    rest = chars[1 + _EXTRA[salt] :]
    if len(chars) < 1 + _EXTRA[salt]:
        raise SecretFormatError("truncated $9$ string")
    previous = salt
    plain: list[str] = []
    while rest:
        weights = _ENCODING[len(plain) % len(_ENCODING)]
        if len(rest) < len(weights):
            raise SecretFormatError("truncated $9$ string")
        group, rest = rest[: len(weights)], rest[len(weights) :]
        value = 0
        for char, weight in zip(group, weights, strict=True):
            gap = (_POSITION[char] - _POSITION[previous]) % len(_ALPHABET) - 1
            previous = char
            value += gap * weight
        plain.append(chr(value % 256))
    return "".join(plain)


def junos9_encode(plain: str) -> str:
    """Obfuscate `plain` as Junos does; the salt is derived from the text so output is stable."""
    digest = hashlib.sha256(plain.encode("utf-8", "surrogatepass")).digest()
    salt = _ALPHABET[digest[0] % len(_ALPHABET)]
    filler = "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[1 : 1 + _EXTRA[salt]])
    out = [_PREFIX, salt, filler]
    previous = salt
    for position, char in enumerate(plain):
        code = ord(char)
        if code > 255:
            raise SecretFormatError("$9$ can only encode 8-bit characters")
        weights = _ENCODING[position % len(_ENCODING)]
        gaps: list[int] = []
        for weight in reversed(weights):
            gaps.insert(0, code // weight)
            code %= weight
        for gap in gaps:
            previous = _ALPHABET[(_POSITION[previous] + gap + 1) % len(_ALPHABET)]
            out.append(previous)
    return "".join(out)


@dataclass(frozen=True)
class Secret:
    """A key as configured: `form` is the Junos keyword (``ascii-text`` or ``hexadecimal``)."""

    form: str
    text: str = field(repr=False)
    """The plaintext as typed (ASCII text, or hex digits for ``hexadecimal``)."""

    @property
    def value(self) -> bytes:
        if self.form == "hexadecimal":
            digits = self.text[2:] if self.text.lower().startswith("0x") else self.text
            return bytes.fromhex(digits)
        return self.text.encode("latin-1")

    def __str__(self) -> str:
        return f"<{self.form} secret>"
