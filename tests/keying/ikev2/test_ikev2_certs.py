"""Certificate authentication engine against engine: RSA and ECDSA, classic and RFC 7427,
chains through intermediates, revocation, expiry and identity binding."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from xfrmctl.keying.ikev2 import ike_init
from xfrmctl.keying.ikev2.actions import IkeEstablished, IkeFailed, InstallChild, Reason
from xfrmctl.keying.ikev2.engine import Ikev2Engine
from xfrmctl.keying.ikev2.identity import Identity
from xfrmctl.keying.ikev2.settings import CertAuth

T0 = datetime(2026, 6, 1, tzinfo=UTC)
NOT_BEFORE = T0 - timedelta(days=1)
NOT_AFTER = T0 + timedelta(days=365)


def wall(now: float) -> datetime:
    return T0 + timedelta(seconds=now)


def name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "xfrmctl test"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def make_cert(
    subject: str,
    key: Any,
    issuer: str,
    issuer_key: Any,
    *,
    ca: bool = False,
    san: list[x509.GeneralName] | None = None,
    serial: int = 1,
    not_after: datetime = NOT_AFTER,
) -> x509.Certificate:
    b = (
        x509.CertificateBuilder()
        .subject_name(name(subject))
        .issuer_name(name(issuer))
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def key_pem(key: Any) -> bytes:
    data = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return bytes(data)


class Pki:
    def __init__(self) -> None:
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca = make_cert("Test CA", self.ca_key, "Test CA", self.ca_key, ca=True)
        self.int_key = ec.generate_private_key(ec.SECP384R1())
        self.intermediate = make_cert(
            "Test Sub CA", self.int_key, "Test CA", self.ca_key, ca=True, serial=2
        )

    def leaf(
        self,
        cn: str,
        key: Any,
        *,
        via_intermediate: bool = False,
        serial: int = 10,
        not_after: datetime = NOT_AFTER,
    ) -> x509.Certificate:
        issuer, ikey = (
            ("Test Sub CA", self.int_key) if via_intermediate else ("Test CA", self.ca_key)
        )
        return make_cert(
            cn, key, issuer, ikey, san=[x509.DNSName(cn)], serial=serial, not_after=not_after
        )

    def crl(self, serials: list[int], *, by_intermediate: bool = False) -> bytes:
        issuer, key = (self.ca, self.ca_key)
        if by_intermediate:
            issuer, key = self.intermediate, self.int_key
        b = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer.subject)
            .last_update(NOT_BEFORE)
            .next_update(NOT_AFTER)
        )
        for s in serials:
            b = b.add_revoked_certificate(
                x509.RevokedCertificateBuilder()
                .serial_number(s)
                .revocation_date(NOT_BEFORE)
                .build()
            )
        return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return Pki()


@pytest.fixture(scope="module")
def keys() -> dict[str, Any]:
    return {
        "ec256": ec.generate_private_key(ec.SECP256R1()),
        "ec384": ec.generate_private_key(ec.SECP384R1()),
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }


def cert_net(
    h: Any,
    pki: Pki,
    a_key: Any,
    b_key: Any,
    *,
    a_kw: dict[str, Any] | None = None,
    b_kw: dict[str, Any] | None = None,
    b_crl: bytes | None = None,
    a_cert: x509.Certificate | None = None,
    a_intermediates: tuple[bytes, ...] = (),
    b_remote_id: str = "a.example",
) -> Any:
    net = h.pair(a_kw=a_kw, b_kw=b_kw)
    a_cert = a_cert or pki.leaf("a.example", a_key)
    b_cert = pki.leaf("b.example", b_key, serial=11)
    pa = replace(
        net.a.engine.peers["to-b"],
        auth=CertAuth(pem(a_cert), key_pem(a_key), (pem(pki.ca),), a_intermediates),
        local_id=Identity.parse("a.example"),
        remote_id=Identity.parse("b.example"),
    )
    pb = replace(
        net.b.engine.peers["to-a"],
        auth=CertAuth(pem(b_cert), key_pem(b_key), (pem(pki.ca),), crl=b_crl),
        local_id=Identity.parse("b.example"),
        remote_id=Identity.parse(b_remote_id),
    )
    net.a.engine = Ikev2Engine([pa], h.Rng("ca"), wall_clock=wall)
    net.b.engine = Ikev2Engine([pb], h.Rng("cb"), wall_clock=wall)
    net.a.engine.raise_internal_errors = net.b.engine.raise_internal_errors = True
    net.feed(net.a, net.a.engine.initiate("to-b", "net", 0.0))
    net.run()
    return net


@pytest.mark.parametrize(("ka", "kb"), [("ec256", "ec256"), ("rsa", "ec384"), ("ec384", "rsa")])
def test_certificate_handshake(h, pki, keys, ka, kb):
    net = cert_net(h, pki, keys[ka], keys[kb])
    (ea,) = net.a.of(IkeEstablished)
    (eb,) = net.b.of(IkeEstablished)
    assert ea.auth_method == eb.auth_method == "digital-signatures"
    assert ea.remote_id == "b.example" and eb.remote_id == "a.example"
    (ca,) = net.a.of(InstallChild)
    (cb,) = net.b.of(InstallChild)
    assert h.mirrored(ca, cb)


def test_classic_signature_methods_without_rfc7427(h, pki, keys, monkeypatch):
    # a peer that does not announce SIGNATURE_HASH_ALGORITHMS gets RSA_SIG / ECDSA methods
    monkeypatch.setattr(ike_init, "_peer_hashes", lambda msg: ())
    net = cert_net(h, pki, keys["rsa"], keys["ec256"])
    assert net.a.of(IkeEstablished)[0].auth_method == "rsa-signatures"
    assert net.b.of(IkeEstablished)[0].auth_method == "ecdsa-signatures-256"


def test_chain_through_intermediate(h, pki, keys):
    a_cert = pki.leaf("a.example", keys["ec256"], via_intermediate=True, serial=20)
    net = cert_net(
        h,
        pki,
        keys["ec256"],
        keys["ec256"],
        a_cert=a_cert,
        a_intermediates=(pem(pki.intermediate),),
    )
    assert len(net.b.of(IkeEstablished)) == 1


def test_missing_intermediate_fails(h, pki, keys):
    a_cert = pki.leaf("a.example", keys["ec256"], via_intermediate=True, serial=21)
    net = cert_net(h, pki, keys["ec256"], keys["ec256"], a_cert=a_cert)
    (fb,) = net.b.of(IkeFailed)
    assert fb.reason is Reason.AUTHENTICATION_FAILED and "no trusted issuer" in fb.detail
    assert net.a.of(IkeFailed)[0].reason is Reason.AUTHENTICATION_FAILED


def test_revoked_certificate_fails(h, pki, keys):
    net = cert_net(h, pki, keys["ec256"], keys["ec256"], b_crl=pki.crl([10]))
    (fb,) = net.b.of(IkeFailed)
    assert fb.reason is Reason.AUTHENTICATION_FAILED and "revoked" in fb.detail


def test_revocation_in_second_crl_of_the_file(h, pki, keys):
    # a CRL file of several CRLs (one per CA): the revocation is in the second one
    crls = pki.crl([], by_intermediate=True) + pki.crl([10])
    net = cert_net(h, pki, keys["ec256"], keys["ec256"], b_crl=crls)
    (fb,) = net.b.of(IkeFailed)
    assert fb.reason is Reason.AUTHENTICATION_FAILED and "revoked" in fb.detail


def test_expired_certificate_fails(h, pki, keys):
    old = pki.leaf("a.example", keys["ec256"], serial=30, not_after=T0 - timedelta(hours=1))
    net = cert_net(h, pki, keys["ec256"], keys["ec256"], a_cert=old)
    (fb,) = net.b.of(IkeFailed)
    assert fb.reason is Reason.AUTHENTICATION_FAILED


def test_identity_not_in_certificate_fails(h, pki, keys):
    other = pki.leaf("mallory.example", keys["ec256"], serial=31)
    net = cert_net(h, pki, keys["ec256"], keys["ec256"], a_cert=other)
    (fb,) = net.b.of(IkeFailed)
    assert fb.reason is Reason.AUTHENTICATION_FAILED
    assert "does not contain the identity a.example" in fb.detail


def test_psk_against_certificate_fails(h, pki, keys):
    net = h.pair()
    pb = replace(
        net.b.engine.peers["to-a"],
        auth=CertAuth(
            pem(pki.leaf("b.example", keys["ec256"])), key_pem(keys["ec256"]), (pem(pki.ca),)
        ),
    )
    net.b.engine = Ikev2Engine([pb], h.Rng("cb"), wall_clock=wall)
    net.feed(net.a, net.a.engine.initiate("to-b", "net", 0.0))
    net.run()
    (fb,) = net.b.of(IkeFailed)
    assert "pre-shared key, we expect a certificate" in fb.detail
    assert net.a.of(IkeFailed)[0].reason is Reason.AUTHENTICATION_FAILED


def test_ed25519_certificates(h, pki):
    ka, kb = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    net = cert_net(h, pki, ka, kb)
    assert net.a.of(IkeEstablished)[0].auth_method == "digital-signatures"
    assert len(net.b.of(InstallChild)) == 1


@pytest.mark.parametrize("who", ["a", "b"])
def test_unusable_private_key_fails_cleanly(h, pki, keys, who):
    good = CertAuth(
        pem(pki.leaf("x.example", keys["ec256"])), key_pem(keys["ec256"]), (pem(pki.ca),)
    )
    bad = replace(good, private_key=b"-----BEGIN PRIVATE KEY-----\nnot a key\n")
    net = h.pair()
    pa = replace(
        net.a.engine.peers["to-b"],
        auth=bad if who == "a" else good,
        local_id=Identity.parse("x.example"),
        remote_id=Identity.parse("x.example"),
    )
    pb = replace(
        net.b.engine.peers["to-a"],
        auth=bad if who == "b" else good,
        local_id=Identity.parse("x.example"),
        remote_id=Identity.parse("x.example"),
    )
    net.a.engine = Ikev2Engine([pa], h.Rng("ka"), wall_clock=wall)
    net.b.engine = Ikev2Engine([pb], h.Rng("kb"), wall_clock=wall)
    net.feed(net.a, net.a.engine.initiate("to-b", "net", 0.0))
    net.run()
    side = net.side(who)
    (f,) = side.of(IkeFailed)
    assert f.reason is Reason.LOCAL_CONFIG and "private key" in f.detail
    net.advance(31.0)  # a responder left half-open by the initiator's failure times out
    assert net.a.engine.sessions == {} and net.b.engine.sessions == {}
