"""xfrmctl against strongSwan over IPv6: IKE and ESP on IPv6 outer addresses, IPv6 and IPv4 inner
traffic through one st0 unit carrying `family inet6` and `family inet` (one child SA, a 0/0 and
a ::/0 selector each side), and `show ... family inet6|inet` filtering on the peer's family.
"""

from __future__ import annotations

import json

from integration.lab.netns import xfrm_interface
from integration.lab.strongswan import route_based_connection
from integration.lab.topology import Lab
from integration.lab.xfrmctl import XfrmctlDaemon, yaml_config

PSK = "lab-only-secret-0123456789"
A_OUT, B_OUT = "2001:db8:0:1::1", "2001:db8:0:1::2"


def test_ipv6_outer_ipv6_and_ipv4_inner_against_strongswan(lab: Lab) -> None:
    a, b = lab.netns("a"), lab.netns("b")
    dev_a, dev_b = lab.link(a, b, f"{A_OUT}/64", f"{B_OUT}/64")
    xfrm_interface(b, "st0.0", 1, dev_b, "2001:db8:ffff:ff::2/64")
    b.add_addr("st0.0", "198.18.255.2/30")
    a.add_addr("lo", "2001:db8:ffff:1::1/64")
    a.add_addr("lo", "198.18.1.1/24")
    b.add_addr("lo", "2001:db8:ffff:2::1/64")
    b.add_addr("lo", "198.18.2.1/24")
    b.add_route("2001:db8:ffff:1::/64", "dev", "st0.0")
    b.add_route("198.18.1.0/24", "dev", "st0.0")

    conn = route_based_connection(B_OUT, A_OUT, start=False)
    conn["vpn"]["children"]["net"].update(local_ts="::/0,0.0.0.0/0", remote_ts="::/0,0.0.0.0/0")
    swan = lab.strongswan(b, conn, {"ike-1": {"secret": PSK}})
    swan.load()

    data = json.loads(yaml_config(
        remote=B_OUT, external=dev_a, st0_address="198.18.255.1/30", route="198.18.2.0/24",
        psk=PSK, ike={"dh-group": "group31", "authentication-algorithm": "sha-256",
                      "encryption-algorithm": "aes-256-gcm"},
        esp={"encryption-algorithm": "aes-256-gcm"}, pfs="group31", establish="immediately",
    ))  # fmt: skip
    data["interfaces"]["st0"]["unit"]["0"]["family"]["inet6"] = {
        "address": "2001:db8:ffff:ff::1/64"
    }
    data["routing-options"]["rib"] = {
        "inet6.0": {"static": {"route": {"2001:db8:ffff:2::/64": {"next-hop": "st0.0"}}}}
    }
    daemon = XfrmctlDaemon(a, lab.workdir / "xfrmctl-a", lab.procs, json.dumps(data))
    daemon.start()

    swan_ike = swan.wait_established("vpn", "net", timeout=120)
    [child] = swan_ike["child-sas"].values()
    assert child["state"] == "INSTALLED"
    assert sorted(child["local-ts"]) == ["0.0.0.0/0", "::/0"], child
    spi_in, spi_out = daemon.wait_up("vpn1")
    assert (spi_in, spi_out) == (child["spi-out"], child["spi-in"])
    state = a.ip("xfrm", "state").stdout
    assert f"src {B_OUT} dst {A_OUT}" in state and f"src {A_OUT} dst {B_OUT}" in state, state

    for dst, src in (("2001:db8:ffff:2::1", "2001:db8:ffff:1::1"), ("198.18.2.1", "198.18.1.1")):
        forth = a.ping(dst, source=src)
        assert forth.returncode == 0, forth.stdout + daemon.tail()
    back = b.ping("2001:db8:ffff:1::1", source="2001:db8:ffff:2::1")
    assert back.returncode == 0, back.stdout + daemon.tail()
    stats = daemon.show("security", "ipsec", "statistics")["statistics"]
    assert stats["encrypted_packets"] >= 9 and stats["decrypted_packets"] >= 9, stats

    sa = "security", "ipsec", "security-associations"
    [tunnel] = daemon.show(*sa, "family", "inet6")["tunnels"]
    assert tunnel["remote_gateway"] == B_OUT
    assert daemon.show(*sa, "family", "inet")["tunnels"] == []

    assert daemon.stop() == 0, daemon.tail()
    assert a.ip("xfrm", "state").stdout.strip() == ""
    assert a.ip("xfrm", "policy").stdout.strip() == ""
