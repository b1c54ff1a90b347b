"""Time to full recovery after the daemon is killed (kill -9) with N tunnels up.

Two daemons in this process on fake kernels, joined by an in-memory wire, negotiate N tunnels for
real (IKEv2, PSK, AES-GCM, x25519; the set-up of bench/daemon_idle.py). Then daemon `a` dies
the way kill -9 kills it: no delete is sent, nothing is removed, its kernel keeps every SA,
policy, st0 interface and route. A new daemon starts on the same kernel and configuration.

"Full recovery" is reached when every VPN of the new daemon is up again, its kernel holds exactly
the new SA pairs (the stale ones removed at start), and the peer's kernel holds exactly the same
pairs: the peer dropped its old SAs on INITIAL_CONTACT, nothing is orphaned on either side.
Reported per N: wall seconds from the new daemon's start to full recovery, and the counts.

    python bench/restart_recovery.py [--tunnels 10,100]

Host figures with the fake kernel (the lab VM's emulated CPU is too slow for 100 tunnels in the
time a benchmark should take). The last line of output is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from daemon_idle import A, Wire, config_a, config_b, peer  # type: ignore[import-not-found]

from xfrmctl.daemon.logs import configure as configure_logs
from xfrmctl.daemon.runtime import Daemon
from xfrmctl.netlink.fake import FakeKernel


async def until(cond: Any, limit: float, what: str) -> None:
    """Poll `cond` (a coroutine function) every 10 ms until it holds."""
    deadline = time.monotonic() + limit
    while not await cond():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: not reached within {limit} s")
        await asyncio.sleep(0.01)


def crash(d: Daemon) -> None:
    """What kill -9 leaves: the process stops dead, its kernel state stays."""
    d._stopping = True
    if d._timer is not None:
        d._timer.cancel()
    for task in d._tasks:
        task.cancel()
    if d.control is not None and d.control.server is not None:
        d.control.server.close()


async def spis(kernel: FakeKernel) -> set[int]:
    return {sa.spi for sa in await kernel.list_sas()}


async def measure(tmp: Path, n: int) -> dict[str, Any]:
    wire = Wire()
    path_a, path_b = tmp / f"a{n}.yaml", tmp / f"b{n}.yaml"
    path_a.write_text(json.dumps(config_a(n, "none", "immediately")))
    path_b.write_text(json.dumps(config_b(n)))
    kernel_a, kernel_b = FakeKernel(), FakeKernel()
    await kernel_a.add_address("eth0", f"{A}/24")
    for i in range(n):
        await kernel_b.add_address("eth0", f"{peer(i)}/32")
    b = Daemon(str(path_b), kernel_b, socket_path=str(tmp / f"b{n}.sock"))
    wire.attach([peer(i) for i in range(n)], b)
    a1 = Daemon(str(path_a), kernel_a, socket_path=str(tmp / f"a{n}-1.sock"))
    wire.attach([A], a1)
    await b.start()
    t0 = time.perf_counter()
    await a1.start()
    async def first_up() -> bool:
        return all(v.children for v in a1.store.vpns.values())

    await until(first_up, 600, "first set-up")
    setup = time.perf_counter() - t0
    await asyncio.sleep(0.2)
    old = await spis(kernel_a)
    assert len(old) == 2 * n and await spis(kernel_b) == old
    policies = len(await kernel_a.list_policies())

    crash(a1)
    a2 = Daemon(str(path_a), kernel_a, socket_path=str(tmp / f"a{n}-2.sock"))
    wire.attach([A], a2)
    t1 = time.perf_counter()
    await a2.start()

    async def recovered() -> bool:
        if not all(v.children for v in a2.store.vpns.values()):
            return False
        now_a = await spis(kernel_a)
        return len(now_a) == 2 * n and not now_a & old and await spis(kernel_b) == now_a

    await until(recovered, 600, "recovery")
    recovery = time.perf_counter() - t1
    result = {
        "tunnels": n,
        "first_setup_s": round(setup, 3),
        "recovery_s": round(recovery, 3),
        "sas_a": len(await kernel_a.list_sas()),
        "sas_b": len(await kernel_b.list_sas()),
        "policies_before": policies,
        "policies_after": len(await kernel_a.list_policies()),
        "stale_sas_left": len(await spis(kernel_a) & old) + len(await spis(kernel_b) & old),
    }
    await a2.shutdown()
    await b.shutdown()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tunnels", default="10,100", help="comma-separated tunnel counts")
    args = parser.parse_args()
    configure_logs(level="error", json=True)
    runs = []
    for n in (int(t) for t in args.tunnels.split(",")):
        with tempfile.TemporaryDirectory(prefix="xfrmctl-bench-") as tmp:
            r = asyncio.run(measure(Path(tmp), n))
        runs.append(r)
        print(f"{n:5d} tunnels: first set-up {r['first_setup_s']:.2f} s, recovery after kill -9 "
              f"{r['recovery_s']:.2f} s; SAs a={r['sas_a']} b={r['sas_b']}, policies "
              f"{r['policies_before']} -> {r['policies_after']}, stale SAs left "
              f"{r['stale_sas_left']}")  # fmt: skip
    print(json.dumps({"runs": runs}))


if __name__ == "__main__":
    main()
