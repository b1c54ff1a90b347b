"""IKEv1 key derivation, hashes, IV chains and payload encryption (RFC 2409 5, 5.5, App. B).

Everything the RFC writes as `prf` is HMAC with the negotiated phase-1 hash; the IV chain uses the
bare hash. Functions take every input explicitly so the known-answer tests can check them one by
one.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass, field

from xfrmctl.keying.cipher import CbcCipher
from xfrmctl.keying.errors import CryptoError
from xfrmctl.keying.transforms import Transform


def prf(hash_t: Transform, key: bytes, data: bytes) -> bytes:
    assert hash_t.hash is not None
    return hmac.digest(key, data, hash_t.hash)


def skeyid_psk(hash_t: Transform, psk: bytes, ni_b: bytes, nr_b: bytes) -> bytes:
    return prf(hash_t, psk, ni_b + nr_b)


def skeyid_sig(hash_t: Transform, ni_b: bytes, nr_b: bytes, gxy: bytes) -> bytes:
    return prf(hash_t, ni_b + nr_b, gxy)


@dataclass(frozen=True)
class Phase1Keys:
    skeyid: bytes = field(repr=False)
    skeyid_d: bytes = field(repr=False)
    skeyid_a: bytes = field(repr=False)
    skeyid_e: bytes = field(repr=False)
    enc_key: bytes = field(repr=False)


def derive_phase1(  # noqa: PLR0917 - the RFC formula's inputs, in its order
    hash_t: Transform, cipher: Transform, skeyid: bytes, gxy: bytes, cky_i: bytes, cky_r: bytes
) -> Phase1Keys:
    d = prf(hash_t, skeyid, gxy + cky_i + cky_r + b"\x00")
    a = prf(hash_t, skeyid, d + gxy + cky_i + cky_r + b"\x01")
    e = prf(hash_t, skeyid, a + gxy + cky_i + cky_r + b"\x02")
    return Phase1Keys(skeyid, d, a, e, extend_key(hash_t, e, cipher.key_size))


def extend_key(hash_t: Transform, skeyid_e: bytes, size: int) -> bytes:
    """RFC 2409 Appendix B: K1 = prf(SKEYID_e, 0), Kn = prf(SKEYID_e, Kn-1) when too short."""
    if len(skeyid_e) >= size:
        return skeyid_e[:size]
    out = b""
    block = prf(hash_t, skeyid_e, b"\x00")
    while True:
        out += block
        if len(out) >= size:
            return out[:size]
        block = prf(hash_t, skeyid_e, block)


def phase1_hash(  # noqa: PLR0917
    hash_t: Transform, skeyid: bytes, g_own: bytes, g_peer: bytes, cky_own: bytes,
    cky_peer: bytes, sai_b: bytes, id_b: bytes,
) -> bytes:  # fmt: skip
    """HASH_I (own = initiator) or HASH_R (own = responder), RFC 2409 5."""
    return prf(hash_t, skeyid, g_own + g_peer + cky_own + cky_peer + sai_b + id_b)


def initial_iv(hash_t: Transform, block_size: int, gxi: bytes, gxr: bytes) -> bytes:
    assert hash_t.hash is not None
    return hashlib.new(hash_t.hash, gxi + gxr).digest()[:block_size]


def phase2_iv(hash_t: Transform, block_size: int, last_block: bytes, message_id: int) -> bytes:
    assert hash_t.hash is not None
    return hashlib.new(hash_t.hash, last_block + message_id.to_bytes(4, "big")).digest()[
        :block_size
    ]


def encrypt(cipher: CbcCipher, iv: bytes, plaintext: bytes) -> bytes:
    """Zero-pad to the block size (no padding when already aligned), CBC-encrypt."""
    bs = cipher.block_size
    pad = (-len(plaintext)) % bs
    return cipher.encrypt(iv, plaintext + bytes(pad))


def decrypt(cipher: CbcCipher, iv: bytes, ciphertext: bytes) -> bytes:
    if not ciphertext:
        raise CryptoError("empty encrypted ISAKMP body")
    return cipher.decrypt(iv, ciphertext)


def keymat(  # noqa: PLR0917
    hash_t: Transform, skeyid_d: bytes, protocol: int, spi: int, ni_b: bytes, nr_b: bytes,
    size: int, gqm: bytes = b"",
) -> bytes:  # fmt: skip
    """RFC 2409 5.5 KEYMAT for the SA whose receiving side chose `spi`, extended to `size`."""
    seed = gqm + bytes([protocol]) + spi.to_bytes(4, "big") + ni_b + nr_b
    out = b""
    block = b""
    while len(out) < size:
        block = prf(hash_t, skeyid_d, block + seed)
        out += block
    return out[:size]


def nat_d(hash_t: Transform, cky_i: bytes, cky_r: bytes, address: str, port: int) -> bytes:
    """RFC 3947 3.2: HASH(CKY-I | CKY-R | IP | Port) with the negotiated hash."""

    assert hash_t.hash is not None
    raw = ipaddress.ip_address(address).packed + port.to_bytes(2, "big")
    return hashlib.new(hash_t.hash, cky_i + cky_r + raw).digest()
