"""Policy-based VPNs: tunnel policies resolved to the selectors of their VPN's child SA."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from xfrmctl.config import load_file, load_text
from xfrmctl.config.policy_vpn import PolicySelector, resolve_address, tunnel_selectors
from xfrmctl.config.values import IPNetwork

MAP = {"ge-0/0/0.0": "eth0", "ge-0/0/1.0": "eth1", "ge-0/0/2.0": "eth2", "ge-0/0/3.0": "eth3",
       "ge-0/0/14.0": "eth14", "ge-0/0/15.0": "eth15"}  # fmt: skip


def nets(*texts: str) -> tuple[IPNetwork, ...]:
    return tuple(ipaddress.ip_network(t) for t in texts)


def test_pair_gives_one_selector_from_the_outbound_policy(data_dir: Path) -> None:
    config = load_file(data_dir / "policy-based-chicago.set", interface_map=MAP).require()
    assert tunnel_selectors(config) == {
        "ike-vpn-chicago": (
            PolicySelector(
                ("vpn-tr-untr", "vpn-untr-tr"),
                nets("10.10.10.0/24"),
                nets("192.168.168.0/24"),
                ("any",),
            ),
        )
    }


def test_zone_scoped_books(data_dir: Path) -> None:
    config = load_file(data_dir / "natt-policy-based.set", interface_map=MAP).require()
    (selector,) = tunnel_selectors(config)["first_vpn"]
    assert (selector.local, selector.remote) == (nets("192.168.168.0/24"), nets("10.10.10.0/24"))


def test_ipv6_policies(data_dir: Path) -> None:
    config = load_file(data_dir / "ipv6-policy-based.set", interface_map=MAP).require()
    (selector,) = tunnel_selectors(config)["ipv6-ike-vpn-chicago"]
    assert (selector.local, selector.remote) == (nets("1212::/64"), nets("1111::/64"))


def test_pair_written_inbound_first_still_resolves_outbound(data_dir: Path) -> None:
    text = (data_dir / "policy-based-chicago.set").read_text()
    text = text.replace(
        "insert security policies from-zone trust to-zone untrust policy vpn-tr-untr before "
        "policy permit-any\n",
        "",
    )
    lines = text.splitlines()
    inbound = [line for line in lines if "vpn-untr-tr match" in line or "vpn-untr-tr then" in line]
    rest = [line for line in lines if line not in inbound]
    config = load_text("\n".join(inbound + rest) + "\n", "x.set", interface_map=MAP).require()
    (selector,) = tunnel_selectors(config)["ike-vpn-chicago"]
    assert selector.policies == ("vpn-untr-tr", "vpn-tr-untr")
    assert (selector.local, selector.remote) == (nets("10.10.10.0/24"), nets("192.168.168.0/24"))


def test_address_sets_ranges_and_any() -> None:
    text = """\
set security address-book global address a1 10.1.0.0/16
set security address-book global address r1 range-address 10.2.0.0 to 10.2.0.255
set security address-book global address-set s1 address [ a1 r1 ]
set security address-book global address-set s2 address-set s1
set security address-book global address-set s2 address-set s2
"""
    config = load_text(text, "a.set").require()
    assert resolve_address(config, "trust", "s2") == nets("10.1.0.0/16", "10.2.0.0/24")
    assert resolve_address(config, None, "any-ipv4") == nets("0.0.0.0/0")
    assert resolve_address(config, None, "missing") == ()
