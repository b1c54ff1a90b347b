"""Diff of planned vs installed policies -> KernelPort ops, applied to the fake kernel."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from tests.nhtb.nhtb_fixtures import REQ_B, UNIT, out, route, table, vpns
from xfrmctl.netlink.codec import Selector, Tmpl, XfrmPolicy
from xfrmctl.netlink.fake import FakeKernel
from xfrmctl.netlink.port import AddPolicy, DeletePolicy, KernelOp
from xfrmctl.nhtb.planner import MultipointUnit, Plan, VpnState, diff, plan

ROUTES = [
    route("198.18.1.0/24", "10.11.11.11"),
    route("198.18.2.0/24", "10.11.11.12"),
    route("198.18.3.0/24", "10.11.11.13"),
]


def _apply(fk: FakeKernel, ops: Sequence[KernelOp]) -> list[XfrmPolicy]:
    async def go() -> list[XfrmPolicy]:
        results = await fk.apply(ops)
        assert results == [None] * len(ops)
        return await fk.list_policies()

    return asyncio.run(go())


def _sync(fk: FakeKernel, p: Plan) -> tuple[tuple[KernelOp, ...], list[XfrmPolicy]]:
    installed = asyncio.run(fk.list_policies())
    ops = diff(p, installed)
    return ops, _apply(fk, ops)


def test_empty_to_plan_is_adds_then_replan_is_nothing() -> None:
    fk = FakeKernel()
    p = plan(units=[UNIT], routes=ROUTES, table=table(), vpns=vpns())
    ops, installed = _sync(fk, p)
    assert ops == tuple(AddPolicy(pol) for pol in p.policies)
    assert len(installed) == len(p.policies) == 11
    assert diff(p, installed) == ()


def test_restart_rebuilds_the_same_set_without_duplicates() -> None:
    fk = FakeKernel()
    _sync(fk, plan(units=[UNIT], routes=ROUTES, table=table(), vpns=vpns()))
    before = asyncio.run(fk.list_policies())
    # A new daemon: fresh table and plan from the same inputs, against what is installed.
    again = plan(units=[UNIT], routes=list(reversed(ROUTES)), table=table(), vpns=vpns())
    ops, after = _sync(fk, again)
    assert ops == ()
    assert after == before


def test_vpn_down_deletes_exactly_its_policies_and_up_restores() -> None:
    fk = FakeKernel()
    t = table()
    up = plan(units=[UNIT], routes=ROUTES, table=t, vpns=vpns())
    _, installed_up = _sync(fk, up)
    down = plan(units=[UNIT], routes=ROUTES, table=t, vpns=vpns(b=False))
    ops, installed = _sync(fk, down)
    b2, bhost = (
        out("198.18.2.0/24", "192.0.2.12", REQ_B),
        out("10.11.11.12/32", "192.0.2.12", REQ_B),
    )
    assert ops == (
        DeletePolicy(sel=bhost.sel, dir=1, if_id=5),
        DeletePolicy(sel=b2.sel, dir=1, if_id=5),
    )
    assert len(installed) == 9
    ops, installed = _sync(fk, up)
    assert ops == (AddPolicy(bhost), AddPolicy(b2))
    key = [(p.sel.dst, p.dir, p.tmpls) for p in installed]
    assert sorted(key, key=str) == sorted(
        ((p.sel.dst, p.dir, p.tmpls) for p in installed_up), key=str
    )


def test_changed_outer_address_is_an_update() -> None:
    fk = FakeKernel()
    _sync(fk, plan(units=[UNIT], routes=ROUTES, table=table(), vpns=vpns()))
    moved = [
        v
        if v.name != "vpn-b"
        else VpnState("vpn-b", "st0.0", True, "192.0.2.1", "198.51.100.12", REQ_B)
        for v in vpns()
    ]
    p = plan(units=[UNIT], routes=ROUTES, table=table(), vpns=moved)
    ops, installed = _sync(fk, p)
    assert [type(o).__name__ for o in ops] == ["AddPolicy", "AddPolicy"]
    assert all(isinstance(o, AddPolicy) and o.update for o in ops)
    assert {o.policy.sel.dst for o in ops if isinstance(o, AddPolicy)} == {
        "10.11.11.12/32",
        "198.18.2.0/24",
    }
    assert diff(p, installed) == ()


def test_other_policies_are_never_touched() -> None:
    fk = FakeKernel()
    foreign = [
        # a point-to-point VPN of the daemon on another unit (if_id 7)
        XfrmPolicy(
            sel=Selector.between("0.0.0.0/0", "0.0.0.0/0"),
            dir=1,
            priority=0x58400,
            tmpls=(Tmpl(daddr="192.0.2.50", saddr="192.0.2.1", reqid=0x58000050),),
            if_id=7,
        ),
        # a hand-made policy with the unit's if_id but outside our bands
        XfrmPolicy(
            sel=Selector.between("0.0.0.0/0", "203.0.113.0/24"),
            dir=1,
            priority=100,
            tmpls=(Tmpl(daddr="192.0.2.60", saddr="192.0.2.1", reqid=60),),
            if_id=5,
        ),
    ]
    _apply(fk, [AddPolicy(p) for p in foreign])
    p = plan(units=[UNIT], routes=ROUTES, table=table(), vpns=vpns())
    ops, installed = _sync(fk, p)
    assert len(ops) == len(p.policies)
    assert all(isinstance(o, AddPolicy) for o in ops)
    assert len(installed) == len(p.policies) + 2
    empty = plan(units=[UNIT], routes=[], table=table(), vpns=vpns(a=False, b=False, c=False))
    ops, installed = _sync(fk, empty)
    assert all(isinstance(o, DeletePolicy) for o in ops)
    assert len(installed) == 4 + 2  # the unit's in/fwd pairs and the two foreign ones


def test_retired_unit_policies_are_deleted() -> None:
    fk = FakeKernel()
    u9 = MultipointUnit("st0.9", 9, families=(2,))
    _sync(fk, plan(units=[UNIT, u9], routes=ROUTES, table=table(), vpns=vpns()))
    p = plan(units=[UNIT], routes=ROUTES, table=table(), vpns=vpns())
    assert diff(p, asyncio.run(fk.list_policies())) == ()
    ops = diff(p, asyncio.run(fk.list_policies()), retired_if_ids=[9])
    assert [(type(o).__name__, o.dir, o.if_id) for o in ops if isinstance(o, DeletePolicy)] == [
        ("DeletePolicy", 0, 9),
        ("DeletePolicy", 2, 9),
    ]


def test_flush_owned_recognises_every_nhtb_policy() -> None:
    fk = FakeKernel()
    p = plan(units=[UNIT], routes=ROUTES, table=table(), vpns=vpns())
    _sync(fk, p)
    assert asyncio.run(fk.flush_owned()) == (0, len(p.policies))
