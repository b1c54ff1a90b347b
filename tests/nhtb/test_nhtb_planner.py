"""Planner: routes + NHTB table + VPN states -> the exact XFRM policy set and route report."""

from __future__ import annotations

import ipaddress

from tests.nhtb.nhtb_fixtures import (
    BASE,
    HUB,
    REQ_A,
    REQ_B,
    REQ_C,
    UNIT,
    out,
    route,
    table,
    vpns,
    wildcards,
)
from xfrmctl.netlink.codec import XfrmPolicy
from xfrmctl.netlink.port import RouteInfo
from xfrmctl.nhtb.planner import (
    PRIORITY_BASE,
    HostBinding,
    MultipointUnit,
    Plan,
    RouteStatus,
    VpnState,
    plan,
    policy_key,
    policy_priority,
    route_changes,
)
from xfrmctl.nhtb.table import NhtbTable, StaticBinding


def _sorted(pols: list[XfrmPolicy]) -> list[XfrmPolicy]:
    return sorted(pols, key=policy_key)


def _outs(p: Plan) -> list[tuple[str, str, int]]:
    return [
        (pol.sel.dst, pol.tmpls[0].daddr if pol.tmpls else "", pol.priority)
        for pol in p.policies
        if pol.dir == 1
    ]


def test_priority_formula() -> None:
    assert PRIORITY_BASE == BASE == 0x58000 + 0x400
    assert [policy_priority(n) for n in (0, 8, 24, 32, 64, 128)] == [
        0x58400,
        0x583F8,
        0x583E8,
        0x583E0,
        0x583C0,
        0x58380,
    ]


def test_hub_with_three_spokes_exact_policy_set() -> None:
    routes = [
        route("198.18.1.0/24", "10.11.11.11"),
        route("198.18.2.0/24", "10.11.11.12"),
        route("198.18.3.0/24", "10.11.11.13"),
        route("2001:db8:1::/48", "2001:db8:ff::11"),
        RouteInfo(dst="203.0.113.0/24", dev="eth0", via="192.0.2.254"),  # not a tunnel route
    ]
    p = plan(units=[UNIT], routes=routes, table=table(), vpns=vpns())
    expected = [
        out("198.18.1.0/24", "192.0.2.11", REQ_A),
        out("198.18.2.0/24", "192.0.2.12", REQ_B),
        out("198.18.3.0/24", "192.0.2.13", REQ_C),
        out("10.11.11.11/32", "192.0.2.11", REQ_A),
        out("10.11.11.12/32", "192.0.2.12", REQ_B),
        out("10.11.11.13/32", "192.0.2.13", REQ_C),
        out("2001:db8:1::/48", "192.0.2.11", REQ_A),
        out("2001:db8:ff::11/128", "192.0.2.11", REQ_A),
        *wildcards(),
    ]
    assert list(p.policies) == _sorted(expected)
    assert p.counts() == {RouteStatus.ACTIVE: 4}
    assert p.if_ids == frozenset({5})
    assert [(h.vpn, str(h.next_hop)) for h in p.hosts] == [
        ("vpn-a", "10.11.11.11"),
        ("vpn-b", "10.11.11.12"),
        ("vpn-c", "10.11.11.13"),
        ("vpn-a", "2001:db8:ff::11"),
    ]


def test_longest_prefix_wins_by_priority() -> None:
    routes = [
        route("198.18.0.0/16", "10.11.11.11"),
        route("198.18.2.0/24", "10.11.11.12"),
        route("198.18.2.128/25", "10.11.11.13"),
        route("0.0.0.0/0", "10.11.11.11"),
    ]
    p = plan(units=[UNIT], routes=routes, table=table(), vpns=vpns())
    by_dst = {d: (remote, prio) for d, remote, prio in _outs(p)}
    assert by_dst["0.0.0.0/0"] == ("192.0.2.11", BASE)
    assert by_dst["198.18.0.0/16"] == ("192.0.2.11", BASE - 16)
    assert by_dst["198.18.2.0/24"] == ("192.0.2.12", BASE - 24)
    assert by_dst["198.18.2.128/25"] == ("192.0.2.13", BASE - 25)
    # A packet to 198.18.2.200 matches /0, /16, /24 and /25: XFRM takes the lowest value, /25.
    dst = ipaddress.ip_address("198.18.2.200")
    matching = {d: prio for d, (_, prio) in by_dst.items() if dst in ipaddress.ip_network(d)}
    assert sorted(matching) == ["0.0.0.0/0", "198.18.0.0/16", "198.18.2.0/24", "198.18.2.128/25"]
    assert min(matching, key=lambda d: matching[d]) == "198.18.2.128/25"


