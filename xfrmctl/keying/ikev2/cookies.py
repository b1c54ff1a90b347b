"""Stateless COOKIEs against IKE_SA_INIT floods (RFC 7296 2.6).

Cookie = <VersionIDofSecret> | SHA-256(Ni | IPi | SPIi | <secret>). The secret rotates every
`rotate_every` seconds; cookies made with the previous secret are still accepted so a peer caught
by a rotation does not fail its retry.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field

COOKIE_SECRET_LEN = 32


@dataclass
class CookieJar:
    rng: Callable[[int], bytes] = field(repr=False)
    rotate_every: float = 120.0
    _version: int = 0
    _secret: bytes = field(default=b"", repr=False)
    _previous: bytes | None = field(default=None, repr=False)
    _rotated_at: float | None = None

    def _maybe_rotate(self, now: float) -> None:
        if self._rotated_at is None:
            self._secret = self.rng(COOKIE_SECRET_LEN)
            self._rotated_at = now
        elif now - self._rotated_at >= self.rotate_every:
            self._previous = self._secret
            self._secret = self.rng(COOKIE_SECRET_LEN)
            self._version = (self._version + 1) & 0xFFFFFFFF
            self._rotated_at = now

    @staticmethod
    def _digest(secret: bytes, nonce: bytes, ip: str, spi_i: int) -> bytes:
        data = nonce + ip.encode() + spi_i.to_bytes(8, "big") + secret
        return hashlib.sha256(data).digest()

    def make(self, nonce: bytes, ip: str, spi_i: int, now: float) -> bytes:
        self._maybe_rotate(now)
        return self._version.to_bytes(4, "big") + self._digest(self._secret, nonce, ip, spi_i)

    def verify(self, cookie: bytes, nonce: bytes, ip: str, spi_i: int, now: float) -> bool:
        self._maybe_rotate(now)
        if len(cookie) != 4 + 32:
            return False
        version = int.from_bytes(cookie[:4], "big")
        if version == self._version:
            secret = self._secret
        elif version == (self._version - 1) & 0xFFFFFFFF and self._previous is not None:
            secret = self._previous
        else:
            return False
        return hmac.compare_digest(cookie[4:], self._digest(secret, nonce, ip, spi_i))
