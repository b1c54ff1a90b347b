"""Junos `set` files: statements, context commands, exact diagnostics with line numbers."""

from __future__ import annotations

import ipaddress

from xfrmctl.config import load_text
from xfrmctl.config.values import St0Unit


def messages(text: str, file: str = "t.set") -> list[str]:
    return [str(d) for d in load_text(text, file).diagnostics]


def test_base_loads_without_diagnostics(base_set: str) -> None:
    result = load_text(base_set, "t.set")
    assert result.diagnostics == []
    config = result.require()
    assert list(config.gateways) == ["GW"]
    gw = config.gateways["GW"]
    assert gw.addresses == (ipaddress.ip_address("198.51.100.2"),)
    assert gw.external_interface == "eth0"
    assert gw.version == "v2-only"
    vpn = config.vpns["VPN1"]
    assert vpn.bind_interface == St0Unit(0)
    assert vpn.ike is not None and vpn.ike.gateway == "GW"
    assert config.st0_units[0].inet == (ipaddress.ip_interface("10.0.0.1/30"),)
    assert config.st0_units[0].if_id == 1
    route = config.static_routes[0]
    assert route.prefix == ipaddress.ip_network("192.168.2.0/24")
    assert route.next_hops == (St0Unit(0),)


def test_unknown_keyword_lists_what_is_allowed(base_set: str) -> None:
    text = base_set + "set security ike proposal P1 lifetime 300\n"
    assert messages(text) == [
        "t.set:23: error: security ike proposal P1: unknown statement 'lifetime' (did you mean "
        "'lifetime-seconds'?); expected one of: description, authentication-method, dh-group, "
        "authentication-algorithm, encryption-algorithm, lifetime-seconds"
    ]


def test_value_out_of_range(base_set: str) -> None:
    text = base_set + "set security ike proposal P1 lifetime-seconds 30\n"
    assert messages(text) == [
        "t.set:23: error: security ike proposal P1 lifetime-seconds 30: out of range 180..86400"
    ]


def test_bad_keyword_value(base_set: str) -> None:
    text = base_set + "set security ipsec vpn VPN1 df-bit sometimes\n"
    assert messages(text) == [
        "t.set:23: error: security ipsec vpn VPN1 df-bit sometimes: must be one of: clear, "
        "copy, set"
    ]


def test_unknown_algorithm_lists_registry_keywords(base_set: str) -> None:
    text = base_set.replace("dh-group group14", "dh-group group99")
    (line,) = messages(text)
    assert line.startswith(
        "t.set:2: error: security ike proposal P1 dh-group group99: must be one of: group1, "
        "group2, group5, group14"
    )


def test_missing_value(base_set: str) -> None:
    text = base_set + "set security ipsec vpn VPN1 ike idle-time\n"
    assert messages(text) == [
        "t.set:23: error: security ipsec vpn VPN1 ike idle-time: missing value (a number in "
        "range 60..999999)"
    ]


def test_missing_reference_errors_are_all_reported(base_set: str) -> None:
    text = base_set.replace("ike-policy IKEPOL", "ike-policy NOPE").replace(
        "ipsec-policy IPSECPOL", "ipsec-policy NOPE2"
    )
    assert messages(text) == [
        "t.set:8: error: security ike gateway GW ike-policy: IKE policy 'NOPE' is not defined",
        "t.set:19: error: security ipsec vpn VPN1 ike ipsec-policy: IPsec policy 'NOPE2' is "
        "not defined",
    ]


def test_several_errors_in_file_order(base_set: str) -> None:
    text = base_set + (
        "set security ike proposal P1 lifetime-seconds 99999\n"
        "set security ike gateway GW nat-keepalive 0\n"
        "set bogus statement\n"
    )
    lines = messages(text)
    assert lines == [
        "t.set:23: error: security ike proposal P1 lifetime-seconds 99999: out of range 180..86400",
        "t.set:24: error: security ike gateway GW nat-keepalive 0: out of range 1..300",
        "t.set:25: error: unknown statement 'bogus'; expected one of: xfrmctl, security, "
        "interfaces, routing-options, routing-instances, system, protocols, policy-options, "
        "applications, access, firewall, snmp, services, chassis, vlans, bridge-domains, "
        "ethernet-switching-options, switch-options, forwarding-options, class-of-service, "
        "event-options, poe, virtual-chassis, schedulers, logical-systems, version",
    ]


def test_chained_leaves_on_one_line(base_set: str) -> None:
    text = base_set + "set security ike gateway GW dead-peer-detection interval 20 threshold 3\n"
    gw = load_text(text, "t.set").require().gateways["GW"]
    assert gw.dead_peer_detection is not None
    assert (gw.dead_peer_detection.interval, gw.dead_peer_detection.threshold) == (20, 3)
    assert gw.dead_peer_detection.mode == "optimized"


def test_edit_up_top_context() -> None:
    text = (
        "edit security ike proposal P1\n"
        "set authentication-method pre-shared-keys\n"
        "set dh-group group14\n"
        "up 2\n"
        "set proposal P2 dh-group group19\n"
        "top\n"
        "set security ike proposal P3 dh-group group20\n"
    )
    result = load_text(text, "t.set")
    assert result.tree is not None
    config_tree = result.tree.block("security")
    assert config_tree is not None
    ike = config_tree.block("ike")
    assert ike is not None
    assert [str(k) for k in ike.named("proposal")] == ["P1", "P2", "P3"]
    assert ike.named("proposal")["P1"].value("dh-group") == "group14"


def test_delete_and_deactivate(base_set: str) -> None:
    text = base_set + (
        "delete routing-options static route 192.168.2.0/24\n"
        "deactivate security ipsec vpn VPN1 establish-tunnels\n"
    )
    result = load_text(text, "t.set")
    config = result.require()
    assert config.static_routes == ()
    assert config.vpns["VPN1"].establish_tunnels == "on-traffic"
    assert [str(d) for d in result.diagnostics] == [
        "t.set:24: warning: security ipsec vpn VPN1 establish-tunnels: inactive "
        "(deactivated), not applied"
    ]


def test_unknown_command() -> None:
    assert messages("sett security ike\n") == [
        "t.set:1: error: unknown command 'sett'; expected set, delete, deactivate, activate, "
        "insert, edit, up or top"
    ]


def test_bracket_list_and_repeated_values(base_set: str) -> None:
    text = base_set + (
        "set security ike gateway GW address [ 198.51.100.3 198.51.100.4 ]\n"
        "set security ike gateway GW address 198.51.100.3\n"
    )
    gw = load_text(text, "t.set").require().gateways["GW"]
    assert [str(a) for a in gw.addresses] == ["198.51.100.2", "198.51.100.3", "198.51.100.4"]


def test_too_many_proposals(base_set: str) -> None:
    text = base_set + "set security ike policy IKEPOL proposals [ P1 A B C D ]\n"
    assert (
        "t.set:23: error: security ike policy IKEPOL proposals: at most 4 values allowed"
        in messages(text)
    )


def test_unterminated_quote_and_list() -> None:
    assert messages('set security ike policy X description "open\n') == [
        "t.set:1: error: unterminated quoted string (column 39)"
    ]
    assert messages("set security ike gateway G address [ 1.1.1.1\n") == [
        "t.set:1: error: missing ']' after the list at column 36"
    ]
