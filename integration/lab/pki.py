"""A lab certificate authority: a CA and end-entity certificates made in the scenario.

Made with `cryptography` (no `pki` tool needed): one ECDSA P-256 CA issues ECDSA P-256 or
RSA-3072 end-entity certificates whose subjectAltName is the gateway's address, so both
xfrmctl (its default IKE ID is the local address) and strongSwan (`id = ADDRESS`) find the ID
in the certificate. Files are PEM; keys are unencrypted PKCS#8, lab only.

`xfrmctl_certificates()` turns a PSK configuration of `yaml_config` into the certificate form
(`certificate local-certificate` / `trusted-ca` in the IKE policy, the files under `xfrmctl
certificate` and `xfrmctl ca-profile`), `swan_certificates()` does the same to a strongSwan
connection of `route_based_connection` (`auth = pubkey`, `certs`, `cacerts`), and `load_swan()`
gives a running charon those connections and the private key.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from integration.lab.strongswan import StrongSwan

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

# key type -> the Junos IKE proposal `authentication-method` for it
KEY_TYPES: dict[str, str] = {
    "ecdsa-p256": "ecdsa-signatures-256",
    "rsa-3072": "rsa-signatures",
}


def _new_key(key_type: str) -> PrivateKey:
    if key_type == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa-3072":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    raise ValueError(f"unknown key type {key_type!r}; known: {', '.join(KEY_TYPES)}")


@dataclass(frozen=True)
class Credential:
    """One end entity's files and what it is."""

    name: str
    key_type: str
    cert: Path
    key: Path

    @property
    def method(self) -> str:
        return KEY_TYPES[self.key_type]


class LabCa:
    """An ECDSA P-256 root valid from yesterday for 30 days; `cert` is its PEM file."""

    def __init__(self, directory: Path, name: str = "xfrmctl lab CA") -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._name = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "xfrmctl lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ])  # fmt: skip
        self._serial = 1
        ca = (
            self._builder(self._name, self._key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(self._key, hashes.SHA256())
        )  # fmt: skip
        self.cert = directory / "ca.pem"
        self.cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    def _builder(self, subject: x509.Name, public_key: Any) -> x509.CertificateBuilder:
        self._serial += 1
        return (
            x509.CertificateBuilder().subject_name(subject).issuer_name(self._name)
            .public_key(public_key).serial_number(self._serial)
            .not_valid_before(self._start)
            .not_valid_after(self._start + datetime.timedelta(days=30))
        )  # fmt: skip

    def issue(self, name: str, key_type: str, address: str) -> Credential:
        """An end-entity certificate for the gateway `address` (its subjectAltName)."""
        key = _new_key(key_type)
        subject = x509.Name([
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "xfrmctl lab"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ])  # fmt: skip
        cert = (
            self._builder(subject, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(address))]), critical=False)
            .sign(self._key, hashes.SHA256())
        )  # fmt: skip
        cred = Credential(name, key_type, self.directory / f"{name}.pem",
                          self.directory / f"{name}.key")  # fmt: skip
        cred.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        cred.key.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))  # fmt: skip
        cred.key.chmod(0o600)
        return cred


def xfrmctl_certificates(text: str, cred: Credential, ca: Path) -> str:
    """A one-gateway `yaml_config` text with certificate authentication instead of the PSK."""
    data = json.loads(text)
    ike = data["security"]["ike"]
    for proposal in ike["proposal"].values():
        proposal["authentication-method"] = cred.method
    for policy in ike["policy"].values():
        policy.pop("pre-shared-key", None)
        policy["certificate"] = {"local-certificate": cred.name, "trusted-ca": "lab"}
    data["xfrmctl"] = {
        "certificate": {cred.name: {"file": str(cred.cert), "key": str(cred.key)}},
        "ca-profile": {"lab": {"file": str(ca)}},
    }
    return json.dumps(data, indent=2)


def swan_certificates(connections: dict[str, Any], cred: Credential, ca: Path) -> dict[str, Any]:
    """Every connection authenticates with `cred` and trusts `ca` (absolute paths, which
    swanctl accepts for `certs` and `cacerts`; the key goes with `load_swan_key`)."""
    for conn in connections.values():
        conn["local"] = {"auth": "pubkey", "id": conn["local"]["id"], "certs": str(cred.cert)}
        conn["remote"] = {"auth": "pubkey", "id": conn["remote"]["id"], "cacerts": str(ca)}
    return connections


def load_swan(swan: StrongSwan, connections: dict[str, Any], cred: Credential) -> None:
    """Replace charon's connections and credentials. swanctl reads private keys only from the
    `private/` folder beside the swanctl.conf it loads (the `secrets` section merely unlocks
    encrypted ones), so `cred`'s key becomes the only file there."""
    private = swan.workdir / "private"
    if private.exists():
        shutil.rmtree(private)
    private.mkdir(parents=True)
    shutil.copy(cred.key, private / cred.key.name)
    swan.connections, swan.secrets = connections, {}
    swan.write_config()
    swan.swanctl("--load-all", "--clear", "--noprompt", "--file",
                 str(swan.workdir / "swanctl.conf"))  # fmt: skip
