"""Time NHTB planning: N routes over M next-hop tunnel bindings on one multipoint unit.

Measures, in one process: building the table, planning the full policy set, diffing it against
an empty kernel, re-planning against the installed set (a daemon restart: must be 0 ops), and
the incremental cases the daemon meets at run time (one route added, one VPN down). Then applies
a plan to the in-memory fake ``KernelPort`` (policies indexed by identity, as in the kernel) and
checks that re-planning yields no ops.

``--kernel`` (root; in the lab VM: ``integration/run_vm.py --exec 'python bench/nhtb.py
--kernel'``) does the daemon's work on the real kernel in a throwaway network namespace:
``--kernel-routes`` routes via next hops on an ``st0.0`` device (an xfrm interface where the
kernel has them), read back with a route dump, planned over ``--kernel-entries`` bindings,
applied as XFRM policies, dumped and re-planned (0 ops), one VPN taken down, then flushed.

The last line of output is one JSON object.

    python bench/nhtb.py [--routes 10000] [--entries 1000] [--fake-routes 10000]
                         [--fake-entries 1000] [--repeat 3]
    python bench/nhtb.py --kernel [--kernel-routes 1000] [--kernel-entries 100]

Timings are the best of ``--repeat`` runs; the fake-kernel and kernel applies run once.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import subprocess
import time
from collections.abc import Callable
from typing import TypeVar

from xfrmctl.netlink.constants import XFRMCTL_REQID_MIN
from xfrmctl.netlink.fake import FakeKernel
from xfrmctl.netlink.kernel import NetlinkKernel
from xfrmctl.netlink.port import AddPolicy, DeletePolicy, PolicyFilter, RouteInfo
from xfrmctl.nhtb.planner import MultipointUnit, Plan, VpnState, diff, plan
from xfrmctl.nhtb.table import NhtbTable, StaticBinding

T = TypeVar("T")
UNIT = MultipointUnit("st0.0", 5)
HUB = "192.0.2.1"


def timed(fn: Callable[[], T], repeat: int) -> tuple[T, float]:
    """Result and the best of ``repeat`` wall-clock runs (the machine is shared)."""
    best = float("inf")
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def next_hop(j: int) -> str:
    return str(ipaddress.IPv4Address("100.64.0.0") + 1 + j)


def scenario(routes: int, entries: int) -> tuple[list[RouteInfo], NhtbTable, list[VpnState]]:
    """Half the bindings Static, half Auto; one VPN in ten down; routes spread over the next
    hops, one in five an overlapping /28 inside another route's /24, plus unbound next hops."""
    table = NhtbTable()
    table.set_static(
        [StaticBinding("st0.0", next_hop(j), f"vpn-{j}") for j in range(0, entries, 2)]
    )
    for j in range(1, entries, 2):
        table.learn("st0.0", f"vpn-{j}", next_hop(j))
    vpns = [
        VpnState(
            f"vpn-{j}",
            "st0.0",
            j % 10 != 9,
            HUB,
            str(ipaddress.IPv4Address("198.51.0.0") + j),
            XFRMCTL_REQID_MIN + 1 + j,
        )
        for j in range(entries)
    ]
    out: list[RouteInfo] = []
    for i in range(routes):
        base = ipaddress.IPv4Address("10.0.0.0") + (i // 5) * 256
        dst = f"{base}/24" if i % 5 == 0 else f"{base + 16 * (i % 5)}/28"
        via = next_hop((i * 7) % (entries + entries // 50))  # ~2% via unbound next hops
        out.append(RouteInfo(dst=dst, dev="st0.0", via=via, onlink=True))
    return out, table, vpns


def ip(*args: str, batch: str | None = None) -> None:
    subprocess.run(["ip", *args], check=True, input=batch, text=True, capture_output=True)


def kernel_bench(n_routes: int, n_entries: int) -> dict[str, object]:
    """The daemon's sync on the real kernel, in a namespace this function makes and deletes."""
    ns = f"xfrmctl-bench{os.getpid()}"
    ip("netns", "add", ns)
    try:
        try:  # an xfrm interface, as the daemon makes; a veth where the kernel has none
            ip("-n", ns, "link", "add", "st0.0", "type", "xfrm", "if_id", str(UNIT.if_id))
            device = "xfrm"
        except subprocess.CalledProcessError:
            ip("-n", ns, "link", "add", "st0.0", "type", "veth", "peer", "name", "st0p")
            device = "veth"
        for dev in ("lo", "st0p", "st0.0") if device == "veth" else ("lo", "st0.0"):
            ip("-n", ns, "link", "set", dev, "up")
        routes, table, vpns = scenario(n_routes, n_entries)
        t0 = time.perf_counter()
        ip("-n", ns, "-batch", "-", batch="".join(
            f"route add {r.dst} via {r.via} dev st0.0 onlink\n" for r in routes))  # fmt: skip
        t_routes_add = time.perf_counter() - t0
        return asyncio.run(_kernel_sync(ns, device, routes, table, vpns, t_routes_add))
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


async def _kernel_sync(
    ns: str,
    device: str,
    routes: list[RouteInfo],
    table: NhtbTable,
    vpns: list[VpnState],
    t_routes_add: float,
) -> dict[str, object]:
    k = await NetlinkKernel.open(ns)
    try:
        mine = PolicyFilter(owned_only=True)
        t0 = time.perf_counter()
        dumped = [r for r in await k.list_routes() if r.dev == UNIT.name]
        t1 = time.perf_counter()
        p = plan(units=[UNIT], routes=dumped, table=table, vpns=vpns)
        ops = diff(p, await k.list_policies(mine))
        t2 = time.perf_counter()
        results = await k.apply(ops)
        t3 = time.perf_counter()
        assert all(r is None for r in results), [r for r in results if r][:3]
        again = diff(plan(units=[UNIT], routes=dumped, table=table, vpns=vpns),
                     await k.list_policies(mine))  # fmt: skip
        t4 = time.perf_counter()
        assert again == (), "restart re-plan must yield no ops"
        down_vpns = [v if v.name != "vpn-0" else VpnState("vpn-0", "st0.0", False) for v in vpns]
        down = diff(plan(units=[UNIT], routes=dumped, table=table, vpns=down_vpns),
                    await k.list_policies(mine))  # fmt: skip
        assert await k.apply(down) == [None] * len(down)
        t5 = time.perf_counter()
        installed = len(await k.list_policies(mine))
        flushed = await k.flush_owned()
        t6 = time.perf_counter()
    finally:
        await k.close()
    return {
        "kernel_device": device,
        "kernel_uname": os.uname().release,
        "kernel_routes": len(routes),
        "kernel_routes_dumped": len(dumped),
        "kernel_entries": len(table.entries()),
        "kernel_policies": len(p.policies),
        "kernel_routes_add_s": round(t_routes_add, 4),
        "kernel_route_dump_s": round(t1 - t0, 4),
        "kernel_plan_diff_s": round(t2 - t1, 4),
        "kernel_apply_s": round(t3 - t2, 4),
        "kernel_ops": len(ops),
        "kernel_restart_replan_s": round(t4 - t3, 4),
        "kernel_restart_ops": len(again),
        "kernel_one_vpn_down_s": round(t5 - t4, 4),
        "kernel_one_vpn_down_deletes": sum(isinstance(o, DeletePolicy) for o in down),
        "kernel_installed_after_down": installed,
        "kernel_flush_s": round(t6 - t5, 4),
        "kernel_flushed_policies": flushed[1],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--routes", type=int, default=10_000)
    ap.add_argument("--entries", type=int, default=1_000)
    ap.add_argument("--fake-routes", type=int, default=10_000)
    ap.add_argument("--fake-entries", type=int, default=1_000)
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs per timing")
    ap.add_argument("--kernel", action="store_true", help="only the real-kernel part (root)")
    ap.add_argument("--kernel-routes", type=int, default=1_000)
    ap.add_argument("--kernel-entries", type=int, default=100)
    args = ap.parse_args()

    if args.kernel:
        figures = kernel_bench(args.kernel_routes, args.kernel_entries)
        print(
            f"kernel {figures['kernel_uname']}: {figures['kernel_routes']} routes over "
            f"{figures['kernel_entries']} bindings -> {figures['kernel_policies']} policies; "
            f"dump {figures['kernel_route_dump_s']}s, plan+diff {figures['kernel_plan_diff_s']}s, "
            f"apply {figures['kernel_apply_s']}s, restart re-plan "
            f"{figures['kernel_restart_replan_s']}s ({figures['kernel_restart_ops']} ops)"
        )
        print(json.dumps(figures))
        return

    (routes, table, vpns), t_build = timed(lambda: scenario(args.routes, args.entries), args.repeat)

    def full() -> Plan:
        return plan(units=[UNIT], routes=routes, table=table, vpns=vpns)

    p, t_plan = timed(full, args.repeat)
    ops, t_diff_empty = timed(lambda: diff(p, []), args.repeat)
    installed = [op.policy for op in ops if isinstance(op, AddPolicy)]
    again, t_replan = timed(lambda: diff(full(), installed), args.repeat)
    assert again == (), "restart re-plan must yield no ops"

    extra = RouteInfo(dst="10.255.255.0/24", dev="st0.0", via=next_hop(0), onlink=True)
    one, t_route = timed(
        lambda: diff(
            plan(units=[UNIT], routes=[*routes, extra], table=table, vpns=vpns), installed
        ),
        args.repeat,
    )
    down_vpns = [v if v.name != "vpn-0" else VpnState("vpn-0", "st0.0", False) for v in vpns]
    down, t_down = timed(
        lambda: diff(plan(units=[UNIT], routes=routes, table=table, vpns=down_vpns), installed),
        args.repeat,
    )

    f_routes, f_table, f_vpns = scenario(args.fake_routes, args.fake_entries)
    fp = plan(units=[UNIT], routes=f_routes, table=f_table, vpns=f_vpns)
    fk = FakeKernel()

    async def fake_sync() -> tuple[int, int, float, float]:
        t0 = time.perf_counter()
        fops = diff(fp, await fk.list_policies())
        results = await fk.apply(fops)
        t1 = time.perf_counter()
        assert all(r is None for r in results)
        re_ops = diff(
            plan(units=[UNIT], routes=f_routes, table=f_table, vpns=f_vpns),
            await fk.list_policies(),
        )
        return len(fops), len(re_ops), t1 - t0, time.perf_counter() - t1

    f_ops, f_reops, t_fake_apply, t_fake_replan = asyncio.run(fake_sync())
    assert f_reops == 0

    counts = {s.name.lower(): n for s, n in p.counts().items()}
    result = {
        "routes": args.routes,
        "entries": args.entries,
        "policies": len(p.policies),
        "route_outcomes": counts,
        "build_table_s": round(t_build, 4),
        "plan_s": round(t_plan, 4),
        "diff_empty_s": round(t_diff_empty, 4),
        "ops_from_empty": len(ops),
        "restart_replan_s": round(t_replan, 4),
        "restart_ops": len(again),
        "one_route_added_s": round(t_route, 4),
        "one_route_added_ops": len(one),
        "one_vpn_down_s": round(t_down, 4),
        "one_vpn_down_ops": len(down),
        "fake_routes": args.fake_routes,
        "fake_entries": args.fake_entries,
        "fake_ops": f_ops,
        "fake_apply_s": round(t_fake_apply, 4),
        "fake_replan_s": round(t_fake_replan, 4),
        "fake_replan_ops": f_reops,
    }
    print(
        f"plan {args.routes} routes over {args.entries} bindings: {len(p.policies)} policies "
        f"in {t_plan:.3f}s; restart re-plan {t_replan:.3f}s, {len(again)} ops"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
