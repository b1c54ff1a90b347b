"""AUTH payloads for both methods: PSK, and certificates with the codec's `auth` and `certs`.

Signing: RFC 7427 DIGITAL_SIGNATURE when the peer announced SIGNATURE_HASH_ALGORITHMS (with the
strongest hash both support), otherwise the classic method of the key type (RSA_SIG for RSA,
ECDSA_SHA*_P* for EC keys) as older peers expect. Verification: the peer's end-entity certificate
(first CERT) must chain to a configured CA at the current wall-clock time, not be revoked by the
configured CRL, back the peer's ID, and carry the key that verifies AUTH.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from xfrmctl.keying import auth as ikeauth
from xfrmctl.keying import certs
from xfrmctl.keying.constants import AuthMethod, CertEncoding, HashAlgorithm
from xfrmctl.keying.errors import CryptoError, ParseError
from xfrmctl.keying.ikev2.identity import Identity
from xfrmctl.keying.ikev2.settings import Auth, CertAuth, ConfigError, PskAuth
from xfrmctl.keying.payloads import CertPayload, CertReqPayload, Payload
from xfrmctl.keying.transforms import Transform

_EC_METHODS = {
    "secp256r1": AuthMethod.ECDSA_SHA256_P256,
    "secp384r1": AuthMethod.ECDSA_SHA384_P384,
    "secp521r1": AuthMethod.ECDSA_SHA512_P521,
}
_HASH_PREFERENCE = (HashAlgorithm.SHA2_512, HashAlgorithm.SHA2_384, HashAlgorithm.SHA2_256)

METHOD_NAMES: dict[int, str] = {
    AuthMethod.SHARED_KEY_MIC: "pre-shared-keys",
    AuthMethod.RSA_SIG: "rsa-signatures",
    AuthMethod.ECDSA_SHA256_P256: "ecdsa-signatures-256",
    AuthMethod.ECDSA_SHA384_P384: "ecdsa-signatures-384",
    AuthMethod.ECDSA_SHA512_P521: "ecdsa-signatures-521",
    AuthMethod.DIGITAL_SIGNATURE: "digital-signatures",
}


def method_name(method: int) -> str:
    return METHOD_NAMES.get(method, f"method-{method}")


@lru_cache(maxsize=64)
def _private_key(data: bytes) -> ikeauth.PrivateKey:
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_der_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"cannot load the private key: {exc}") from None
    if not isinstance(
        key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
    ):
        raise ConfigError("private key type not supported for IKE (RSA, ECDSA, Ed25519)")
    return key


@lru_cache(maxsize=64)
def _trust(cas: tuple[bytes, ...], crl: bytes | None) -> certs.TrustStore:
    anchors = [c for blob in cas for c in certs.load_certificates(blob)]
    crls = certs.load_crls(crl) if crl else []
    return certs.TrustStore(anchors, crls)


@lru_cache(maxsize=64)
def _own_chain(cert: bytes, intermediates: tuple[bytes, ...]) -> tuple[bytes, ...]:
    chain = certs.load_certificates(cert) + [
        c for b in intermediates for c in certs.load_certificates(b)
    ]
    if not chain:
        raise ConfigError("no certificate in the configured certificate file")
    return tuple(certs.certificate_der(c) for c in chain)


def cert_payloads(conf: Auth) -> list[Payload]:
    """Our end-entity certificate first, then intermediates (RFC 7296 3.6)."""
    if not isinstance(conf, CertAuth):
        return []
    return [
        CertPayload(CertEncoding.X509_SIGNATURE, der)
        for der in _own_chain(conf.certificate, conf.intermediates)
    ]


def certreq_payload(conf: Auth) -> Payload | None:
    if not isinstance(conf, CertAuth) or not conf.ca_certificates:
        return None
    data = _trust(conf.ca_certificates, conf.crl).certreq_data()
    return CertReqPayload(CertEncoding.X509_SIGNATURE, data)


def make_auth(
    prf_t: Transform, conf: Auth, octets: bytes, peer_hashes: tuple[int, ...]
) -> tuple[int, bytes]:
    if isinstance(conf, PskAuth):
        return int(AuthMethod.SHARED_KEY_MIC), ikeauth.psk_auth_data(prf_t, conf.psk, octets)
    key = _private_key(conf.private_key)
    common = [h for h in _HASH_PREFERENCE if h in peer_hashes]
    if common or isinstance(key, ed25519.Ed25519PrivateKey):
        hash_alg = common[0] if common and not isinstance(key, ec.EllipticCurvePrivateKey) else None
        data = ikeauth.sign(AuthMethod.DIGITAL_SIGNATURE, key, octets, hash_alg=hash_alg)
        return int(AuthMethod.DIGITAL_SIGNATURE), data
    if isinstance(key, ec.EllipticCurvePrivateKey):
        method = _EC_METHODS.get(key.curve.name)
        if method is None:
            raise ConfigError(f"curve {key.curve.name} has no IKEv2 ECDSA method")
        return int(method), ikeauth.sign(method, key, octets)
    return int(AuthMethod.RSA_SIG), ikeauth.sign(AuthMethod.RSA_SIG, key, octets)


def verify_auth(
    prf_t: Transform,
    conf: Auth,
    received: tuple[int, bytes],
    octets: bytes,
    *,
    identity: Identity,
    peer_certs: list[bytes],
    now: datetime,
) -> str | None:
    """None when AUTH verifies, else why not (for the log and the failure reason's detail)."""
    method, data = received
    if isinstance(conf, PskAuth):
        if method != AuthMethod.SHARED_KEY_MIC:
            return f"peer used {method_name(method)}, we expect a pre-shared key"
        try:
            ikeauth.verify_psk(prf_t, conf.psk, octets, data)
        except CryptoError:
            return "pre-shared key mismatch"
        return None
    if method == AuthMethod.SHARED_KEY_MIC:
        return "peer used a pre-shared key, we expect a certificate"
    if not peer_certs:
        return "peer sent no certificate"
    try:
        leaf = certs.parse_der_certificate(peer_certs[0])
        intermediates = [certs.parse_der_certificate(c) for c in peer_certs[1:]]
        _trust(conf.ca_certificates, conf.crl).verify(leaf, intermediates, now=now)
        if identity.id_type is None or not certs.matches_identity(
            leaf, identity.id_type, identity.data
        ):
            return f"certificate does not contain the identity {identity}"
        key = leaf.public_key()
        if not isinstance(
            key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
        ):
            return "certificate key type not supported"
        ikeauth.verify_signature(method, key, octets, data)
    except (CryptoError, ParseError) as exc:
        return str(exc)
    return None
