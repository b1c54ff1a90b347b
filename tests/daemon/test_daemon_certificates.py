"""Two in-process daemons authenticate with ECDSA P-256 certificates from a lab CA, all named
by the configuration (`xfrmctl certificate`, `xfrmctl ca-profile`)."""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import json
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from daemon_harness import (  # type: ignore[import-not-found, unused-ignore]
    A,
    B,
    Wire,
    config,
    make_daemon,
    seed,
    until,
)


def issue(tmp: Path) -> dict[str, tuple[Path, Path]]:
    """A CA and one certificate per gateway address (SAN = the address), as PEM files."""
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Lab CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(1)
        .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    (tmp / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    out: dict[str, tuple[Path, Path]] = {}
    for n, addr in enumerate((A, B), 2):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"gw{n}")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(n)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(addr))]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )  # fmt: skip
        paths = tmp / f"{addr}.pem", tmp / f"{addr}.key"
        paths[0].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        paths[1].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))  # fmt: skip
        out[addr] = paths
    return out


def cert_config(text: str, cert: Path, key: Path, ca: Path) -> str:
    data = json.loads(text)
    ike = data["security"]["ike"]
    ike["proposal"]["P1"]["authentication-method"] = "ecdsa-signatures-256"
    policy = ike["policy"]["IKEPOL"]
    del policy["pre-shared-key"]
    policy["certificate"] = {"local-certificate": "gw", "trusted-ca": "lab"}
    data["xfrmctl"] = {
        "certificate": {"gw": {"file": str(cert), "key": str(key)}},
        "ca-profile": {"lab": {"file": str(ca)}},
    }
    return json.dumps(data)


def test_certificate_authentication(tmp_path: Path) -> None:
    files = issue(tmp_path)
    vpn_a = {"unit": 0, "address": "198.18.255.1/30", "route": "198.18.2.0/24"}
    vpn_b = {"unit": 0, "address": "198.18.255.2/30", "route": "198.18.1.0/24"}
    ca = tmp_path / "ca.pem"
    text_a = cert_config(config(local=A, remote=B, vpns={"vpn1": vpn_a}), *files[A], ca)
    text_b = cert_config(config(local=B, remote=A, vpns={"vpn1": vpn_b}, establish="on-traffic"),
                         *files[B], ca)  # fmt: skip

    async def main() -> None:
        wire = Wire()
        a = make_daemon(tmp_path, "a", A, text_a, wire)
        b = make_daemon(tmp_path, "b", B, text_b, wire)
        await seed(a, A)
        await seed(b, B)
        await b.start()
        await a.start()
        assert a.plan is not None and a.plan.unusable == {}

        def up(d: object) -> bool:
            rec = d.store.vpns["vpn1"]  # type: ignore[attr-defined]
            return bool(rec.children)

        await until(lambda: up(a) and up(b), turns=20000)
        [ike] = a.store.snapshot(a.now(), a.wall_offset, {}).ike_security_associations
        assert ike.authentication_method == "Digital-signatures"  # RFC 7427, both sides
        assert ike.peer_ike_id == B
        await a.shutdown()
        await b.shutdown()

    asyncio.run(main())
