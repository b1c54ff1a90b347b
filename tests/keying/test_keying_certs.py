"""Certificate chains, CRLs, CERTREQ hashes and identity matching against a test PKI."""

import hashlib
import ipaddress
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from xfrmctl.keying import certs
from xfrmctl.keying.constants import CertEncoding, IdType
from xfrmctl.keying.errors import CertificateError, CryptoError

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=30)


def name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "xfrmctl test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])  # fmt: skip


def make_cert(
    subject: str, issuer: str, issuer_key: ec.EllipticCurvePrivateKey,
    key: ec.EllipticCurvePrivateKey, *, ca: bool = False, path_len: int | None = None,
    serial: int = 1, days: int = 365, san: list[x509.GeneralName] | None = None,
    key_usage: bool = True, bc: bool = True,
) -> x509.Certificate:  # fmt: skip
    b = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
         .public_key(key.public_key()).serial_number(serial)
         .not_valid_before(T0).not_valid_after(T0 + timedelta(days=days)))  # fmt: skip
    if bc:
        b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=path_len), critical=True)
    if ca and key_usage:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                          False), critical=True)  # fmt: skip
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


ROOT_KEY = ec.generate_private_key(ec.SECP256R1())
INT_KEY = ec.generate_private_key(ec.SECP256R1())
LEAF_KEY = ec.generate_private_key(ec.SECP256R1())
ROOT = make_cert("Root CA", "Root CA", ROOT_KEY, ROOT_KEY, ca=True)
INTER = make_cert("Intermediate CA", "Root CA", ROOT_KEY, INT_KEY, ca=True, path_len=0, serial=2)
SAN = [x509.DNSName("hub.example.net"), x509.RFC822Name("vpn@example.net"),
       x509.IPAddress(ipaddress.ip_address("192.0.2.1")),
       x509.IPAddress(ipaddress.ip_address("2001:db8::1"))]  # fmt: skip
LEAF = make_cert("hub.example.net", "Intermediate CA", INT_KEY, LEAF_KEY, serial=10, san=SAN)
REVOKED = make_cert("old.example.net", "Intermediate CA", INT_KEY, LEAF_KEY, serial=11)


def make_crl(
    serials: list[int], issuer: str = "Intermediate CA", key: ec.EllipticCurvePrivateKey = INT_KEY
) -> x509.CertificateRevocationList:
    b = (x509.CertificateRevocationListBuilder().issuer_name(name(issuer))
         .last_update(T0).next_update(T0 + timedelta(days=7)))  # fmt: skip
    for s in serials:
        b = b.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(s).revocation_date(T0).build()
        )
    return b.sign(key, hashes.SHA256())


def test_valid_chain_through_intermediate():
    store = certs.TrustStore([ROOT])
    assert store.verify(LEAF, [INTER], now=NOW) == [LEAF, INTER, ROOT]
    # intermediate configured as trust anchor directly
    assert certs.TrustStore([INTER]).verify(LEAF, [], now=NOW) == [LEAF, INTER]
    # a pinned end-entity certificate
    assert certs.TrustStore([LEAF]).verify(LEAF, now=NOW) == [LEAF]


def test_missing_intermediate_and_untrusted_root():
    with pytest.raises(CertificateError, match="no trusted issuer"):
        certs.TrustStore([ROOT]).verify(LEAF, [], now=NOW)
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_root = make_cert("Root CA", "Root CA", other_key, other_key, ca=True)
    with pytest.raises(CertificateError, match="no trusted issuer"):
        certs.TrustStore([other_root]).verify(LEAF, [INTER], now=NOW)


def test_validity_period():
    with pytest.raises(CertificateError, match="expired"):
        certs.TrustStore([ROOT]).verify(LEAF, [INTER], now=T0 + timedelta(days=400))
    with pytest.raises(CertificateError, match="not yet valid"):
        certs.TrustStore([ROOT]).verify(LEAF, [INTER], now=T0 - timedelta(days=1))
    short_int = make_cert("Intermediate CA", "Root CA", ROOT_KEY, INT_KEY, ca=True, days=10)
    with pytest.raises(CertificateError, match=r"Intermediate CA.*expired"):
        certs.TrustStore([ROOT]).verify(LEAF, [short_int], now=NOW)


def test_issuer_must_be_a_ca():
    not_ca = make_cert("Intermediate CA", "Root CA", ROOT_KEY, INT_KEY, ca=False)
    with pytest.raises(CertificateError, match="is not a CA"):
        certs.TrustStore([ROOT]).verify(LEAF, [not_ca], now=NOW)
    no_bc = make_cert("Intermediate CA", "Root CA", ROOT_KEY, INT_KEY, bc=False)
    with pytest.raises(CertificateError, match="no basicConstraints"):
        certs.TrustStore([ROOT]).verify(LEAF, [no_bc], now=NOW)
    b = (x509.CertificateBuilder().subject_name(name("Intermediate CA"))
         .issuer_name(name("Root CA")).public_key(INT_KEY.public_key()).serial_number(5)
         .not_valid_before(T0)
         .not_valid_after(T0 + timedelta(days=365))
         .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                      False), critical=True))  # fmt: skip
    no_certsign = b.sign(ROOT_KEY, hashes.SHA256())
    with pytest.raises(CertificateError, match="keyUsage"):
        certs.TrustStore([ROOT]).verify(LEAF, [no_certsign], now=NOW)


