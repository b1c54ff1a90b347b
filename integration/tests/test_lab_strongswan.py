"""Scenario (a): two strongSwan peers, route-based over xfrm interfaces, and the NAT lab.

This is the reference the xfrmctl scenarios are measured against: if it fails, the lab is broken.
"""

from __future__ import annotations

from typing import Any

from integration.lab.netns import xfrm_interface
from integration.lab.strongswan import StrongSwan, psk_secrets, route_based_connection
from integration.lab.topology import Lab


def child_of(ike: dict[str, Any]) -> dict[str, Any]:
    children = list(ike["child-sas"].values())
    assert len(children) == 1
    return dict(children[0])


def test_two_strongswan_peers_route_based(lab: Lab) -> None:
    a, b = lab.netns("a"), lab.netns("b")
    dev_a, dev_b = lab.link(a, b, "192.0.2.1/24", "192.0.2.2/24")
    xfrm_interface(a, "st0.0", 1, dev_a, "198.18.255.1/30")
    xfrm_interface(b, "st0.0", 1, dev_b, "198.18.255.2/30")
    a.add_addr("lo", "198.18.1.1/24")
    b.add_addr("lo", "198.18.2.1/24")
    a.add_route("198.18.2.0/24", "dev", "st0.0")
    b.add_route("198.18.1.0/24", "dev", "st0.0")

    peer_b = lab.strongswan(
        b, route_based_connection("192.0.2.2", "192.0.2.1", start=False), psk_secrets()
    )
    peer_b.load()
    peer_a = lab.strongswan(
        a, route_based_connection("192.0.2.1", "192.0.2.2", start=False), psk_secrets()
    )
    peer_a.load()
    peer_a.initiate("net")

    ike_a = peer_a.wait_established("vpn", "net")
    ike_b = peer_b.wait_established("vpn", "net")
    assert ike_a["initiator"] == "yes"
    assert ike_a["encr-alg"] == "AES_GCM_16" and ike_a["dh-group"] == "CURVE_25519"
    child_a, child_b = child_of(ike_a), child_of(ike_b)
    # the SPIs each side reports are the other's in/out pair
    assert child_a["spi-in"] == child_b["spi-out"] and child_a["spi-out"] == child_b["spi-in"]
    # and the kernel holds exactly those SAs, with the interface's if_id
    state = a.ip("xfrm", "state").stdout
    assert f"spi 0x{child_a['spi-in']}" in state and "if_id 0x1" in state

    forth = a.ping("198.18.2.1", source="198.18.1.1")
    back = b.ping("198.18.1.1", source="198.18.2.1")
    assert forth.returncode == 0, forth.stdout
    assert back.returncode == 0, back.stdout
    stats = a.ip("-s", "link", "show", "st0.0").stdout
    assert "RX:" in stats


def test_strongswan_behind_nat_floats_to_4500(lab: Lab) -> None:
    """The NAT namespace: b sits behind a masquerading router; IKE and ESP move to UDP 4500."""
    a, nat, b = lab.netns("a"), lab.netns("nat"), lab.netns("b")
    dev_a, _ = lab.link(a, nat, "203.0.113.1/24", "203.0.113.254/24")
    _, dev_b = lab.link(nat, b, "198.51.100.254/24", "198.51.100.2/24")
    lab.nat(nat, nat.links[0])
    b.ip("route", "add", "default", "via", "198.51.100.254")
    xfrm_interface(a, "st0.0", 1, dev_a, "198.18.255.1/30")
    xfrm_interface(b, "st0.0", 1, dev_b, "198.18.255.2/30")
    a.add_addr("lo", "198.18.1.1/24")
    b.add_addr("lo", "198.18.2.1/24")
    a.add_route("198.18.2.0/24", "dev", "st0.0")
    b.add_route("198.18.1.0/24", "dev", "st0.0")

    conn_a = route_based_connection("203.0.113.1", "%any", start=False)
    conn_a["vpn"]["remote"]["id"] = "198.51.100.2"
    conn_b = route_based_connection("198.51.100.2", "203.0.113.1", start=False)
    peer_a: StrongSwan = lab.strongswan(a, conn_a, psk_secrets())
    peer_a.load()
    peer_b = lab.strongswan(b, conn_b, psk_secrets())
    peer_b.load()
    peer_b.initiate("net")

    ike_a = peer_a.wait_established("vpn", "net")
    assert ike_a["remote-host"] == "203.0.113.254"
    assert ike_a["remote-port"] != "500"
    assert ike_a.get("nat-remote") == "yes"
    child = child_of(ike_a)
    assert child.get("encap") == "yes"
    assert "encap type espinudp" in a.ip("xfrm", "state").stdout

    result = b.ping("198.18.1.1", source="198.18.2.1")
    assert result.returncode == 0, result.stdout
