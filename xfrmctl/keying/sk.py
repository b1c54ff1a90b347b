"""Protect and unprotect the Encrypted payload (RFC 7296 3.14) and its fragments (RFC 7383).

CBC ciphers: plaintext = payloads | padding | pad length, ICV = truncated HMAC over the whole
message up to the ICV. AEAD (RFC 5282, RFC 7634): the AAD is the message from the IKE header up to
the IV (for SKF including the fragment number/total), and the cipher's tag is the ICV.
An ICV failure raises ``CryptoError``; anything malformed raises ``ParseError``.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from xfrmctl.keying.cipher import AeadCipher, CbcCipher, Integrity, make_cipher
from xfrmctl.keying.constants import IKE_HEADER_SIZE, PayloadType
from xfrmctl.keying.dh import Rng
from xfrmctl.keying.errors import CryptoError, ParseError
from xfrmctl.keying.keys import IkeKeys
from xfrmctl.keying.message import IkeHeader, Message, parse_message
from xfrmctl.keying.payloads import Payload, SkfPayload, SkPayload, encode_payloads, parse_payloads
from xfrmctl.keying.transforms import Transform


@dataclass(frozen=True)
class SkKeys:
    """The keys protecting one direction of an IKE SA."""

    encr: Transform
    integ: Transform | None
    encr_key: bytes = field(repr=False)
    integ_key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if self.encr.aead == (self.integ is not None):
            raise ValueError("AEAD ciphers take no integrity algorithm, others need one")

    @property
    def cipher(self) -> CbcCipher | AeadCipher:
        return make_cipher(self.encr, self.encr_key)

    @property
    def integrity(self) -> Integrity | None:
        return Integrity(self.integ, self.integ_key) if self.integ else None

    @property
    def icv_size(self) -> int:
        return self.integ.icv_size if self.integ else self.encr.icv_size

    def overhead(self, inner_len: int) -> int:
        """Bytes the SK payload adds around ``inner_len`` bytes of payloads (IV, pad, ICV)."""
        return self.encr.iv_size + self._pad_len(inner_len) + 1 + self.icv_size

    def _pad_len(self, inner_len: int) -> int:
        if self.encr.aead:
            return 0
        bs = self.encr.block_size
        return (bs - (inner_len + 1) % bs) % bs


def sk_keys(keys: IkeKeys, *, sender_is_initiator: bool) -> SkKeys:
    """SK_ei/SK_ai protect what the original initiator sends, SK_er/SK_ar the responder's."""
    if sender_is_initiator:
        return SkKeys(keys.encr, keys.integ, keys.sk_ei, keys.sk_ai)
    return SkKeys(keys.encr, keys.integ, keys.sk_er, keys.sk_ar)


def _seal(keys: SkKeys, rng: Rng, prefix: bytes, inner: bytes) -> bytes:
    """prefix (header .. SK header) -> prefix | IV | ciphertext | ICV."""
    iv = rng(keys.encr.iv_size)
    pad = keys._pad_len(len(inner))
    plaintext = inner + bytes(pad) + bytes([pad])
    cipher = keys.cipher
    if isinstance(cipher, AeadCipher):
        return prefix + iv + cipher.seal(iv, plaintext, prefix)
    integ = keys.integrity
    assert integ is not None
    signed = prefix + iv + cipher.encrypt(iv, plaintext)
    return signed + integ.compute(signed)


def _open(keys: SkKeys, data: bytes, iv_offset: int) -> bytes:
    """Verify and decrypt; ``data[:iv_offset]`` is everything before the IV."""
    iv_size, icv_size = keys.encr.iv_size, keys.icv_size
    body = data[iv_offset:]
    if len(body) < iv_size + icv_size + 1:
        raise ParseError("encrypted payload shorter than IV and ICV")
    iv = body[:iv_size]
    cipher = keys.cipher
    if isinstance(cipher, AeadCipher):
        plaintext = cipher.open(iv, body[iv_size:], data[:iv_offset])
    else:
        integ = keys.integrity
        assert integ is not None
        integ.verify(data[:-icv_size], data[-icv_size:])
        ciphertext = body[iv_size:-icv_size]
        if not ciphertext or len(ciphertext) % cipher.block_size:
            raise ParseError("encrypted data is not a whole number of cipher blocks")
        plaintext = cipher.decrypt(iv, ciphertext)
    pad = plaintext[-1]
    if pad + 1 > len(plaintext):
        raise ParseError(f"pad length {pad} exceeds the decrypted data")
    return plaintext[: -pad - 1]


def protect(header: IkeHeader, payloads: Sequence[Payload], keys: SkKeys, rng: Rng) -> bytes:
    """The whole datagram: header | SK{payloads}, Next Payload and Length filled in."""
    first, inner = encode_payloads(payloads)
    sk_len = 4 + keys.overhead(len(inner)) + len(inner)
    hdr = replace(header, next_payload=PayloadType.SK, length=IKE_HEADER_SIZE + sk_len)
    prefix = hdr.encode() + struct.pack("!BBH", first, 0, sk_len)
    return _seal(keys, rng, prefix, inner)


def protect_fragment(
    header: IkeHeader, first_payload: int, number: int, total: int, chunk: bytes, *,
    keys: SkKeys, rng: Rng,
) -> bytes:  # fmt: skip
    """One SKF datagram carrying ``chunk`` of the encoded inner payloads."""
    if not 1 <= number <= total <= 0xFFFF:
        raise ValueError(f"invalid fragment number {number} of {total}")
    skf_len = 8 + keys.overhead(len(chunk)) + len(chunk)
    hdr = replace(header, next_payload=PayloadType.SKF, length=IKE_HEADER_SIZE + skf_len)
    nxt = first_payload if number == 1 else PayloadType.NONE
    prefix = hdr.encode() + struct.pack("!BBHHH", nxt, 0, skf_len, number, total)
    return _seal(keys, rng, prefix, chunk)


def unprotect(data: bytes, keys: SkKeys, message: Message | None = None) -> Message:
    """Verify and decrypt a message whose last payload is SK; the result has ``protected``."""
    msg = message if message is not None else parse_message(data)
    sk = msg.payloads[-1] if msg.payloads else None
    if not isinstance(sk, SkPayload):
        raise ParseError("message has no Encrypted payload")
    inner = _open(keys, data, len(data) - len(sk.data))
    return Message(msg.header, parse_payloads(sk.first_payload, inner, inner=True), protected=True)


@dataclass(frozen=True)
class DecryptedFragment:
    """A verified fragment: its place and the plaintext chunk of the inner payloads."""

    header: IkeHeader
    first_payload: int
    number: int
    total: int
    plaintext: bytes = field(repr=False)


def unprotect_fragment(
    data: bytes, keys: SkKeys, message: Message | None = None
) -> DecryptedFragment:
    """Verify and decrypt one SKF datagram (each fragment is protected on its own)."""
    msg = message if message is not None else parse_message(data)
    skf = msg.payloads[-1] if msg.payloads else None
    if not isinstance(skf, SkfPayload):
        raise ParseError("message has no Encrypted Fragment payload")
    plaintext = _open(keys, data, len(data) - len(skf.data))
    return DecryptedFragment(
        msg.header, skf.first_payload, skf.fragment_number, skf.total_fragments, plaintext
    )


__all__ = [
    "CryptoError",
    "DecryptedFragment",
    "SkKeys",
    "protect",
    "protect_fragment",
    "sk_keys",
    "unprotect",
    "unprotect_fragment",
]
