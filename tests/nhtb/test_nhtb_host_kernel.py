"""The planned policy set on this machine's kernel (XFRM policies work here; no ESP needed):
the kernel accepts every policy, dumps them back so that re-planning yields no ops, and a VPN
going down and up converges in one diff each way."""

from __future__ import annotations

import asyncio
import subprocess

import pytest

from tests.netlink.netlink_real import can_make_netns, throwaway_netns
from tests.nhtb.nhtb_fixtures import UNIT, route, table, vpns
from xfrmctl.netlink.kernel import NetlinkKernel
from xfrmctl.netlink.port import AddPolicy, DeletePolicy, PolicyFilter
from xfrmctl.nhtb.planner import diff, plan

pytestmark = pytest.mark.skipif(not can_make_netns(), reason="needs root and iproute2")

ROUTES = [
    route("198.18.1.0/24", "10.11.11.11"),
    route("198.18.2.0/24", "10.11.11.12"),
    route("198.18.2.128/25", "10.11.11.13"),
    route("2001:db8:1::/48", "2001:db8:ff::11"),
    route("198.18.9.0/24", "10.11.11.99"),
]


def test_plan_on_the_host_kernel() -> None:
    async def go(ns: str) -> None:
        k = await NetlinkKernel.open(ns)
        try:
            up = plan(units=[UNIT], routes=ROUTES, table=table(), vpns=vpns())
            mine = PolicyFilter(if_id=UNIT.if_id)
            ops = diff(up, await k.list_policies(mine))
            assert len(ops) == len(up.policies) == 12
            assert await k.apply(ops) == [None] * len(ops)
            assert diff(up, await k.list_policies()) == ()

            down = plan(units=[UNIT], routes=ROUTES, table=table(), vpns=vpns(b=False))
            ops = diff(down, await k.list_policies())
            assert [(type(o), o.sel.dst) for o in ops if isinstance(o, DeletePolicy)] == [
                (DeletePolicy, "10.11.11.12/32"),
                (DeletePolicy, "198.18.2.0/24"),
            ]
            assert await k.apply(ops) == [None, None]
            ops = diff(up, await k.list_policies())
            assert all(isinstance(o, AddPolicy) and not o.update for o in ops)
            assert await k.apply(ops) == [None, None]
            assert diff(up, await k.list_policies()) == ()
            assert await k.flush_owned() == (0, 12)
        finally:
            await k.close()

    with throwaway_netns("xfrmctl-nhtb") as ns:
        asyncio.run(go(ns))
        shown = subprocess.run(
            ["ip", "-n", ns, "xfrm", "policy"], check=True, capture_output=True, text=True
        ).stdout
        assert shown == ""
