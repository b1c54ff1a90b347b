"""X.509 for IKE: loading certificates and CRLs, chain validation, revocation, identities.

Validation is done here rather than with a Web PKI verifier because IPsec certificates routinely
lack server/client EKUs and SANs that the Web PKI insists on. The rules are the ones strongSwan
applies: every certificate in the path within its validity at ``now`` (passed in: no clock reads
in ``keying``), each issuer a CA (basicConstraints, keyCertSign when keyUsage is present, path
length limits), signatures verified, and no certificate listed in a configured CRL of its issuer.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from xfrmctl.keying.constants import CertEncoding, IdType
from xfrmctl.keying.errors import CertificateError

MAX_CHAIN_LENGTH = 8


def load_certificates(data: bytes) -> list[x509.Certificate]:
    """All certificates in a PEM file (one or more) or a single DER certificate."""
    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise CertificateError(f"cannot parse certificate: {exc}") from exc
    if not certs:
        raise CertificateError("no certificate found")
    return certs


def load_crl(data: bytes) -> x509.CertificateRevocationList:
    try:
        if b"-----BEGIN" in data:
            return x509.load_pem_x509_crl(data)
        return x509.load_der_x509_crl(data)
    except ValueError as exc:
        raise CertificateError(f"cannot parse CRL: {exc}") from exc


def load_crls(data: bytes) -> list[x509.CertificateRevocationList]:
    """Every CRL in a file: several concatenated PEM CRLs, or one DER CRL."""
    if b"-----BEGIN" not in data:
        return [load_crl(data)]
    marker = b"-----END X509 CRL-----"
    blocks = [b + marker for b in data.split(marker) if b"-----BEGIN" in b]
    if not blocks:
        raise CertificateError("no CRL found")
    return [load_crl(b) for b in blocks]


def parse_der_certificate(data: bytes) -> x509.Certificate:
    """A certificate from a CERT payload (X.509 Certificate - Signature encoding)."""
    try:
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise CertificateError(f"malformed certificate in CERT payload: {exc}") from exc


def parse_cert_payload(encoding: int, data: bytes) -> list[x509.Certificate]:
    """Certificates carried by a CERT payload: X.509 signature (4) or PKCS #7 wrapped (1).

    Junos ``peer-certificate-type x509-signature | pkcs7`` selects between the two.
    """
    if encoding == CertEncoding.X509_SIGNATURE:
        return [parse_der_certificate(data)]
    if encoding == CertEncoding.PKCS7_X509:
        try:
            certs = pkcs7.load_der_pkcs7_certificates(data)
        except ValueError as exc:
            raise CertificateError(f"malformed PKCS #7 CERT payload: {exc}") from exc
        if not certs:
            raise CertificateError("PKCS #7 CERT payload without certificates")
        return certs
    raise CertificateError(f"unsupported certificate encoding {encoding}")


def certificate_der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def ca_key_hash(cert: x509.Certificate) -> bytes:
    """SHA-1 of the DER SubjectPublicKeyInfo: how CERTREQ names a CA (RFC 7296 3.7)."""
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha1(spki, usedforsecurity=False).digest()


def _check_validity(cert: x509.Certificate, now: datetime) -> None:
    if now < cert.not_valid_before_utc:
        raise CertificateError(f"certificate {cert.subject.rfc4514_string()} is not yet valid")
    if now > cert.not_valid_after_utc:
        raise CertificateError(f"certificate {cert.subject.rfc4514_string()} has expired")


def _ca_path_limit(cert: x509.Certificate) -> int | None:
    """CA checks for an issuer; returns its pathLenConstraint (None: unlimited)."""
    name = cert.subject.rfc4514_string()
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        raise CertificateError(f"issuer {name} is not a CA (no basicConstraints)") from None
    if not bc.ca:
        raise CertificateError(f"issuer {name} is not a CA")
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        ku = None
    if ku is not None and not ku.key_cert_sign:
        raise CertificateError(f"issuer {name} may not sign certificates (keyUsage)")
    return bc.path_length


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
        return False
    return True


@dataclass
class TrustStore:
    """Configured CA certificates and CRLs (``trusted-ca`` / ``use-all`` and a CRL file)."""

    anchors: list[x509.Certificate] = field(default_factory=list)
    crls: list[x509.CertificateRevocationList] = field(default_factory=list)

    def ca_key_hashes(self) -> list[bytes]:
        return [ca_key_hash(c) for c in self.anchors]

    def certreq_data(self) -> bytes:
        """The CERTREQ authority list naming every trusted CA."""
        return b"".join(self.ca_key_hashes())

    def anchors_for(self, key_hashes: Iterable[bytes]) -> list[x509.Certificate]:
        """Our trusted CAs a peer's CERTREQ asks for (to pick the local certificate)."""
        wanted = set(key_hashes)
        return [c for c in self.anchors if ca_key_hash(c) in wanted]

    def _check_revocation(self, cert: x509.Certificate, issuer: x509.Certificate) -> None:
        for crl in self.crls:
            if crl.issuer != issuer.subject:
                continue
            try:
                valid = crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
            except (TypeError, ValueError):
                valid = False
            if not valid:
                continue
            if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
                raise CertificateError(
                    f"certificate {cert.subject.rfc4514_string()} (serial "
                    f"{cert.serial_number:#x}) is revoked"
                )

    def verify(
        self,
        leaf: x509.Certificate,
        intermediates: Sequence[x509.Certificate] = (),
        *,
        now: datetime,
    ) -> list[x509.Certificate]:
        """The validated path leaf .. trust anchor; CertificateError when there is none."""
        _check_validity(leaf, now)
        chain = [leaf]
        current = leaf
        # below_ca: intermediates between the leaf and the issuer being looked for
        for below_ca in range(MAX_CHAIN_LENGTH):
            if current in self.anchors:
                return chain
            anchor = next(
                (a for a in self.anchors if a.subject == current.issuer and _issued_by(current, a)),
                None,
            )
            issuer = anchor or next(
                (
                    c
                    for c in intermediates
                    if c.subject == current.issuer and c not in chain and _issued_by(current, c)
                ),
                None,
            )
            if issuer is None:
                raise CertificateError(
                    f"no trusted issuer {current.issuer.rfc4514_string()} for "
                    f"{current.subject.rfc4514_string()}"
                )
            limit = _ca_path_limit(issuer)
            if limit is not None and below_ca > limit:
                raise CertificateError(f"path length constraint of {issuer.subject} exceeded")
            _check_validity(issuer, now)
            self._check_revocation(current, issuer)
            chain.append(issuer)
            if anchor is not None:
                return chain
            current = issuer
        raise CertificateError("certificate chain too long")


