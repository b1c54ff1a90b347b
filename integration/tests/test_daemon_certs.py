"""xfrmctl and strongSwan authenticate with certificates from a lab CA over st0.0.

One topology, one charon and one xfrmctl daemon for four negotiations: ECDSA P-256 with xfrmctl
as initiator (traffic triggers it: `establish-tunnels on-traffic`) and as responder (charon
initiates), then a reload to RSA-3072 certificates and both roles again. Each time strongSwan's
`--list-sas` shows the SAs ESTABLISHED/INSTALLED, xfrmctl's `show` has the same SPIs and the peer
ID from the certificate, and ping passes both ways through ESP. `clear security ike
security-associations` ends each round (the IKE delete reaches charon).
"""

from __future__ import annotations

import time
from typing import Any

from integration.lab.netns import LabError, Netns
from integration.lab.pki import (
    Credential,
    LabCa,
    load_swan,
    swan_certificates,
    xfrmctl_certificates,
)
from integration.lab.strongswan import StrongSwan
from integration.lab.topology import Lab, route_based_pair
from integration.lab.xfrmctl import XfrmctlDaemon, yaml_config
from integration.tests.test_daemon_strongswan import (
    PROPOSALS,
    check_clean,
    check_tunnel,
    swan_connection,
)

SUITE = "aes256gcm16-prfsha256-x25519"
A, B = "192.0.2.1", "192.0.2.2"


def xfrmctl_text(dev: str, cred: Credential, ca: LabCa) -> str:
    _, _, ike, esp, pfs = PROPOSALS[SUITE]
    text = yaml_config(
        remote=B, external=dev, st0_address="198.18.255.1/30", route="198.18.2.0/24",
        psk="unused", ike=ike, esp=esp, pfs=pfs, establish="on-traffic",
    )  # fmt: skip
    return xfrmctl_certificates(text, cred, ca.cert)


def swan_load(swan: StrongSwan, cred: Credential, ca: LabCa) -> None:
    ike, esp = PROPOSALS[SUITE][:2]
    load_swan(swan, swan_certificates(swan_connection(B, A, ike, esp), cred, ca.cert), cred)


def wait_down(swan: StrongSwan, daemon: XfrmctlDaemon, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not swan.list_sas() and not daemon.query("security", "ike", "security-associations")[
            "ike_security_associations"
        ]:  # fmt: skip
            return
        time.sleep(0.5)
    raise LabError(f"SAs not gone after clear: {swan.list_sas()}\n{daemon.tail()}")


def one_round(
    a: Netns, b: Netns, swan: StrongSwan, daemon: XfrmctlDaemon, *, xfrmctl_initiates: bool
) -> dict[str, Any]:
    if xfrmctl_initiates:
        a.ping("198.18.2.1", source="198.18.1.1", count=1, timeout=5)  # ACQUIRE starts IKE
    else:
        swan.initiate("net")
    swan_ike = swan.wait_established("vpn", "net", timeout=120)
    assert (swan_ike.get("initiator") == "yes") is not xfrmctl_initiates, swan_ike
    check_tunnel(a, b, daemon, swan_ike)
    [ike] = daemon.ike_sas()
    assert ike["role"] == ("Initiator" if xfrmctl_initiates else "Responder")
    assert ike["peer_ike_id"] == B and ike["exchange_type"] == "IKEv2"
    return ike


def test_certificates_ecdsa_and_rsa_both_roles(lab: Lab) -> None:
    a, b, dev_a, _ = route_based_pair(lab)
    ca = LabCa(lab.workdir / "pki")
    creds = {
        key_type: (ca.issue(f"a-{key_type}", key_type, A), ca.issue(f"b-{key_type}", key_type, B))
        for key_type in ("ecdsa-p256", "rsa-3072")
    }
    mine, theirs = creds["ecdsa-p256"]
    swan = lab.strongswan(b, {}, {})
    swan_load(swan, theirs, ca)
    daemon = XfrmctlDaemon(a, lab.workdir / "xfrmctl-a", lab.procs,
                           xfrmctl_text(dev_a, mine, ca))  # fmt: skip
    daemon.start()
    for n, key_type in enumerate(creds):
        mine, theirs = creds[key_type]
        if n:
            swan_load(swan, theirs, ca)
            answer = daemon.reload(xfrmctl_text(dev_a, mine, ca))
            assert answer.startswith("reloaded"), answer
        for xfrmctl_initiates in (True, False) if n == 0 else (False, True):
            ike = one_round(a, b, swan, daemon, xfrmctl_initiates=xfrmctl_initiates)
            # RFC 7427 signatures: both sides announce SIGNATURE_HASH_ALGORITHMS
            assert ike["authentication_method"] == "Digital-signatures", (key_type, ike)
            daemon.cli("clear", "security", "ike", "security-associations")
            wait_down(swan, daemon)
    check_clean(a, daemon)