def test_overlapping_routes_same_prefix_preferred_metric_and_backup() -> None:
    routes = [
        route("198.18.9.0/24", "10.11.11.12", metric=200),
        route("198.18.9.0/24", "10.11.11.11", metric=100),
    ]
    p = plan(units=[UNIT], routes=routes, table=table(), vpns=vpns())
    assert ("198.18.9.0/24", "192.0.2.11", BASE - 24) in _outs(p)
    assert [(o.route.via, o.status, o.vpn) for o in p.routes] == [
        ("10.11.11.11", RouteStatus.ACTIVE, "vpn-a"),
        ("10.11.11.12", RouteStatus.SHADOWED, "vpn-b"),
    ]
    # The preferred VPN goes down: the backup's VPN carries the prefix (no duplicate selector).
    down = plan(units=[UNIT], routes=routes, table=table(), vpns=vpns(a=False))
    assert ("198.18.9.0/24", "192.0.2.12", BASE - 24) in _outs(down)
    assert [d for d, _, _ in _outs(down)].count("198.18.9.0/24") == 1
    assert [(o.route.via, o.status, o.carried_by) for o in down.routes] == [
        ("10.11.11.11", RouteStatus.VPN_DOWN, "vpn-b"),
        ("10.11.11.12", RouteStatus.ACTIVE, "vpn-b"),
    ]
    assert down.dead_routes() == ()


def test_next_hop_without_entry_no_policy_counted() -> None:
    routes = [
        route("198.18.1.0/24", "10.11.11.11"),
        route("198.18.7.0/24", "10.11.11.77"),
        route("198.18.8.0/24", "10.11.11.78"),
    ]
    p = plan(units=[UNIT], routes=routes, table=table(), vpns=vpns())
    dsts = [d for d, _, _ in _outs(p)]
    assert "198.18.7.0/24" not in dsts and "198.18.8.0/24" not in dsts
    assert "10.11.11.77/32" not in dsts
    assert p.counts() == {RouteStatus.ACTIVE: 1, RouteStatus.NO_ENTRY: 2}
    assert [(o.route.dst, o.status.value) for o in p.dead_routes()] == [
        ("198.18.7.0/24", "no next-hop tunnel binding for the next hop"),
        ("198.18.8.0/24", "no next-hop tunnel binding for the next hop"),
    ]


def test_static_beats_auto_in_the_plan() -> None:
    t = table()
    # vpn-c's peer claims 10.11.11.11, which the configuration binds to vpn-a.
    t.learn("st0.0", "vpn-c", "10.11.11.11")
    p = plan(units=[UNIT], routes=[route("198.18.1.0/24", "10.11.11.11")], table=t, vpns=vpns())
    by_dst = {d: remote for d, remote, _ in _outs(p)}
    assert by_dst["198.18.1.0/24"] == "192.0.2.11"
    assert by_dst["10.11.11.11/32"] == "192.0.2.11"
    assert "10.11.11.13/32" not in by_dst  # vpn-c's address moved to the shadowed one


