"""xfrmctl against strongSwan over st0.0: IKEv2 PSK, route-based, ping through ESP both ways.

xfrmctl takes one side of the reference topology of test_lab_strongswan.py; the other side is a
strongSwan charon. The SPIs xfrmctl's `show` reports must be the ones strongSwan reports (in/out
swapped), and after SIGTERM nothing xfrmctl installed may be left in its namespace.
"""

from __future__ import annotations

from typing import Any

import pytest

from integration.lab.netns import Netns
from integration.lab.strongswan import route_based_connection
from integration.lab.topology import Lab, route_based_pair
from integration.lab.xfrmctl import XfrmctlDaemon, yaml_config

PSK = "lab-only-secret-0123456789"

# (strongSwan IKE proposal, strongSwan ESP proposal, Junos IKE proposal, Junos ESP proposal, PFS)
PROPOSALS: dict[str, tuple[str, str, dict[str, str], dict[str, str], str]] = {
    "aes256gcm16-prfsha256-x25519": (
        "aes256gcm16-prfsha256-x25519",
        "aes256gcm16-x25519",
        {"dh-group": "group31", "authentication-algorithm": "sha-256",
         "encryption-algorithm": "aes-256-gcm"},
        {"encryption-algorithm": "aes-256-gcm"},
        "group31",
    ),
    "aes128-sha256-modp2048": (
        "aes128-sha256-modp2048",
        "aes128-sha256-modp2048",
        {"dh-group": "group14", "authentication-algorithm": "sha-256",
         "encryption-algorithm": "aes-128-cbc"},
        {"encryption-algorithm": "aes-128-cbc", "authentication-algorithm": "hmac-sha-256-128"},
        "group14",
    ),
    "aes256-sha384-ecp384": (
        "aes256-sha384-ecp384",
        "aes256-sha384-ecp384",
        {"dh-group": "group20", "authentication-algorithm": "sha-384",
         "encryption-algorithm": "aes-256-cbc"},
        {"encryption-algorithm": "aes-256-cbc", "authentication-algorithm": "hmac-sha-384"},
        "group20",
    ),
}  # fmt: skip


def swan_connection(me: str, peer: str, ike: str, esp: str) -> dict[str, Any]:
    return route_based_connection(me, peer, start=False, proposals=ike, esp_proposals=esp)




def start_xfrmctl(lab: Lab, ns: Netns, dev: str, name: str, *, establish: str) -> XfrmctlDaemon:
    _, _, ike, esp, pfs = PROPOSALS[name]
    text = yaml_config(
        remote="192.0.2.2", external=dev, st0_address="198.18.255.1/30",
        route="198.18.2.0/24", psk=PSK, ike=ike, esp=esp, pfs=pfs, establish=establish,
    )  # fmt: skip
    daemon = XfrmctlDaemon(ns, lab.workdir / f"xfrmctl-{ns.name}", lab.procs, text)
    daemon.start()
    return daemon


def child_of(ike: dict[str, Any]) -> dict[str, Any]:
    children = list(ike["child-sas"].values())
    assert len(children) == 1, children
    return dict(children[0])


def check_tunnel(a: Netns, b: Netns, daemon: XfrmctlDaemon, swan_ike: dict[str, Any]) -> None:
    assert swan_ike["state"] == "ESTABLISHED"
    child = child_of(swan_ike)
    assert child["state"] == "INSTALLED"
    spi_in, spi_out = daemon.wait_up("vpn1")
    # strongSwan's inbound SA is our outbound one and vice versa
    assert (spi_in, spi_out) == (child["spi-out"], child["spi-in"])
    ike_sas = daemon.ike_sas()
    assert len(ike_sas) == 1 and ike_sas[0]["state"] == "UP"
    assert ike_sas[0]["initiator_cookie"] == swan_ike["initiator-spi"]
    assert ike_sas[0]["responder_cookie"] == swan_ike["responder-spi"]
    state = a.ip("xfrm", "state").stdout
    assert f"spi 0x{spi_in}" in state and f"spi 0x{spi_out}" in state and "if_id 0x1" in state
    forth = a.ping("198.18.2.1", source="198.18.1.1")
    back = b.ping("198.18.1.1", source="198.18.2.1")
    assert forth.returncode == 0, forth.stdout + daemon.tail()
    assert back.returncode == 0, back.stdout + daemon.tail()
    stats = daemon.show("security", "ipsec", "statistics")["statistics"]
    assert stats["encrypted_packets"] >= 6 and stats["decrypted_packets"] >= 6, stats


def check_clean(a: Netns, daemon: XfrmctlDaemon) -> None:
    assert daemon.stop() == 0, daemon.tail()
    assert a.ip("xfrm", "state").stdout.strip() == ""
    assert a.ip("xfrm", "policy").stdout.strip() == ""
    assert a.ip("link", "show", "st0.0", check=False).returncode != 0
    assert "198.18.2.0/24" not in a.ip("route").stdout


@pytest.mark.parametrize("proposal", list(PROPOSALS))
def test_xfrmctl_initiator_strongswan_responder(lab: Lab, proposal: str) -> None:
    a, b, dev_a, _ = route_based_pair(lab)
    ike, esp = PROPOSALS[proposal][:2]
    swan = lab.strongswan(b, swan_connection("192.0.2.2", "192.0.2.1", ike, esp),
                          {"ike-1": {"secret": PSK}})  # fmt: skip
    swan.load()
    daemon = start_xfrmctl(lab, a, dev_a, proposal, establish="immediately")
    swan_ike = swan.wait_established("vpn", "net", timeout=120)
    assert swan_ike.get("initiator") != "yes"
    check_tunnel(a, b, daemon, swan_ike)
    check_clean(a, daemon)


def test_strongswan_initiator_xfrmctl_responder(lab: Lab) -> None:
    a, b, dev_a, _ = route_based_pair(lab)
    name = "aes256gcm16-prfsha256-x25519"
    ike, esp = PROPOSALS[name][:2]
    swan = lab.strongswan(b, swan_connection("192.0.2.2", "192.0.2.1", ike, esp),
                          {"ike-1": {"secret": PSK}})  # fmt: skip
    swan.load()
    daemon = start_xfrmctl(lab, a, dev_a, name, establish="on-traffic")
    swan.initiate("net")
    swan_ike = swan.wait_established("vpn", "net", timeout=120)
    assert swan_ike["initiator"] == "yes"
    check_tunnel(a, b, daemon, swan_ike)
    check_clean(a, daemon)
