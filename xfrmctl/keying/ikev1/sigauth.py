"""RSA signature authentication for IKEv1 phase 1 (RFC 2409 5.1).

IKEv1 signs HASH_I/HASH_R itself with PKCS#1 v1.5 type-1 padding and no DigestInfo (the hash is
already the negotiated prf's output), which no high-level API offers; the RSA operation is done on
the key's numbers. The peer's certificate must chain to a configured CA and back its ID payload.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from xfrmctl.keying import certs
from xfrmctl.keying.constants import IdType as V2IdType
from xfrmctl.keying.errors import CertificateError, CryptoError
from xfrmctl.keying.ikev2.identity import Identity
from xfrmctl.keying.ikev2.settings import CertAuth, ConfigError


def _pad(data: bytes, size: int) -> int:
    if len(data) > size - 11:
        raise CryptoError("hash too long for the RSA modulus")
    return int.from_bytes(b"\x00\x01" + b"\xff" * (size - 3 - len(data)) + b"\x00" + data, "big")


def rsa_sign(key: rsa.RSAPrivateKey, data: bytes) -> bytes:
    nums = key.private_numbers()
    size = (key.key_size + 7) // 8
    return pow(_pad(data, size), nums.d, nums.public_numbers.n).to_bytes(size, "big")


def rsa_verify(key: rsa.RSAPublicKey, data: bytes, sig: bytes) -> None:
    nums = key.public_numbers()
    size = (key.key_size + 7) // 8
    if len(sig) != size or int.from_bytes(sig, "big") >= nums.n:
        raise CryptoError("RSA signature has the wrong size")
    got = pow(int.from_bytes(sig, "big"), nums.e, nums.n).to_bytes(size, "big")
    if not hmac.compare_digest(got, _pad(data, size).to_bytes(size, "big")):
        raise CryptoError("RSA signature does not verify")


@dataclass(frozen=True)
class LocalCert:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey = field(repr=False)
    trust: certs.TrustStore

    @classmethod
    def load(cls, auth: CertAuth) -> LocalCert:
        try:
            cert = certs.load_certificates(auth.certificate)[0]
            data = auth.private_key
            key = (serialization.load_pem_private_key(data, None) if b"-----BEGIN" in data
                   else serialization.load_der_private_key(data, None))  # fmt: skip
        except (CertificateError, ValueError, TypeError, IndexError) as exc:
            raise ConfigError(f"cannot load the certificate or key: {exc}") from None
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigError("IKEv1 signature authentication needs an RSA key")
        anchors = [c for blob in auth.ca_certificates for c in certs.load_certificates(blob)]
        crls = certs.load_crls(auth.crl) if auth.crl else []
        return cls(cert, key, certs.TrustStore(anchors, crls))

    @property
    def der(self) -> bytes:
        return certs.certificate_der(self.certificate)

    def identity(self) -> Identity:
        return Identity(V2IdType.DER_ASN1_DN, self.certificate.subject.public_bytes())

    def verify_peer(self, der: bytes, peer_id: Identity, now: datetime) -> rsa.RSAPublicKey:
        """The peer certificate's key once its chain and ID check out; CryptoError otherwise."""
        cert = certs.parse_der_certificate(der)
        self.trust.verify(cert, now=now)
        if peer_id.id_type is None or not certs.matches_identity(
            cert, peer_id.id_type, peer_id.data
        ):
            raise CryptoError("peer ID is not backed by its certificate")
        key = cert.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise CryptoError("peer certificate key is not RSA")
        return key
