"""Random route sets, tables and VPN states: the plan is deterministic, has no duplicate
selectors, and syncing any installed set to it converges in one diff."""

from __future__ import annotations

import asyncio
import ipaddress
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from xfrmctl.netlink.codec import XfrmPolicy
from xfrmctl.netlink.fake import FakeKernel
from xfrmctl.netlink.port import RouteInfo
from xfrmctl.nhtb.planner import (
    MultipointUnit,
    Plan,
    RouteStatus,
    VpnState,
    diff,
    plan,
    policy_key,
)
from xfrmctl.nhtb.table import NhtbTable, StaticBinding

UNITS = [MultipointUnit("st0.0", 5), MultipointUnit("st0.1", 6)]
VPN_NAMES = [f"vpn-{i}" for i in range(6)]
NEXT_HOPS = [*(f"10.11.11.{i}" for i in range(1, 9)), "2001:db8:ff::1", "2001:db8:ff::2"]
PREFIXES = [
    "0.0.0.0/0",
    "198.18.0.0/16",
    "198.18.1.0/24",
    "198.18.1.128/25",
    "198.18.2.0/24",
    "10.11.11.3/32",
    "::/0",
    "2001:db8:1::/48",
    "2001:db8:1:1::/64",
]

Scenario = tuple[list[RouteInfo], NhtbTable, list[VpnState]]


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    binds = {v: draw(st.sampled_from(["st0.0", "st0.1"])) for v in VPN_NAMES}
    vpns = [
        VpnState(v, binds[v], draw(st.booleans()), "192.0.2.1", f"192.0.2.{20 + i}", 0x58000020 + i)
        for i, v in enumerate(VPN_NAMES)
    ]
    table = NhtbTable()
    static_keys = draw(
        st.lists(st.tuples(st.sampled_from(["st0.0", "st0.1"]), st.sampled_from(NEXT_HOPS)),
                 unique=True, max_size=6)
    )  # fmt: skip
    table.set_static(
        [StaticBinding(u, nh, draw(st.sampled_from(VPN_NAMES))) for u, nh in static_keys]
    )
    for _ in range(draw(st.integers(0, 6))):
        v = draw(st.sampled_from(VPN_NAMES))
        table.learn(binds[v], v, draw(st.sampled_from(NEXT_HOPS)))
    routes = draw(
        st.lists(
            st.builds(
                RouteInfo,
                dst=st.sampled_from(PREFIXES),
                dev=st.sampled_from(["st0.0", "st0.1", "eth0"]),
                via=st.one_of(st.none(), st.sampled_from(NEXT_HOPS)),
                metric=st.integers(0, 3),
            ),
            max_size=25,
        )
    )
    return routes, table, vpns


def _plan(s: Scenario, shuffle: random.Random | None = None) -> Plan:
    routes, table, vpns = s
    routes, vpns, units = list(routes), list(vpns), list(UNITS)
    if shuffle is not None:
        shuffle.shuffle(routes)
        shuffle.shuffle(vpns)
        shuffle.shuffle(units)
    return plan(units=units, routes=routes, table=table, vpns=vpns)


def _installed(fk: FakeKernel) -> list[XfrmPolicy]:
    return asyncio.run(fk.list_policies())


def _state(pols: list[XfrmPolicy] | tuple[XfrmPolicy, ...]) -> set[tuple[object, ...]]:
    return {(policy_key(p), p.priority, repr(p.tmpls)) for p in pols}


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_deterministic_and_unique(s: Scenario, rnd: random.Random) -> None:
    a = _plan(s)
    assert _plan(s, rnd) == a
    keys = [policy_key(p) for p in a.policies]
    assert len(keys) == len(set(keys))
    assert keys == sorted(keys)
    assert len(a.routes) == sum(1 for r in s[0] if r.dev in ("st0.0", "st0.1"))


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_every_active_route_has_its_vpn_policy(s: Scenario) -> None:
    p = _plan(s)
    vpn_remote = {v.name: v.remote for v in s[2]}
    unit_if = {u.name: u.if_id for u in UNITS}
    outs = {
        (pol.if_id, pol.sel.dst): pol.tmpls[0].daddr
        for pol in p.policies
        if pol.dir == 1 and pol.tmpls
    }
    for o in p.routes:
        if o.status is RouteStatus.ACTIVE:
            net = ipaddress.ip_network(o.route.dst)
            assert outs[(unit_if[o.route.dev or ""], str(net))] == vpn_remote[o.vpn or ""]
        if o.carried_by is not None:
            assert o.status in (RouteStatus.ACTIVE, RouteStatus.SHADOWED) or o.vpn != o.carried_by


@settings(max_examples=60, deadline=None)
@given(scenarios(), scenarios())
def test_apply_then_replan_yields_no_ops_and_transitions_converge(a: Scenario, b: Scenario) -> None:
    fk = FakeKernel()
    pa = _plan(a)
    ops = diff(pa, _installed(fk))
    assert len(ops) == len(pa.policies)
    assert asyncio.run(fk.apply(ops)) == [None] * len(ops)
    assert diff(_plan(a), _installed(fk)) == ()
    assert _state(_installed(fk)) == _state(pa.policies)
    pb = _plan(b)
    ops = diff(pb, _installed(fk))
    assert asyncio.run(fk.apply(ops)) == [None] * len(ops)
    assert _state(_installed(fk)) == _state(pb.policies)
    assert diff(pb, _installed(fk)) == ()
