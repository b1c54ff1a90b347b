"""The common form every front end produces: flat statements of words with their locations.

A curly block ``ike { gateway gw1 { address 1.1.1.1; } }``, the command ``set security ike gateway
gw1 address 1.1.1.1`` and the YAML mapping for it all become the same word sequence, so one
grammar walk (`tree.py`) validates all three.
"""

from __future__ import annotations

from dataclasses import dataclass

from xfrmctl.config.errors import Location
from xfrmctl.config.secrets import SECRET_KEYWORDS


@dataclass(frozen=True)
class Word:
    text: str
    location: Location
    items: tuple[Word, ...] | None = None
    """For a bracketed list ``[ a b ]``: its members (then `text` is the list as written)."""

    @property
    def is_list(self) -> bool:
        return self.items is not None


@dataclass(frozen=True)
class Statement:
    words: tuple[Word, ...]
    location: Location


def make_list(items: list[Word], location: Location) -> Word:
    return Word("[ " + " ".join(w.text for w in items) + " ]", location, tuple(items))


def drop_prefixed(statements: list[Statement], prefix: tuple[str, ...]) -> list[Statement]:
    """Statements not under `prefix` (what ``delete PATH`` / ``inactive:`` leave)."""
    n = len(prefix)
    return [s for s in statements if tuple(w.text for w in s.words[:n]) != prefix]


def shown(words: tuple[Word, ...] | list[Word]) -> str:
    """The words of a statement for a message, with any key replaced by ``<secret>``."""
    out: list[str] = []
    for i, word in enumerate(words):
        secret = i > 0 and words[i - 1].text in SECRET_KEYWORDS
        out.append("<secret>" if secret else word.text)
    return " ".join(out)