def test_path_length_constraint():
    root0 = make_cert("Root CA", "Root CA", ROOT_KEY, ROOT_KEY, ca=True, path_len=0)
    with pytest.raises(CertificateError, match="path length"):
        certs.TrustStore([root0]).verify(LEAF, [INTER], now=NOW)


def test_crl_revocation():
    store = certs.TrustStore([ROOT], [make_crl([11])])
    assert store.verify(LEAF, [INTER], now=NOW)[0] == LEAF
    with pytest.raises(CertificateError, match="revoked"):
        store.verify(REVOKED, [INTER], now=NOW)
    # a CRL not signed by the issuer is ignored
    forged = make_crl([10], key=ec.generate_private_key(ec.SECP256R1()))
    assert certs.TrustStore([ROOT], [forged]).verify(LEAF, [INTER], now=NOW)
    # revoking the intermediate at the root
    root_crl = make_crl([2], issuer="Root CA", key=ROOT_KEY)
    with pytest.raises(CertificateError, match=r"Intermediate CA.*revoked"):
        certs.TrustStore([ROOT], [root_crl]).verify(LEAF, [INTER], now=NOW)
    assert isinstance(CertificateError("x"), CryptoError)


def test_loading():
    pem = LEAF.public_bytes(serialization.Encoding.PEM) + INTER.public_bytes(
        serialization.Encoding.PEM)  # fmt: skip
    assert certs.load_certificates(pem) == [LEAF, INTER]
    der = certs.certificate_der(LEAF)
    assert certs.load_certificates(der) == [LEAF]
    assert certs.parse_der_certificate(der) == LEAF
    crl = make_crl([11])
    assert certs.load_crl(crl.public_bytes(serialization.Encoding.PEM)) == crl
    assert certs.load_crl(crl.public_bytes(serialization.Encoding.DER)) == crl
    for bad in (b"garbage", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"):
        with pytest.raises(CertificateError):
            certs.load_certificates(bad)
    with pytest.raises(CertificateError):
        certs.parse_der_certificate(der[:-5])
    with pytest.raises(CertificateError):
        certs.load_crl(b"garbage")


def test_certreq_hash_is_sha1_of_spki():
    spki = ROOT.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert certs.ca_key_hash(ROOT) == hashlib.sha1(spki).digest()
    store = certs.TrustStore([ROOT, INTER])
    assert store.certreq_data() == certs.ca_key_hash(ROOT) + certs.ca_key_hash(INTER)
    assert store.anchors_for([certs.ca_key_hash(INTER), b"x" * 20]) == [INTER]


def test_identities():
    ids = certs.certificate_identities(LEAF)
    assert ids.fqdns == ("hub.example.net",) and ids.emails == ("vpn@example.net",)
    assert ids.addresses == (ipaddress.ip_address("192.0.2.1"), ipaddress.ip_address("2001:db8::1"))
    assert ids.subject_der == LEAF.subject.public_bytes()
    m = certs.matches_identity
    assert m(LEAF, IdType.FQDN, b"HUB.example.net")
    assert not m(LEAF, IdType.FQDN, b"spoke.example.net")
    assert m(LEAF, IdType.RFC822_ADDR, b"vpn@example.net")
    assert m(LEAF, IdType.IPV4_ADDR, bytes([192, 0, 2, 1]))
    assert not m(LEAF, IdType.IPV4_ADDR, bytes([192, 0, 2, 2]))
    assert m(LEAF, IdType.IPV6_ADDR, ipaddress.ip_address("2001:db8::1").packed)
    assert m(LEAF, IdType.DER_ASN1_DN, LEAF.subject.public_bytes())
    assert not m(LEAF, IdType.DER_ASN1_DN, ROOT.subject.public_bytes())
    assert not m(LEAF, IdType.KEY_ID, b"hub")
    assert not m(LEAF, IdType.FQDN, b"\xff\xfe")
    assert not m(LEAF, IdType.IPV4_ADDR, b"\x01")
    assert certs.certificate_identities(ROOT).fqdns == ()


def test_cert_payload_encodings_and_crl_files():
    der = certs.certificate_der(LEAF)
    assert certs.parse_cert_payload(CertEncoding.X509_SIGNATURE, der) == [LEAF]
    bundle = pkcs7.serialize_certificates([LEAF, INTER], serialization.Encoding.DER)
    # a PKCS #7 certificate set is a DER SET: order is not preserved
    assert set(certs.parse_cert_payload(CertEncoding.PKCS7_X509, bundle)) == {LEAF, INTER}
    with pytest.raises(CertificateError, match="PKCS #7"):
        certs.parse_cert_payload(CertEncoding.PKCS7_X509, b"\x30\x03\x02\x01\x00")
    with pytest.raises(CertificateError, match="unsupported certificate encoding"):
        certs.parse_cert_payload(CertEncoding.PGP, der)
    crl_a, crl_b = make_crl([11]), make_crl([2], issuer="Root CA", key=ROOT_KEY)
    pem = crl_a.public_bytes(serialization.Encoding.PEM) + crl_b.public_bytes(
        serialization.Encoding.PEM)  # fmt: skip
    assert certs.load_crls(pem) == [crl_a, crl_b]
    assert certs.load_crls(crl_a.public_bytes(serialization.Encoding.DER)) == [crl_a]
    with pytest.raises(CertificateError):
        certs.load_crls(b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n")
