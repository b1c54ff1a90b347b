"""NhtbSync: events in (config, routes, VPN up/down), batched ops out, against the fake kernel."""

from __future__ import annotations

import asyncio
import ipaddress

from tests.nhtb.nhtb_fixtures import REQ_A, REQ_B, UNIT, out, route, wildcards
from xfrmctl.netlink.fake import FakeKernel
from xfrmctl.netlink.port import AddPolicy, DeletePolicy, KernelOp, RouteEvent
from xfrmctl.nhtb.planner import MultipointUnit, RouteStatus, policy_key
from xfrmctl.nhtb.sync import NhtbSync
from xfrmctl.nhtb.table import LearnOutcome, StaticBinding

VPN_UNITS = {"vpn-a": "st0.0", "vpn-b": "st0.0"}
STATICS = [StaticBinding("st0.0", "10.11.11.11", "vpn-a")]


def _run(fk: FakeKernel, s: NhtbSync) -> tuple[KernelOp, ...]:
    async def go() -> tuple[KernelOp, ...]:
        ops = s.sync(await fk.list_policies())
        assert await fk.apply(ops) == [None] * len(ops)
        return ops

    return asyncio.run(go())


def _hub() -> tuple[FakeKernel, NhtbSync]:
    fk, s = FakeKernel(), NhtbSync(batch_delay=0.2)
    s.configure([UNIT], STATICS, VPN_UNITS, now=0.0)
    s.set_routes(
        [route("198.18.1.0/24", "10.11.11.11"), route("198.18.2.0/24", "10.11.11.12")], now=0.0
    )
    return fk, s


def test_batching_window() -> None:
    _, s = _hub()
    assert s.next_due() == 0.2
    assert not s.due(0.1)
    assert s.due(0.2)


def test_hub_lifecycle() -> None:
    fk, s = _hub()
    assert _run(fk, s) == tuple(AddPolicy(p) for p in sorted(wildcards(), key=policy_key))
    assert s.last_plan.counts() == {RouteStatus.VPN_DOWN: 1, RouteStatus.NO_ENTRY: 1}
    assert s.next_due() is None

    # vpn-a up (Static), vpn-b up and its peer advertises 10.11.11.12 (Auto).
    s.vpn_up("vpn-a", local="192.0.2.1", remote="192.0.2.11", reqid=REQ_A, now=1.0)
    got = s.vpn_up(
        "vpn-b",
        local="192.0.2.1",
        remote="192.0.2.12",
        reqid=REQ_B,
        learned=[ipaddress.ip_address("10.11.11.12")],
        now=1.05,
    )
    assert got == [(ipaddress.ip_address("10.11.11.12"), LearnOutcome.LEARNED)]
    assert s.next_due() == 1.2
    assert _run(fk, s) == (
        AddPolicy(out("10.11.11.11/32", "192.0.2.11", REQ_A)),
        AddPolicy(out("10.11.11.12/32", "192.0.2.12", REQ_B)),
        AddPolicy(out("198.18.1.0/24", "192.0.2.11", REQ_A)),
        AddPolicy(out("198.18.2.0/24", "192.0.2.12", REQ_B)),
    )
    assert [e[3] for e in s.last_change.gained] == ["vpn-a", "vpn-b"]

    # ip route add 198.18.3.0/24 via 10.11.11.12 dev st0.0 onlink; a route on eth0 is ignored.
    s.route_event(RouteEvent(True, route("198.18.3.0/24", "10.11.11.12")), now=2.0)
    s.route_event(RouteEvent(True, route("203.0.113.0/24", "192.0.2.254", dev="eth0")), now=2.0)
    assert _run(fk, s) == (AddPolicy(out("198.18.3.0/24", "192.0.2.12", REQ_B)),)
    s.route_event(RouteEvent(False, route("198.18.3.0/24", "10.11.11.12")), now=3.0)
    pol = out("198.18.3.0/24", "192.0.2.12", REQ_B)
    assert _run(fk, s) == (DeletePolicy(sel=pol.sel, dir=1, if_id=5),)

    # vpn-b's peer dies (DPD, SAs deleted): its policies and its Auto entry go; vpn-a untouched.
    s.vpn_down("vpn-b", sas_gone=True, now=4.0)
    ops = _run(fk, s)
    assert {o.sel.dst for o in ops if isinstance(o, DeletePolicy)} == {
        "10.11.11.12/32",
        "198.18.2.0/24",
    }
    assert len(ops) == 2
    assert s.last_change.lost == (("st0.0", "198.18.2.0/24", "10.11.11.12", "vpn-b"),)
    assert [str(b.next_hop) for b in s.table.entries()] == ["10.11.11.11"]

    # A restarted daemon rebuilds the same set: no ops.
    fresh = NhtbSync()
    fresh.configure([UNIT], STATICS, VPN_UNITS, now=10.0)
    fresh.set_routes(
        [route("198.18.1.0/24", "10.11.11.11"), route("198.18.2.0/24", "10.11.11.12")], now=10.0
    )
    fresh.vpn_up("vpn-a", local="192.0.2.1", remote="192.0.2.11", reqid=REQ_A, now=10.0)
    assert _run(fk, fresh) == ()


def test_unit_removed_from_config_loses_its_policies() -> None:
    fk, s = _hub()
    u9 = MultipointUnit("st0.9", 9, families=(2,))
    s.configure([UNIT, u9], STATICS, VPN_UNITS, now=0.0)
    _run(fk, s)
    assert len(asyncio.run(fk.list_policies())) == 6
    s.configure([UNIT], STATICS, VPN_UNITS, now=1.0)
    ops = _run(fk, s)
    assert [(type(o).__name__, getattr(o, "if_id", None)) for o in ops] == [
        ("DeletePolicy", 9),
        ("DeletePolicy", 9),
    ]


def test_vpn_monitor_down_keeps_auto_entry() -> None:
    fk, s = _hub()
    s.vpn_up(
        "vpn-b",
        local="192.0.2.1",
        remote="192.0.2.12",
        reqid=REQ_B,
        learned=[ipaddress.ip_address("10.11.11.12")],
        now=0.0,
    )
    _run(fk, s)
    s.vpn_down("vpn-b", sas_gone=False, now=1.0)
    _run(fk, s)
    assert [b.vpn for b in s.table.entries()] == ["vpn-a", "vpn-b"]
    assert s.last_plan.counts() == {RouteStatus.VPN_DOWN: 2}
