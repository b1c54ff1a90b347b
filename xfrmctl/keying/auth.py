"""IKEv2 AUTH payload computation and verification (RFC 7296 2.15, RFC 7427, RFC 4754).

PSK: AUTH = prf(prf(Shared Secret, "Key Pad for IKEv2"), <signed octets>). Signatures cover the
same octets: RSA PKCS#1 v1.5 with SHA-1 (method 1), ECDSA with r||s (methods 9/10/11) and RFC 7427
digital signatures (method 14: ASN.1 AlgorithmIdentifier + signature; RSA PKCS#1 v1.5, RSA-PSS,
ECDSA in DER, Ed25519). Verification raises CryptoError for anything that does not verify,
including malformed AUTH data, so the engine answers AUTHENTICATION_FAILED.

ECDSA signatures are deterministic (RFC 6979); RSA-PSS salts come from OpenSSL's CSPRNG, the one
place randomness is not injected (the library takes no salt), which only affects the signature
bytes, never protocol decisions.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils

from xfrmctl.keying import asn1
from xfrmctl.keying.constants import AuthMethod, HashAlgorithm
from xfrmctl.keying.errors import CryptoError, ParseError
from xfrmctl.keying.payloads import IdPayload
from xfrmctl.keying.prf import prf
from xfrmctl.keying.transforms import Transform

PSK_PAD = b"Key Pad for IKEv2"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


# ------------------------------------------------------------------------------ signed octets


def signed_octets(
    real_message: bytes, peer_nonce: bytes, prf_t: Transform, sk_p: bytes, id_payload: IdPayload
) -> bytes:
    """RealMessage | Nonce(peer) | prf(SK_p, RestOfIDPayload) (RFC 7296 2.15).

    The initiator signs its IKE_SA_INIT request, the responder's nonce and prf(SK_pi, IDi');
    the responder its IKE_SA_INIT response, the initiator's nonce and prf(SK_pr, IDr').
    """
    return real_message + peer_nonce + prf(prf_t, sk_p, id_payload.encode_body())


def psk_auth_data(prf_t: Transform, psk: bytes, octets: bytes) -> bytes:
    return prf(prf_t, prf(prf_t, psk, PSK_PAD), octets)


def verify_psk(prf_t: Transform, psk: bytes, octets: bytes, auth_data: bytes) -> None:
    """CryptoError unless ``auth_data`` is the PSK AUTH value (constant-time comparison)."""
    if not hmac.compare_digest(psk_auth_data(prf_t, psk, octets), auth_data):
        raise CryptoError("pre-shared key AUTH value does not verify")


# ----------------------------------------------------------------------- signature schemes

_HASHES: dict[HashAlgorithm, type[hashes.HashAlgorithm]] = {
    HashAlgorithm.SHA1: hashes.SHA1,
    HashAlgorithm.SHA2_256: hashes.SHA256,
    HashAlgorithm.SHA2_384: hashes.SHA384,
    HashAlgorithm.SHA2_512: hashes.SHA512,
}
_HASH_OIDS = {
    HashAlgorithm.SHA1: "1.3.14.3.2.26",
    HashAlgorithm.SHA2_256: "2.16.840.1.101.3.4.2.1",
    HashAlgorithm.SHA2_384: "2.16.840.1.101.3.4.2.2",
    HashAlgorithm.SHA2_512: "2.16.840.1.101.3.4.2.3",
}
_OID_HASHES = {v: k for k, v in _HASH_OIDS.items()}
_PSS_OID = "1.2.840.113549.1.1.10"
_MGF1_OID = "1.2.840.113549.1.1.8"
_PKCS1_OIDS = {
    HashAlgorithm.SHA1: "1.2.840.113549.1.1.5",
    HashAlgorithm.SHA2_256: "1.2.840.113549.1.1.11",
    HashAlgorithm.SHA2_384: "1.2.840.113549.1.1.12",
    HashAlgorithm.SHA2_512: "1.2.840.113549.1.1.13",
}
_ECDSA_OIDS = {
    HashAlgorithm.SHA1: "1.2.840.10045.4.1",
    HashAlgorithm.SHA2_256: "1.2.840.10045.4.3.2",
    HashAlgorithm.SHA2_384: "1.2.840.10045.4.3.3",
    HashAlgorithm.SHA2_512: "1.2.840.10045.4.3.4",
}
_ED25519_OID = "1.3.101.112"

# RFC 4754 methods: (hash, curve name)
_ECDSA_METHODS = {
    AuthMethod.ECDSA_SHA256_P256: (HashAlgorithm.SHA2_256, "secp256r1"),
    AuthMethod.ECDSA_SHA384_P384: (HashAlgorithm.SHA2_384, "secp384r1"),
    AuthMethod.ECDSA_SHA512_P521: (HashAlgorithm.SHA2_512, "secp521r1"),
}
_CURVE_HASH = {"secp256r1": HashAlgorithm.SHA2_256, "secp384r1": HashAlgorithm.SHA2_384,
               "secp521r1": HashAlgorithm.SHA2_512}  # fmt: skip


@dataclass(frozen=True)
class SignatureScheme:
    """An RFC 7427 signature algorithm: key type, hash, and (RSA-PSS) MGF1 hash and salt."""

    key_type: str  # "rsa" | "rsa-pss" | "ecdsa" | "ed25519"
    hash: HashAlgorithm
    mgf_hash: HashAlgorithm | None = None
    salt_length: int | None = None

    @property
    def name(self) -> str:
        if self.key_type == "ed25519":
            return "ed25519"
        return f"{self.key_type}-{self.hash.name.lower().replace('sha2_', 'sha')}"

    def algorithm_identifier(self) -> bytes:
        """DER AlgorithmIdentifier as RFC 7427 Appendix A lists them."""
        if self.key_type == "rsa":
            body = asn1.encode_oid(_PKCS1_OIDS[self.hash]) + asn1.encode_tlv(asn1.NULL, b"")
        elif self.key_type == "ecdsa":
            body = asn1.encode_oid(_ECDSA_OIDS[self.hash])
        elif self.key_type == "ed25519":
            body = asn1.encode_oid(_ED25519_OID)
        else:
            params = b""
            if self.hash != HashAlgorithm.SHA1:
                params += asn1.encode_tlv(0xA0, _hash_alg_id(self.hash))
            mgf = self.mgf_hash or self.hash
            if mgf != HashAlgorithm.SHA1:
                mgf_id = asn1.encode_tlv(
                    asn1.SEQUENCE, asn1.encode_oid(_MGF1_OID) + _hash_alg_id(mgf)
                )
                params += asn1.encode_tlv(0xA1, mgf_id)
            salt = self.salt_length if self.salt_length is not None else 20
            if salt != 20:
                params += asn1.encode_tlv(0xA2, asn1.encode_integer(salt))
            body = asn1.encode_oid(_PSS_OID) + asn1.encode_tlv(asn1.SEQUENCE, params)
        return asn1.encode_tlv(asn1.SEQUENCE, body)


def _hash_alg_id(h: HashAlgorithm) -> bytes:
    return asn1.encode_tlv(
        asn1.SEQUENCE, asn1.encode_oid(_HASH_OIDS[h]) + asn1.encode_tlv(asn1.NULL, b"")
    )


def _parse_hash_alg_id(der: bytes) -> HashAlgorithm:
    tag, value, end = asn1.decode_tlv(der)
    if tag != asn1.SEQUENCE or end != len(der):
        raise ParseError("hash AlgorithmIdentifier is not a SEQUENCE")
    items = asn1.decode_sequence(value)
    if not items or items[0][0] != asn1.OID:
        raise ParseError("hash AlgorithmIdentifier without OID")
    oid = asn1.decode_oid(items[0][1])
    if oid not in _OID_HASHES:
        raise ParseError(f"unsupported hash algorithm {oid}")
    return _OID_HASHES[oid]


def parse_algorithm_identifier(der: bytes) -> SignatureScheme:
    """The scheme an RFC 7427 AlgorithmIdentifier names (ParseError if unknown/malformed)."""
    tag, value, end = asn1.decode_tlv(der)
    if tag != asn1.SEQUENCE or end != len(der):
        raise ParseError("AlgorithmIdentifier is not a single SEQUENCE")
    items = asn1.decode_sequence(value)
    if not items or items[0][0] != asn1.OID:
        raise ParseError("AlgorithmIdentifier without OID")
    oid = asn1.decode_oid(items[0][1])
    for h, o in _PKCS1_OIDS.items():
        if oid == o:
            return SignatureScheme("rsa", h)
    for h, o in _ECDSA_OIDS.items():
        if oid == o:
            return SignatureScheme("ecdsa", h)
    if oid == _ED25519_OID:
        return SignatureScheme("ed25519", HashAlgorithm.IDENTITY)
    if oid != _PSS_OID:
        raise ParseError(f"unsupported signature algorithm {oid}")
    hash_alg, mgf_hash, salt = HashAlgorithm.SHA1, HashAlgorithm.SHA1, 20
    if len(items) > 1:
        if items[1][0] != asn1.SEQUENCE:
            raise ParseError("RSASSA-PSS parameters are not a SEQUENCE")
        for ptag, pvalue in asn1.decode_sequence(items[1][1]):
            if ptag == 0xA0:
                hash_alg = _parse_hash_alg_id(pvalue)
            elif ptag == 0xA1:
                seq_tag, mgf, _ = asn1.decode_tlv(pvalue)
                parts = asn1.decode_sequence(mgf) if seq_tag == asn1.SEQUENCE else []
                if len(parts) != 2 or asn1.decode_oid(parts[0][1]) != _MGF1_OID:
                    raise ParseError("RSASSA-PSS mask generation is not MGF1")
                mgf_hash = _parse_hash_alg_id(asn1.encode_tlv(parts[1][0], parts[1][1]))
            elif ptag == 0xA2:
                itag, ivalue, _ = asn1.decode_tlv(pvalue)
                salt = asn1.decode_integer(ivalue) if itag == asn1.INTEGER else -1
                if salt < 0:
                    raise ParseError("invalid RSASSA-PSS salt length")
            elif ptag == 0xA3:
                itag, ivalue, _ = asn1.decode_tlv(pvalue)
                if itag != asn1.INTEGER or asn1.decode_integer(ivalue) != 1:
                    raise ParseError("unsupported RSASSA-PSS trailer field")
            else:
                raise ParseError(f"unknown RSASSA-PSS parameter tag {ptag:#x}")
    return SignatureScheme("rsa-pss", hash_alg, mgf_hash, salt)


def default_scheme(
    key: PrivateKey | PublicKey, *, hash_alg: HashAlgorithm | None = None, pss: bool = False
) -> SignatureScheme:
    """The RFC 7427 scheme we sign with for a key (PKCS#1 v1.5 SHA-256 for RSA unless ``pss``)."""
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return SignatureScheme("ed25519", HashAlgorithm.IDENTITY)
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        curve_hash = _CURVE_HASH.get(key.curve.name, HashAlgorithm.SHA2_256)
        return SignatureScheme("ecdsa", hash_alg or curve_hash)
    h = hash_alg or HashAlgorithm.SHA2_256
    if pss:
        return SignatureScheme("rsa-pss", h, h, _HASHES[h]().digest_size)
    return SignatureScheme("rsa", h)


# --------------------------------------------------------------------------- sign / verify


def _ecdsa(algo: hashes.HashAlgorithm) -> ec.ECDSA:
    """RFC 6979 deterministic ECDSA where the library offers it: no hidden randomness, and
    engine tests see the same AUTH bytes on every run."""
    try:
        return ec.ECDSA(algo, deterministic_signing=True)
    except (TypeError, UnsupportedAlgorithm):  # older cryptography / OpenSSL
        return ec.ECDSA(algo)


def _rsa_padding(scheme: SignatureScheme) -> padding.AsymmetricPadding:
    if scheme.key_type == "rsa-pss":
        mgf = _HASHES[scheme.mgf_hash or scheme.hash]()
        salt = scheme.salt_length if scheme.salt_length is not None else 20
        return padding.PSS(mgf=padding.MGF1(mgf), salt_length=salt)
    return padding.PKCS1v15()


def _sign_raw(key: PrivateKey, scheme: SignatureScheme, data: bytes, *, der: bool) -> bytes:
    if scheme.key_type == "ed25519":
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise ValueError("ed25519 scheme needs an Ed25519 key")
        return key.sign(data)
    algo = _HASHES[scheme.hash]()
    if scheme.key_type == "ecdsa":
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("ECDSA scheme needs an EC key")
        sig = key.sign(data, _ecdsa(algo))
        if der:
            return sig
        r, s = utils.decode_dss_signature(sig)
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("RSA scheme needs an RSA key")
    return key.sign(data, _rsa_padding(scheme), algo)


def _verify_raw(key: PublicKey, scheme: SignatureScheme, data: bytes, sig: bytes, *, der: bool
                ) -> None:  # fmt: skip
    try:
        if scheme.key_type == "ed25519":
            if not isinstance(key, ed25519.Ed25519PublicKey):
                raise CryptoError("peer key is not an Ed25519 key")
            key.verify(sig, data)
            return
        algo = _HASHES[scheme.hash]()
        if scheme.key_type == "ecdsa":
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise CryptoError("peer key is not an EC key")
            if not der:
                size = (key.curve.key_size + 7) // 8
                if len(sig) != 2 * size:
                    raise CryptoError(f"ECDSA signature of {len(sig)} bytes, expected {2 * size}")
                r = int.from_bytes(sig[:size], "big")
                s = int.from_bytes(sig[size:], "big")
                sig = utils.encode_dss_signature(r, s)
            key.verify(sig, data, ec.ECDSA(algo))
            return
        if not isinstance(key, rsa.RSAPublicKey):
            raise CryptoError("peer key is not an RSA key")
        key.verify(sig, data, _rsa_padding(scheme), algo)
    except (InvalidSignature, UnsupportedAlgorithm, ValueError) as exc:
        raise CryptoError(f"{scheme.name} signature does not verify") from exc


def sign(
    method: AuthMethod,
    key: PrivateKey,
    octets: bytes,
    *,
    hash_alg: HashAlgorithm | None = None,
    pss: bool = False,
) -> bytes:
    """AUTH data for a signature method. ``hash_alg``/``pss`` choose the RFC 7427 scheme."""
    if method == AuthMethod.RSA_SIG:
        return _sign_raw(key, SignatureScheme("rsa", HashAlgorithm.SHA1), octets, der=False)
    if method in _ECDSA_METHODS:
        h, curve = _ECDSA_METHODS[method]
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != curve:
            raise ValueError(f"{method.name} needs a {curve} key")
        return _sign_raw(key, SignatureScheme("ecdsa", h), octets, der=False)
    if method == AuthMethod.DIGITAL_SIGNATURE:
        scheme = default_scheme(key, hash_alg=hash_alg, pss=pss)
        alg_id = scheme.algorithm_identifier()
        return bytes([len(alg_id)]) + alg_id + _sign_raw(key, scheme, octets, der=True)
    raise ValueError(f"authentication method {method} is not a signature method")


def verify_signature(
    method: int,
    key: PublicKey,
    octets: bytes,
    auth_data: bytes,
    *,
    allowed_hashes: Iterable[HashAlgorithm] | None = None,
) -> SignatureScheme:
    """Verify AUTH data; returns the scheme used. CryptoError for any failure."""
    if method == AuthMethod.RSA_SIG:
        scheme = SignatureScheme("rsa", HashAlgorithm.SHA1)
        _verify_raw(key, scheme, octets, auth_data, der=False)
        return scheme
    if method in _ECDSA_METHODS:
        h, curve = _ECDSA_METHODS[AuthMethod(method)]
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != curve:
            raise CryptoError(f"{AuthMethod(method).name} needs a {curve} peer key")
        scheme = SignatureScheme("ecdsa", h)
        _verify_raw(key, scheme, octets, auth_data, der=False)
        return scheme
    if method == AuthMethod.DIGITAL_SIGNATURE:
        if not auth_data or len(auth_data) < 1 + auth_data[0]:
            raise CryptoError("truncated RFC 7427 AUTH data")
        try:
            scheme = parse_algorithm_identifier(auth_data[1 : 1 + auth_data[0]])
        except ParseError as exc:
            raise CryptoError(f"RFC 7427 AUTH data: {exc}") from exc
        allowed = set(allowed_hashes) if allowed_hashes is not None else None
        if allowed is not None and scheme.key_type != "ed25519" and scheme.hash not in allowed:
            raise CryptoError(f"{scheme.name}: hash algorithm not acceptable")
        _verify_raw(key, scheme, octets, auth_data[1 + auth_data[0] :], der=True)
        return scheme
    raise CryptoError(f"authentication method {method} is not a signature method")


# ------------------------------------------------------------- SIGNATURE_HASH_ALGORITHMS notify

SUPPORTED_HASHES = (
    HashAlgorithm.SHA2_256,
    HashAlgorithm.SHA2_384,
    HashAlgorithm.SHA2_512,
    HashAlgorithm.IDENTITY,
)


def encode_hash_algorithms(algs: Iterable[int] = SUPPORTED_HASHES) -> bytes:
    return b"".join(struct.pack("!H", a) for a in algs)


def parse_hash_algorithms(data: bytes) -> tuple[int, ...]:
    """The 16-bit hash ids of a SIGNATURE_HASH_ALGORITHMS notify (unknown ids kept as ints)."""
    if len(data) % 2:
        raise ParseError("SIGNATURE_HASH_ALGORITHMS data has an odd length")
    out: list[int] = []
    for (value,) in struct.iter_unpack("!H", data):
        try:
            out.append(HashAlgorithm(value))
        except ValueError:
            out.append(value)
    return tuple(out)
