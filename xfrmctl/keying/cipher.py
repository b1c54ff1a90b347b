"""Encryption and integrity primitives behind the IKE SK payload.

One object per negotiated direction key. CBC ciphers leave IKE padding to ``sk``; AEAD ciphers
build the RFC 5282 / RFC 7634 nonce (4-byte salt from the key material || 8-byte explicit IV).
AES-GCM with 8- or 12-byte ICVs uses the generic GCM mode with ``min_tag_length`` since the
one-shot AESGCM API only does 16-byte tags. 3DES comes from ``cryptography``'s decrepit module;
single DES is 3DES-EDE with K1 = K2 = K3 (E(K) D(K) E(K) = E(K)), proven by a DES known-answer test.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from xfrmctl.keying.errors import CryptoError
from xfrmctl.keying.transforms import Transform, TransformType


def _check_key(t: Transform, key: bytes) -> None:
    if len(key) != t.key_size:
        raise ValueError(f"{t.name} needs a {t.key_size}-byte key, got {len(key)}")


@dataclass(frozen=True)
class CbcCipher:
    """AES-CBC, 3DES-CBC or DES-CBC without padding (IKE pads itself)."""

    transform: Transform
    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_key(self.transform, self.key)
        if self.transform.aead or self.transform.type != TransformType.ENCR:
            raise ValueError(f"{self.transform.name} is not a CBC cipher")

    @property
    def block_size(self) -> int:
        return self.transform.block_size

    @property
    def iv_size(self) -> int:
        return self.transform.iv_size

    def _cipher(self, iv: bytes) -> Cipher[modes.CBC]:
        kind = self.transform.cipher
        algo: algorithms.AES | TripleDES
        if kind == "aes-cbc":
            algo = algorithms.AES(self.key)
        elif kind == "3des-cbc":
            algo = TripleDES(self.key)
        elif kind == "des-cbc":
            algo = TripleDES(self.key * 3)  # EDE with one key is single DES
        else:  # pragma: no cover - table and class agree
            raise ValueError(f"no CBC implementation for {self.transform.name}")
        return Cipher(algo, modes.CBC(iv))

    def encrypt(self, iv: bytes, plaintext: bytes) -> bytes:
        if len(iv) != self.iv_size or len(plaintext) % self.block_size:
            raise ValueError("CBC input is not block aligned or IV has the wrong size")
        enc = self._cipher(iv).encryptor()
        return enc.update(plaintext) + enc.finalize()

    def decrypt(self, iv: bytes, ciphertext: bytes) -> bytes:
        if len(iv) != self.iv_size or len(ciphertext) % self.block_size:
            raise CryptoError(f"{self.transform.name}: ciphertext is not block aligned")
        dec = self._cipher(iv).decryptor()
        return dec.update(ciphertext) + dec.finalize()


@dataclass(frozen=True)
class AeadCipher:
    """AES-GCM (8/12/16-byte ICV) or ChaCha20-Poly1305; key material includes the 4-byte salt."""

    transform: Transform
    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_key(self.transform, self.key)
        if not self.transform.aead:
            raise ValueError(f"{self.transform.name} is not an AEAD cipher")

    @property
    def iv_size(self) -> int:
        return self.transform.iv_size

    @property
    def icv_size(self) -> int:
        return self.transform.icv_size

    def _nonce(self, iv: bytes) -> bytes:
        if len(iv) != self.iv_size:
            raise ValueError(f"{self.transform.name} needs an {self.iv_size}-byte IV")
        return self.key[-self.transform.salt_size :] + iv

    def seal(self, iv: bytes, plaintext: bytes, aad: bytes) -> bytes:
        """ciphertext || ICV."""
        nonce = self._nonce(iv)
        ckey = self.key[: -self.transform.salt_size]
        if self.transform.cipher == "chacha20-poly1305":
            return ChaCha20Poly1305(ckey).encrypt(nonce, plaintext, aad)
        enc = Cipher(algorithms.AES(ckey), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(aad)
        ct = enc.update(plaintext) + enc.finalize()
        return ct + enc.tag[: self.icv_size]

    def open(self, iv: bytes, data: bytes, aad: bytes) -> bytes:
        """Plaintext of ciphertext || ICV; CryptoError when the ICV does not verify."""
        if len(data) < self.icv_size:
            raise CryptoError(f"{self.transform.name}: data shorter than the ICV")
        nonce = self._nonce(iv)
        ckey = self.key[: -self.transform.salt_size]
        try:
            if self.transform.cipher == "chacha20-poly1305":
                return ChaCha20Poly1305(ckey).decrypt(nonce, data, aad)
            ct, tag = data[: -self.icv_size], data[-self.icv_size :]
            mode = modes.GCM(nonce, tag, min_tag_length=self.icv_size)
            dec = Cipher(algorithms.AES(ckey), mode).decryptor()
            dec.authenticate_additional_data(aad)
            return dec.update(ct) + dec.finalize()
        except InvalidTag:
            raise CryptoError(f"{self.transform.name}: integrity check failed") from None


@dataclass(frozen=True)
class Integrity:
    """Truncated HMAC integrity (HMAC-SHA1-96, HMAC-SHA2-256-128, ...)."""

    transform: Transform
    key: bytes = field(repr=False)

    def __post_init__(self) -> None:
        _check_key(self.transform, self.key)
        if self.transform.type != TransformType.INTEG or self.transform.hash is None:
            raise ValueError(f"{self.transform.name} is not an integrity algorithm")

    @property
    def icv_size(self) -> int:
        return self.transform.icv_size

    def compute(self, data: bytes) -> bytes:
        assert self.transform.hash is not None
        return hmac.digest(self.key, data, self.transform.hash)[: self.icv_size]

    def verify(self, data: bytes, icv: bytes) -> None:
        """CryptoError unless ``icv`` matches (constant-time comparison)."""
        if not hmac.compare_digest(self.compute(data), icv):
            raise CryptoError(f"{self.transform.name}: integrity check failed")


def make_cipher(t: Transform, key: bytes) -> CbcCipher | AeadCipher:
    return AeadCipher(t, key) if t.aead else CbcCipher(t, key)
