"""A Junos policy-based VPN against strongSwan: two tunnel policy pairs (two subnet pairs) on one
VPN become the child SA's traffic selectors and XFRM policies without an interface; traffic of
both pairs crosses the tunnel, and nothing is left after the daemon stops."""

from __future__ import annotations

import re

from integration.lab.topology import Lab
from integration.lab.xfrmctl import XfrmctlDaemon

PSK = "lab-only-secret-0123456789"
PAIRS = (("198.18.1.0/24", "198.18.2.0/24"), ("198.18.11.0/24", "198.18.12.0/24"))


def junos_config(dev: str) -> str:
    lines = [
        "set security zones security-zone trust interfaces lo",
        f"set security zones security-zone untrust interfaces {dev}",
        "set security address-book book1 address net1 198.18.1.0/24",
        "set security address-book book1 address net11 198.18.11.0/24",
        "set security address-book book1 attach zone trust",
        "set security address-book book2 address peer2 198.18.2.0/24",
        "set security address-book book2 address peer12 198.18.12.0/24",
        "set security address-book book2 attach zone untrust",
        "set security ike proposal P1 authentication-method pre-shared-keys",
        "set security ike proposal P1 dh-group group31",
        "set security ike proposal P1 authentication-algorithm sha-256",
        "set security ike proposal P1 encryption-algorithm aes-256-gcm",
        "set security ike policy IKEPOL proposals P1",
        f'set security ike policy IKEPOL pre-shared-key ascii-text "{PSK}"',
        "set security ike gateway GW ike-policy IKEPOL",
        "set security ike gateway GW address 192.0.2.2",
        f"set security ike gateway GW external-interface {dev}",
        "set security ike gateway GW version v2-only",
        "set security ipsec proposal P2 protocol esp",
        "set security ipsec proposal P2 encryption-algorithm aes-256-gcm",
        "set security ipsec policy IPSECPOL proposals P2",
        "set security ipsec vpn PB ike gateway GW",
        "set security ipsec vpn PB ike ipsec-policy IPSECPOL",
        "set security ipsec vpn PB establish-tunnels immediately",
    ]
    for n, (src, dst) in enumerate((("net1", "peer2"), ("net11", "peer12")), start=1):
        out = f"from-zone trust to-zone untrust policy t{n}"
        back = f"from-zone untrust to-zone trust policy u{n}"
        lines += [
            f"set security policies {out} match source-address {src} destination-address {dst} "
            "application any",
            f"set security policies {out} then permit tunnel ipsec-vpn PB pair-policy u{n}",
            f"set security policies {back} match source-address {dst} destination-address {src} "
            "application any",
            f"set security policies {back} then permit tunnel ipsec-vpn PB pair-policy t{n}",
        ]
    return "\n".join(lines) + "\n"


def test_policy_based_vpn_two_subnet_pairs_with_strongswan(lab: Lab) -> None:
    a, b = lab.netns("a"), lab.netns("b")
    dev_a, _ = lab.link(a, b, "192.0.2.1/24", "192.0.2.2/24")
    for local, remote in PAIRS:
        a.add_addr("lo", local.replace("0/24", "1/24"))
        b.add_addr("lo", remote.replace("0/24", "1/24"))
        a.add_route(remote, "via", "192.0.2.2")
        b.add_route(local, "via", "192.0.2.1")
    connection = {
        "vpn": {
            "version": 2,
            "local_addrs": "192.0.2.2",
            "remote_addrs": "192.0.2.1",
            "proposals": "aes256gcm16-prfsha256-x25519",
            "local": {"auth": "psk", "id": "192.0.2.2"},
            "remote": {"auth": "psk", "id": "192.0.2.1"},
            "children": {
                "net": {
                    "local_ts": ",".join(r for _, r in PAIRS),
                    "remote_ts": ",".join(loc for loc, _ in PAIRS),
                    "esp_proposals": "aes256gcm16",
                    "start_action": "none",
                }
            },
        }
    }
    swan = lab.strongswan(b, connection, {"ike-1": {"secret": PSK}})
    swan.load()
    xa = XfrmctlDaemon(a, lab.workdir / "xfrmctl-a", lab.procs, junos_config(dev_a),
                       config_name="xfrmctl.set")  # fmt: skip
    xa.start(wait=300)  # the daemon's first import is slow in a loaded emulated VM
    swan_ike = swan.wait_established("vpn", "net", timeout=120)
    [child] = swan_ike["child-sas"].values()
    assert sorted(child["local-ts"]) == sorted(r for _, r in PAIRS), child
    assert sorted(child["remote-ts"]) == sorted(loc for loc, _ in PAIRS), child
    spi_in, spi_out = xa.wait_up("PB", timeout=60)
    assert (spi_in, spi_out) == (child["spi-out"], child["spi-in"])
    policies = a.ip("xfrm", "policy").stdout
    for local, remote in PAIRS:
        assert re.search(rf"src {local} dst {remote}\s*\n\s*dir out", policies), policies
    assert "if_id" not in policies, policies
    # cleartext would be dropped by strongSwan's inbound policies: an answer means ESP
    for local, remote in PAIRS:
        src, dst = local.replace("0/24", "1"), remote.replace("0/24", "1")
        forth = a.ping(dst, source=src)
        assert forth.returncode == 0, forth.stdout + xa.tail()
        back = b.ping(src, source=dst)
        assert back.returncode == 0, back.stdout + xa.tail()
    stats = xa.show("security", "ipsec", "statistics")["statistics"]
    assert stats["encrypted_packets"] >= 12 and stats["decrypted_packets"] >= 12, stats
    assert xa.stop() == 0, xa.tail()
    assert a.ip("xfrm", "state").stdout.strip() == ""
    assert a.ip("xfrm", "policy").stdout.strip() == ""
