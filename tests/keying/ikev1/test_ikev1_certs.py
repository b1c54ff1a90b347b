"""RSA-signature authentication (main and aggressive mode), and FQDN-identified dynamic peers."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from xfrmctl.keying.ikev1.engine import Ikev1Engine
from xfrmctl.keying.ikev1.settings import ExchangeMode
from xfrmctl.keying.ikev2.actions import IkeEstablished, IkeFailed, InstallChild, Reason
from xfrmctl.keying.ikev2.identity import Identity
from xfrmctl.keying.ikev2.settings import CertAuth, PskAuth

T0 = datetime(2026, 6, 1, tzinfo=UTC)


def wall(now: float) -> datetime:
    return T0 + timedelta(seconds=now)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "xfrmctl test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])  # fmt: skip


def _cert(subject: str, key: Any, issuer: str, issuer_key: Any, *, ca: bool = False) -> bytes:
    b = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(T0 - timedelta(days=1))
        .not_valid_after(T0 + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return b.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def pki() -> dict[str, Any]:
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    out: dict[str, Any] = {"ca": _cert("Test CA", ca_key, "Test CA", ca_key, ca=True)}
    for who in ("gw-a", "gw-b"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        out[who] = CertAuth(
            certificate=_cert(who, key, "Test CA", ca_key),
            private_key=key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()),
            ca_certificates=(out["ca"],),
        )  # fmt: skip
    other_ca = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    out["rogue"] = CertAuth(
        certificate=_cert("gw-a", rogue, "Other CA", other_ca),
        private_key=rogue.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()),
        ca_certificates=(out["ca"],),
    )  # fmt: skip
    return out


def _dn(cn: str) -> Identity:
    return Identity.parse(f"O=xfrmctl test, CN={cn}")


def _pair(v1, pki, mode, a_auth="gw-a"):
    a = v1.peer("to-b", v1.A_ADDR, v1.B_ADDR, auth=pki[a_auth], mode=mode, remote_id=_dn("gw-b"))
    b = v1.peer("to-a", v1.B_ADDR, v1.A_ADDR, auth=pki["gw-b"], mode=mode, remote_id=_dn("gw-a"),
                local_ts="10.2.0.0/16", remote_ts="10.1.0.0/16")  # fmt: skip
    ea = Ikev1Engine([a], v1.Rng("a"), wall_clock=wall)
    eb = Ikev1Engine([b], v1.Rng("b"), wall_clock=wall)
    net = v1.Net(ea, eb)
    net.now = 100.0
    return net


@pytest.mark.parametrize("mode", [ExchangeMode.MAIN, ExchangeMode.AGGRESSIVE])
def test_rsa_signatures(v1, pki, mode):
    net = _pair(v1, pki, mode)
    net.feed(net.a, net.a.engine.initiate("to-b", "vpn", net.now))
    net.run()
    (ea,) = net.a.of(IkeEstablished)
    (eb,) = net.b.of(IkeEstablished)
    assert ea.auth_method == eb.auth_method == "rsa-signatures"
    assert ea.remote_id == "O=xfrmctl test, CN=gw-b" and ea.remote_id_type == "distinguished_name"
    assert eb.remote_id == "O=xfrmctl test, CN=gw-a"
    (ca,) = net.a.of(InstallChild)
    (cb,) = net.b.of(InstallChild)
    assert v1.mirrored(ca, cb)


def test_untrusted_certificate_is_refused(v1, pki):
    net = _pair(v1, pki, ExchangeMode.MAIN, a_auth="rogue")
    net.feed(net.a, net.a.engine.initiate("to-b", "vpn", net.now))
    net.run()
    assert not net.b.of(IkeEstablished)
    (f,) = net.b.of(IkeFailed)
    assert f.reason is Reason.AUTHENTICATION_FAILED


def test_aggressive_mode_dynamic_peer_by_fqdn(v1):
    a = v1.peer("to-hub", v1.A_ADDR, v1.B_ADDR, mode=ExchangeMode.AGGRESSIVE,
                local_id=Identity.parse("@spoke1.example.net"))  # fmt: skip
    wrong = v1.peer("spoke2", v1.B_ADDR, None, mode=ExchangeMode.AGGRESSIVE,
                    auth=PskAuth(b"another secret"),
                    remote_id=Identity.parse("@spoke2.example.net"),
                    local_ts="10.2.0.0/16", remote_ts="10.1.0.0/16")  # fmt: skip
    right = v1.peer("spoke1", v1.B_ADDR, None, mode=ExchangeMode.AGGRESSIVE,
                    remote_id=Identity.parse("@spoke1.example.net"),
                    local_ts="10.2.0.0/16", remote_ts="10.1.0.0/16")  # fmt: skip
    net = v1.Net(Ikev1Engine([a], v1.Rng("a")), Ikev1Engine([wrong, right], v1.Rng("b")))
    net.feed(net.a, net.a.engine.initiate("to-hub", "vpn", net.now))
    net.run()
    (eb,) = net.b.of(IkeEstablished)
    assert eb.peer == "spoke1" and eb.remote_id == "spoke1.example.net"
    assert eb.remote_id_type == "fqdn"
    (ca,) = net.a.of(InstallChild)
    (cb,) = net.b.of(InstallChild)
    assert v1.mirrored(ca, cb)
