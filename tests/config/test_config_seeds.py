"""Every configuration example of the spec's seeds that xfrmctl covers, imported by
`config check` with Junos interface names mapped: each statement is applied, or named in a
warning with the reason."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from xfrmctl.config import LoadResult, load_file, load_text, to_curly, to_set, to_yaml
from xfrmctl.config.values import St0Unit

MAP = {
    "ge-0/0/0.0": "eth0",
    "ge-0/0/1.0": "eth1",
    "ge-0/0/2.0": "eth2",
    "ge-0/0/3.0": "eth3",
    "ge-0/0/14.0": "eth14",
    "ge-0/0/15.0": "eth15",
}
FIXTURES = [
    "seed000-jgw23.set",
    "route-based-chicago.set",
    "route-based-ikev2-chicago.conf",
    "policy-based-chicago.set",
    "hub.set",
    "spoke-westford.set",
    "natt-responder.set",
    "natt-initiator.set",
    "natt-policy-based.set",
    "ipv6-policy-based.set",
    "manual-ipv6.set",
    "vr-st0.set",
    "alarms.set",
    "spec-4.9-display.conf",
]


def load(data_dir: Path, name: str) -> LoadResult:
    return load_file(data_dir / name, interface_map=MAP)


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_loads_and_round_trips(data_dir: Path, name: str) -> None:
    result = load(data_dir, name)
    assert result.errors == []
    config = result.require()
    assert result.tree is not None
    for writer, file in ((to_set, "again.set"), (to_curly, "again.conf"), (to_yaml, "again.yaml")):
        text, _ = writer(result.tree, show_secrets=True)
        again = load_text(text, file)
        assert again.require() == config, file
        # the same statements are applied or warned about, whatever the form
        assert sorted((d.path, d.message) for d in again.diagnostics) == sorted(
            (d.path, d.message) for d in result.diagnostics
        )


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_needs_its_interface_mapping(data_dir: Path, name: str) -> None:
    result = load_file(data_dir / name)
    needs_map = any(
        "external-interface" in line for line in (data_dir / name).read_text().split("\n")
    )
    assert bool(result.errors) == needs_map
    for error in result.errors:
        assert "is a Junos interface name with no Linux equivalent; map it with" in error.message


def test_seed000_tunnel(data_dir: Path) -> None:
    result = load(data_dir, "seed000-jgw23.set")
    config = result.require()
    gw = config.gateways["gw-hub"]
    assert (gw.addresses, gw.external_interface) == ((ipaddress.ip_address("212.45.64.2"),), "eth0")
    proposal = config.ike_proposals["ike-prop-1"]
    assert (proposal.dh_group, proposal.encryption_algorithm, proposal.lifetime_seconds) == (
        "group2",
        "3des-cbc",
        1800,
    )
    vpn = config.vpns["vpn-hub"]
    assert vpn.bind_interface == St0Unit(0)
    assert vpn.ike is not None and vpn.ike.proxy_identity is not None
    assert str(vpn.ike.proxy_identity.local) == "11.11.11.2/32"
    assert str(vpn.ike.proxy_identity.remote) == "11.11.11.1/32"
    assert [
        f"{d.location.line}: {d.severity.value}: {d.path}: {d.message}" for d in result.diagnostics
    ] == [
        "7: warning: security ike proposal ike-prop-1 dh-group: group2 is a legacy algorithm "
        "(weak); accepted for interoperability only",
        "9: warning: security ike proposal ike-prop-1 encryption-algorithm: 3des-cbc is a legacy "
        "algorithm (weak); accepted for interoperability only",
        "19: warning: security ipsec proposal ipsec-prop-1 encryption-algorithm: 3des-cbc is a "
        "legacy algorithm (weak); accepted for interoperability only",
        "28: warning: interfaces ge-0/0/0: physical interfaces are configured by the host (ip, "
        "systemd-networkd, NetworkManager); ignored",
    ]


def test_hub_multipoint_with_static_nhtb(data_dir: Path) -> None:
    config = load(data_dir, "hub.set").require()
    unit = config.st0_units[0]
    assert unit.multipoint
    assert [(str(n.address), n.vpn) for n in unit.next_hop_tunnels] == [
        ("10.11.11.11", "vpn-sunnyvale"),
        ("10.11.11.12", "vpn-westford"),
    ]
    assert {v.name for v in config.vpns.values() if v.bind_interface == St0Unit(0)} == {
        "vpn-sunnyvale",
        "vpn-westford",
    }
    routes = {str(r.prefix): [str(h) for h in r.next_hops] for r in config.static_routes}
    assert routes == {
        "0.0.0.0/0": ["1.1.1.1"],
        "192.168.168.0/24": ["10.11.11.11"],
        "192.168.178.0/24": ["10.11.11.12"],
    }
    spoke_to_spoke = [p for p in config.security_policies if p.name == "spoke-to-spoke"]
    assert spoke_to_spoke[0].from_zone == spoke_to_spoke[0].to_zone == "vpn"


def test_policy_based_tunnel_policies_in_order(data_dir: Path) -> None:
    config = load(data_dir, "policy-based-chicago.set").require()
    order = [(p.from_zone, p.name) for p in config.security_policies]
    assert order == [
        ("trust", "vpn-tr-untr"),
        ("trust", "permit-any"),
        ("untrust", "vpn-untr-tr"),
    ]
    tunnel = config.security_policies[0]
    assert (tunnel.tunnel_vpn, tunnel.pair_policy) == ("ike-vpn-chicago", "vpn-untr-tr")
    assert config.vpns["ike-vpn-chicago"].bind_interface is None


def test_natt_identities(data_dir: Path) -> None:
    responder = load(data_dir, "natt-responder.set").require().gateways["gw1"]
    assert responder.local_identity is not None and responder.remote_identity is not None
    assert (responder.local_identity.kind, responder.local_identity.value) == (
        "user-at-hostname",
        "responder-natt1@juniper.net",
    )
    assert responder.nat_traversal and responder.nat_keepalive == 5
    gate = load(data_dir, "natt-policy-based.set").require().gateways["gate"]
    assert gate.dead_peer_detection is not None
    assert gate.dead_peer_detection.mode == "always-send"
    assert gate.remote_identity is not None and gate.remote_identity.value == "11.11.11.11"


def test_ipv6_gateway_and_policies(data_dir: Path) -> None:
    config = load(data_dir, "ipv6-policy-based.set").require()
    gw = config.gateways["gw-chicago"]
    assert gw.addresses == (ipaddress.ip_address("1111::1112"),)
    assert config.ike_policies["ipv6-ike-phase1-policy"].mode == "aggressive"
    assert str(config.static_routes[0].prefix) == "::/0"


def test_routing_instance(data_dir: Path) -> None:
    config = load(data_dir, "vr-st0.set").require()
    vr = config.routing_instances["VR1"]
    assert (vr.instance_type, vr.interfaces) == ("virtual-router", ("eth1", St0Unit(0)))
    (route,) = config.static_routes
    assert (route.routing_instance, str(route.prefix), route.next_hops) == (
        "VR1",
        "6.6.6.0/24",
        (St0Unit(0),),
    )
    psk = config.ike_policies["first_ikepol"].pre_shared_key
    assert psk is not None and psk.value == b"lc"  # a $9$ secret, decoded


def test_alarms(data_dir: Path) -> None:
    alarms = load(data_dir, "alarms.set").require().alarms
    assert alarms is not None
    assert (alarms.authentication, alarms.encryption_failures, alarms.decryption_failures) == (
        6,
        10,
        1,
    )
    assert (alarms.ike_phase1_failures, alarms.ike_phase2_failures, alarms.replay_attacks) == (
        10,
        1,
        1000,
    )
    assert alarms.self_tests == (
        "cryptographic-self-test",
        "non-cryptographic-self-test",
        "key-generation-self-test",
    )


def test_set_and_curly_forms_of_chapter_11_agree(data_dir: Path) -> None:
    from_set = load(data_dir, "route-based-chicago.set").require()
    from_curly = load(data_dir, "route-based-ikev2-chicago.conf").require()
    assert from_set.gateways["gw-chicago"].version == "v1-only"
    assert from_curly.gateways["gw-chicago"].version == "v2-only"
    assert from_set.vpns == from_curly.vpns
    assert from_set.ike_proposals == from_curly.ike_proposals
    assert from_set.st0_units == from_curly.st0_units
    assert from_set.static_routes == from_curly.static_routes
    assert from_set.security_policies == from_curly.security_policies


def test_spec_display_example_reprints_in_the_same_layout(data_dir: Path) -> None:
    """Spec §4.9: the curly writer prints the example's blocks line for line (the key aside)."""
    result = load(data_dir, "spec-4.9-display.conf")
    assert result.tree is not None
    text, _ = to_curly(result.tree, show_secrets=False)
    source = (data_dir / "spec-4.9-display.conf").read_text().splitlines()
    expected = [
        line for line in source[source.index("security {") :] if "external-interface" not in line
    ]
    written = [line for line in text.splitlines() if "external-interface" not in line]
    key_line = "            pre-shared-key ascii-text SECRET-DATA-REMOVED; ## SECRET-DATA"
    assert written == [key_line if "ascii-text" in line else line for line in expected]


def test_manual_ipv6_example(data_dir: Path) -> None:
    result = load(data_dir, "manual-ipv6.set")
    manual = result.require().vpns["vpn-sunnyvale"].manual
    assert manual is not None
    assert (str(manual.gateway), manual.spi, manual.protocol, manual.external_interface) == (
        "1212::1112",
        12435,
        "esp",
        "eth14",
    )
    assert [f"{d.location.line}: {d.path}: {d.message}" for d in result.diagnostics] == [
        "2: security ipsec vpn vpn-sunnyvale manual: not realised yet: manual SAs are "
        "installed only for route-based VPNs (bind-interface); this VPN stays down",
        "2: security ipsec vpn vpn-sunnyvale manual authentication algorithm: hmac-md5-96 is a "
        "legacy algorithm (weak); accepted for interoperability only",
        "2: security ipsec vpn vpn-sunnyvale: no bind-interface and no security policy tunnels "
        "to it: the VPN carries no traffic",
        "3: security ipsec vpn vpn-sunnyvale manual encryption algorithm: 3des-cbc is a legacy "
        "algorithm (weak); accepted for interoperability only",
    ]
