"""Defaults from the spec are filled into the model when a statement is absent."""

from __future__ import annotations

from xfrmctl.config import load_text

MINIMAL = """\
set security ike proposal P1 authentication-method pre-shared-keys
set security ike proposal P1 dh-group group14
set security ike proposal P1 authentication-algorithm sha-256
set security ike proposal P1 encryption-algorithm aes-128-cbc
set security ike policy POL proposals P1
set security ike policy POL pre-shared-key hexadecimal 0a0b0c
set security ike gateway GW ike-policy POL
set security ike gateway GW address 192.0.2.1
set security ike gateway GW external-interface eth0
set security ipsec proposal P2 authentication-algorithm hmac-sha1-96
set security ipsec proposal P2 encryption-algorithm aes-128-cbc
set security ipsec policy IP proposals P2
set security ipsec vpn V bind-interface st0.3
set security ipsec vpn V ike gateway GW
set security ipsec vpn V ike ipsec-policy IP
set security ipsec vpn V ike proxy-identity local 10.1.0.0/16
set security ipsec vpn V vpn-monitor
set security flow tcp-mss ipsec-vpn
set security alarms potential-violation ike-phase1-failures
set interfaces st0 unit 3
"""


def test_defaults_filled_in() -> None:
    result = load_text(MINIMAL, "m.set")
    config = result.config
    assert config is not None, [str(d) for d in result.errors]
    assert config.ike_proposals["P1"].lifetime_seconds == 28800
    assert config.ike_policies["POL"].mode == "main"
    psk = config.ike_policies["POL"].pre_shared_key
    assert psk is not None and psk.value == b"\x0a\x0b\x0c"
    gw = config.gateways["GW"]
    assert gw.version == "v1-only"
    assert gw.nat_keepalive == 5
    assert gw.nat_traversal is True
    assert gw.dead_peer_detection is None
    p2 = config.ipsec_proposals["P2"]
    assert (p2.protocol, p2.lifetime_seconds, p2.lifetime_kilobytes) == ("esp", 3600, None)
    assert config.ipsec_policies["IP"].pfs_group is None
    vpn = config.vpns["V"]
    assert vpn.df_bit == "clear"
    assert vpn.establish_tunnels == "on-traffic"
    assert vpn.ike is not None
    assert vpn.ike.anti_replay is True and vpn.ike.replay_window == 64
    assert vpn.ike.install_interval == 1
    assert vpn.ike.idle_time is None
    proxy = vpn.ike.proxy_identity
    assert proxy is not None
    assert (str(proxy.local), str(proxy.remote), proxy.service) == (
        "10.1.0.0/16",
        "0.0.0.0/0",
        "any",
    )
    assert vpn.vpn_monitor is not None and vpn.vpn_monitor.optimized is False
    assert (config.vpn_monitor_options.interval, config.vpn_monitor_options.threshold) == (10, 10)
    assert config.tcp_mss_ipsec_vpn == 1320
    assert config.alarms is not None and config.alarms.ike_phase1_failures == 20
    assert config.alarms.decryption_failures is None
    unit = config.st0_units[3]
    assert (unit.name, unit.if_id, unit.multipoint) == ("st0.3", 4, False)


def test_no_anti_replay_means_window_zero() -> None:
    text = MINIMAL + "set security ipsec vpn V ike no-anti-replay\n"
    vpn = load_text(text, "m.set").require().vpns["V"]
    assert vpn.ike is not None and (vpn.ike.anti_replay, vpn.ike.replay_window) == (False, 0)


def test_configured_if_id() -> None:
    text = MINIMAL + "set interfaces st0 unit 3 if-id 300\n"
    assert load_text(text, "m.set").require().st0_units[3].if_id == 300


def test_host_bits_of_prefixes_are_cleared() -> None:
    text = MINIMAL + "set routing-options static route 10.9.9.9/24 next-hop st0.3\n"
    route = load_text(text, "m.set").require().static_routes[0]
    assert str(route.prefix) == "10.9.9.0/24"


def test_dead_peer_detection_defaults() -> None:
    text = MINIMAL.replace("set security ipsec vpn V vpn-monitor\n", "") + (
        "set security ike gateway GW dead-peer-detection\n"
    )
    gw = load_text(text, "m.set").require().gateways["GW"]
    assert gw.dead_peer_detection is not None
    assert (gw.dead_peer_detection.interval, gw.dead_peer_detection.threshold) == (10, 5)
    assert gw.dead_peer_detection.mode == "optimized"
