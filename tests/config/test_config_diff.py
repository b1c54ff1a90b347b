"""diff(old, new): what a reload must change, and what it must leave alone."""

from __future__ import annotations

import pytest

from xfrmctl.config import Config, diff, load_text

SECOND_VPN = """\
set security ike gateway GW2 ike-policy IKEPOL
set security ike gateway GW2 address 203.0.113.7
set security ike gateway GW2 external-interface eth0
set security ike gateway GW2 version v2-only
set security ipsec vpn VPN2 bind-interface st0.1
set security ipsec vpn VPN2 ike gateway GW2
set security ipsec vpn VPN2 ike ipsec-policy IPSECPOL2
set security ipsec policy IPSECPOL2 proposals P2
set interfaces st0 unit 1 family inet address 10.0.1.1/30
"""


@pytest.fixture
def two_vpns(base_set: str) -> str:
    return base_set + SECOND_VPN


def model(text: str) -> Config:
    return load_text(text, "d.set").require()


def test_identical_configs_have_no_diff(two_vpns: str) -> None:
    assert diff(model(two_vpns), model(two_vpns)).empty


def test_changing_one_vpn_leaves_the_other(two_vpns: str) -> None:
    old = model(two_vpns)
    new = model(two_vpns + "set security ipsec vpn VPN2 ike proxy-identity local 10.5.0.0/16\n")
    d = diff(old, new)
    assert d.vpns.changed_names() == ("VPN2",)
    (change,) = d.vpns.changed
    assert change.fields == ("ike",) and change.renegotiate
    assert d.unchanged_vpns(new) == ("VPN1",)
    assert not d.gateways and not d.st0_units and not d.routes and d.other == ()


def test_gateway_address_change_renegotiates_its_vpns_only(two_vpns: str) -> None:
    new = model(two_vpns.replace("203.0.113.7", "203.0.113.8"))
    d = diff(model(two_vpns), new)
    assert [(c.name, c.fields, c.renegotiate) for c in d.gateways.changed] == [
        ("GW2", ("addresses",), True)
    ]
    assert [(c.name, c.fields) for c in d.vpns.changed] == [("VPN2", ("gateway.addresses",))]
    assert d.unchanged_vpns(new) == ("VPN1",)


def test_ike_proposal_change_keeps_ipsec_sas(two_vpns: str) -> None:
    """Spec §2.22: a new IKE encryption algorithm does not delete existing IPsec SAs."""
    new = model(
        two_vpns.replace(
            "encryption-algorithm aes-256-cbc\nset security ike policy",
            "encryption-algorithm aes-128-cbc\nset security ike policy",
        )
    )
    d = diff(model(two_vpns), new)
    assert [(c.name, c.fields) for c in d.gateways.changed] == [
        ("GW", ("ike-policy",)),
        ("GW2", ("ike-policy",)),
    ]
    assert not d.vpns


def test_ipsec_proposal_change_renegotiates_users(two_vpns: str) -> None:
    """Spec §2.22: a new IPsec encryption algorithm deletes the SAs that use it."""
    new = model(two_vpns + "set security ipsec proposal P2 encryption-algorithm aes-128-cbc\n")
    d = diff(model(two_vpns), new)
    assert [(c.name, c.fields, c.renegotiate) for c in d.vpns.changed] == [
        ("VPN1", ("ipsec-policy",), True),
        ("VPN2", ("ipsec-policy",), True),
    ]


def test_pfs_change_renegotiates(two_vpns: str) -> None:
    new = model(
        two_vpns + "set security ipsec policy IPSECPOL2 perfect-forward-secrecy keys group19\n"
    )
    d = diff(model(two_vpns), new)
    assert d.vpns.changed_names() == ("VPN2",)


def test_monitor_and_dpd_apply_in_place(two_vpns: str) -> None:
    new = model(
        two_vpns
        + "set security ipsec vpn VPN2 vpn-monitor optimized\n"
        + "set security ike gateway GW dead-peer-detection interval 30\n"
    )
    d = diff(model(two_vpns), new)
    assert [(c.name, c.fields, c.renegotiate) for c in d.vpns.changed] == [
        ("VPN2", ("vpn_monitor",), False)
    ]
    assert [(c.name, c.fields, c.renegotiate) for c in d.gateways.changed] == [
        ("GW", ("dead_peer_detection",), False)
    ]
    assert d.unchanged_vpns(new) == ("VPN1", "VPN2")


def test_added_and_removed(base_set: str, two_vpns: str) -> None:
    d = diff(model(base_set), model(two_vpns))
    assert (d.vpns.added, d.gateways.added, d.st0_units.added) == (("VPN2",), ("GW2",), ("st0.1",))
    back = diff(model(two_vpns), model(base_set))
    assert (back.vpns.removed, back.gateways.removed) == (("VPN2",), ("GW2",))


def test_if_id_change_renegotiates_bound_vpn(two_vpns: str) -> None:
    new = model(two_vpns + "set interfaces st0 unit 1 if-id 77\n")
    d = diff(model(two_vpns), new)
    assert [(c.name, c.fields, c.renegotiate) for c in d.st0_units.changed] == [
        ("st0.1", ("if_id",), True)
    ]
    assert [(c.name, c.fields) for c in d.vpns.changed] == [("VPN2", ("bind-interface.if_id",))]


def test_routes_and_globals(two_vpns: str) -> None:
    new = model(
        two_vpns.replace("192.168.2.0/24 next-hop st0.0", "192.168.2.0/24 next-hop st0.1")
        + "set security ipsec vpn-monitor-options interval 20\n"
        + "set routing-options static route 192.168.9.0/24 next-hop st0.1\n"
    )
    d = diff(model(two_vpns), new)
    assert d.routes.added == ("192.168.9.0/24",)
    assert [(c.name, c.fields) for c in d.routes.changed] == [("192.168.2.0/24", ("next_hops",))]
    assert d.other == ("vpn-monitor-options",)
    assert not d.vpns