# ------------------------------------------------------------------------------ identities


@dataclass(frozen=True)
class CertIdentities:
    """What a certificate can prove: its subject DN and subjectAltNames."""

    subject: x509.Name
    fqdns: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    addresses: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...] = ()

    @property
    def subject_der(self) -> bytes:
        return self.subject.public_bytes()


def certificate_identities(cert: x509.Certificate) -> CertIdentities:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return CertIdentities(cert.subject)
    addrs = tuple(
        a
        for a in san.get_values_for_type(x509.IPAddress)
        if isinstance(a, ipaddress.IPv4Address | ipaddress.IPv6Address)
    )
    return CertIdentities(
        cert.subject,
        tuple(san.get_values_for_type(x509.DNSName)),
        tuple(san.get_values_for_type(x509.RFC822Name)),
        addrs,
    )


def matches_identity(cert: x509.Certificate, id_type: int, id_data: bytes) -> bool:
    """Whether the peer's IDi/IDr is backed by its certificate (RFC 4945 5.1.2 style)."""
    ids = certificate_identities(cert)
    if id_type == IdType.DER_ASN1_DN:
        return id_data == ids.subject_der
    if id_type in (IdType.IPV4_ADDR, IdType.IPV6_ADDR):
        if len(id_data) not in (4, 16):
            return False
        return ipaddress.ip_address(id_data) in ids.addresses
    try:
        text = id_data.decode("ascii").lower()
    except UnicodeDecodeError:
        return False
    if id_type == IdType.FQDN:
        return text in (d.lower() for d in ids.fqdns)
    if id_type == IdType.RFC822_ADDR:
        return text in (e.lower() for e in ids.emails)
    return False