def test_auto_entry_routes_and_static_without_learning() -> None:
    t = NhtbTable()
    t.set_static([StaticBinding("st0.0", "10.11.11.11", "vpn-a")])
    routes = [route("198.18.1.0/24", "10.11.11.11"), route("198.18.2.0/24", "10.11.11.12")]
    p = plan(units=[UNIT], routes=routes, table=t, vpns=vpns())
    assert p.counts() == {RouteStatus.ACTIVE: 1, RouteStatus.NO_ENTRY: 1}
    assert t.learn("st0.0", "vpn-b", "10.11.11.12").value == "learned"
    p2 = plan(units=[UNIT], routes=routes, table=t, vpns=vpns())
    assert p2.counts() == {RouteStatus.ACTIVE: 2}
    assert route_changes(p, p2).gained == (("st0.0", "198.18.2.0/24", "10.11.11.12", "vpn-b"),)


def test_vpn_down_removes_only_its_policies_and_up_restores() -> None:
    routes = [
        route("198.18.1.0/24", "10.11.11.11"),
        route("198.18.2.0/24", "10.11.11.12"),
        route("198.18.22.0/24", "10.11.11.12"),
        route("198.18.3.0/24", "10.11.11.13"),
    ]
    t = table()
    up = plan(units=[UNIT], routes=routes, table=t, vpns=vpns())
    down = plan(units=[UNIT], routes=routes, table=t, vpns=vpns(b=False))
    gone = [p for p in up.policies if p not in down.policies]
    assert _sorted(gone) == _sorted(
        [
            out("198.18.2.0/24", "192.0.2.12", REQ_B),
            out("198.18.22.0/24", "192.0.2.12", REQ_B),
            out("10.11.11.12/32", "192.0.2.12", REQ_B),
        ]
    )
    assert all(p in up.policies for p in down.policies)  # others untouched
    change = route_changes(up, down)
    assert change.lost == (
        ("st0.0", "198.18.2.0/24", "10.11.11.12", "vpn-b"),
        ("st0.0", "198.18.22.0/24", "10.11.11.12", "vpn-b"),
    )
    assert change.gained == ()
    assert [(o.route.dst, o.status) for o in down.dead_routes()] == [
        ("198.18.2.0/24", RouteStatus.VPN_DOWN),
        ("198.18.22.0/24", RouteStatus.VPN_DOWN),
    ]
    # Auto entry gone with the VPN (delete): same policy set as down, reason NO_ENTRY.
    t.forget_vpn("vpn-b")
    deleted = plan(units=[UNIT], routes=routes, table=t, vpns=vpns(b=False))
    assert deleted.policies == down.policies
    assert deleted.counts() == {RouteStatus.ACTIVE: 2, RouteStatus.NO_ENTRY: 2}
    # Back up and re-learned: exactly the original set.
    t.learn("st0.0", "vpn-b", "10.11.11.12")
    again = plan(units=[UNIT], routes=routes, table=t, vpns=vpns())
    assert again.policies == up.policies
    assert route_changes(down, again).gained == change.lost


def test_ipv6_prefixes_and_next_hops() -> None:
    t = NhtbTable()
    t.learn("st0.0", "vpn-b", "fe80::12")
    t.learn("st0.0", "vpn-c", "2001:db8:ff::13")
    v6 = [
        VpnState("vpn-b", "st0.0", True, "2001:db8::1", "2001:db8::12", REQ_B),
        VpnState("vpn-c", "st0.0", True, HUB, "192.0.2.13", REQ_C),
    ]
    routes = [
        route("2001:db8:2::/48", "fe80::12"),
        route("2001:db8:3::/48", "2001:db8:ff::13"),
        route("2001:db8:3:1::/64", "fe80::12"),
        route("::/0", "2001:db8:ff::13"),
        route("198.18.3.0/24", "2001:db8:ff::13"),  # IPv4 via IPv6: not bound
    ]
    p = plan(units=[UNIT], routes=routes, table=t, vpns=v6)
    got = {(pol.sel.dst, pol.priority, pol.tmpls[0].daddr, pol.tmpls[0].family) for pol in
           p.policies if pol.dir == 1 and pol.tmpls}  # fmt: skip
    assert got == {
        ("2001:db8:2::/48", BASE - 48, "2001:db8::12", 10),
        ("2001:db8:3::/48", BASE - 48, "192.0.2.13", 2),
        ("2001:db8:3:1::/64", BASE - 64, "2001:db8::12", 10),
        ("::/0", BASE, "192.0.2.13", 2),
        ("fe80::12/128", BASE - 128, "2001:db8::12", 10),
        ("2001:db8:ff::13/128", BASE - 128, "192.0.2.13", 2),
    }
    assert p.counts() == {RouteStatus.ACTIVE: 4, RouteStatus.FAMILY_MISMATCH: 1}


