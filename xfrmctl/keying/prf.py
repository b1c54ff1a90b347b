"""IKEv2 pseudo-random function and prf+ (RFC 7296 section 2.13)."""

from __future__ import annotations

import hmac

from xfrmctl.keying.transforms import Transform, TransformType

PRF_PLUS_MAX_BLOCKS = 255  # the counter octet runs 0x01..0xff


def prf(t: Transform, key: bytes, data: bytes) -> bytes:
    """prf(K, S) for an HMAC-based PRF transform."""
    if t.type != TransformType.PRF or t.hash is None:
        raise ValueError(f"{t.name} is not a PRF")
    return hmac.digest(key, data, t.hash)


def prf_plus(t: Transform, key: bytes, seed: bytes, length: int) -> bytes:
    """prf+(K, S) = T1 | T2 | ..., Tn = prf(K, Tn-1 | S | n), truncated to ``length`` bytes."""
    if length < 0 or length > PRF_PLUS_MAX_BLOCKS * t.output_size:
        raise ValueError(f"prf+ cannot produce {length} bytes with {t.name}")
    out = bytearray()
    block = b""
    counter = 1
    while len(out) < length:
        block = prf(t, key, block + seed + bytes([counter]))
        out += block
        counter += 1
    return bytes(out[:length])