def test_explicit_host_route_overrides_next_hop_policy() -> None:
    routes = [route("10.11.11.12/32", "10.11.11.11")]
    p = plan(units=[UNIT], routes=routes, table=table(), vpns=vpns())
    by_dst = {d: remote for d, remote, _ in _outs(p)}
    assert by_dst["10.11.11.12/32"] == "192.0.2.11"
    assert HostBinding("st0.0", ipaddress.ip_address("10.11.11.12"), "vpn-b") not in p.hosts


def test_gatewayless_route_on_multipoint() -> None:
    routes = [route("198.18.5.0/24", None)]
    p = plan(units=[UNIT], routes=routes, table=table(), vpns=vpns())
    assert p.counts() == {RouteStatus.AMBIGUOUS: 1}
    single = [VpnState("vpn-a", "st0.0", True, HUB, "192.0.2.11", REQ_A)]
    p1 = plan(units=[UNIT], routes=routes, table=table(), vpns=single)
    assert ("198.18.5.0/24", "192.0.2.11", BASE - 24) in _outs(p1)


def test_bad_and_misbound_routes_are_reported() -> None:
    t = table()
    t.set_static([StaticBinding("st0.0", "10.11.11.11", "vpn-x"), StaticBinding(
        "st0.0", "10.11.11.14", "vpn-elsewhere")])  # fmt: skip
    vs = [*vpns(), VpnState("vpn-elsewhere", "st0.1", True, HUB, "192.0.2.14", 0x58000014)]
    routes = [
        route("198.18.1.0/24", "10.11.11.11"),
        route("198.18.4.0/24", "10.11.11.14"),
        route("not-a-prefix", "10.11.11.12"),
        route("198.18.6.0/24", "bogus"),
    ]
    p = plan(units=[UNIT], routes=routes, table=t, vpns=vs)
    assert p.counts() == {
        RouteStatus.VPN_UNKNOWN: 1,
        RouteStatus.VPN_NOT_BOUND: 1,
        RouteStatus.INVALID: 2,
    }
    assert [d for d, _, _ in _outs(p)] == ["10.11.11.12/32", "10.11.11.13/32"]


def test_two_units_keep_separate_if_ids() -> None:
    u1 = MultipointUnit("st0.1", 6, families=(2,))
    t = table()
    t.set_static([StaticBinding("st0.1", "10.12.12.11", "vpn-z")])
    vs = [*vpns(), VpnState("vpn-z", "st0.1", True, HUB, "192.0.2.31", 0x58000031)]
    routes = [route("198.18.1.0/24", "10.12.12.11", dev="st0.1")]
    p = plan(units=[UNIT, u1], routes=routes, table=t, vpns=vs)
    assert p.if_ids == frozenset({5, 6})
    mine = [pol for pol in p.policies if pol.if_id == 6]
    assert mine == _sorted(
        [
            out("198.18.1.0/24", "192.0.2.31", 0x58000031, if_id=6),
            out("10.12.12.11/32", "192.0.2.31", 0x58000031, if_id=6),
            *wildcards(6)[:2],
        ]
    )


def test_input_order_does_not_matter() -> None:
    routes = [
        route("198.18.1.0/24", "10.11.11.11"),
        route("198.18.1.0/24", "10.11.11.12", metric=5),
        route("198.18.2.0/24", "10.11.11.12"),
        route("198.18.3.0/24", "10.11.11.99"),
    ]
    a = plan(units=[UNIT], routes=routes, table=table(), vpns=vpns())
    b = plan(units=[UNIT], routes=routes[::-1], table=table(), vpns=vpns()[::-1])
    assert a == b
