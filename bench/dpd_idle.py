"""CPU per simulated minute of the liveness timers (DPD, VPN monitoring) for N idle tunnels.

Each tunnel is one IKE SA with DPD and one child SA pair (two kernel SAs), established at
staggered times as a real daemon's would be. The simulated daemon wakes once per second only if
a liveness deadline is due, then builds one counter mapping from one batched dump of every SA
(the `SaCounters` list a `KernelPort.sa_counters()` call returns, prepared once here) and runs
`LivenessManager.on_timer`. Reported: CPU seconds per simulated minute, total and split into the
dump-to-mapping conversion and the liveness logic. This exercises the sans-IO package alone; the
issue's figure for an idle daemon with 1,000 tunnels in the fake kernel comes from the daemon.

    python bench/dpd_idle.py [--tunnels 1000,10000] [--minutes 1] [--mode optimized]
                             [--monitor] [--active 0.0]

The last line of output is one JSON object (the first size, with every size under "runs").
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time
from collections.abc import Hashable

from xfrmctl.dpd import (
    DpdMode,
    DpdSettings,
    LivenessManager,
    MonitorSettings,
    MonitorTarget,
    SendEcho,
)
from xfrmctl.netlink.codec import SaCounters

ESP = 50
LOCAL = "192.0.2.1"


def peer_addr(i: int) -> str:
    return f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def run(
    tunnels: int, minutes: float, mode: DpdMode, monitor: bool, active: float
) -> dict[str, object]:
    rng = random.Random(tunnels)
    dpd = DpdSettings(mode)
    mgr = LivenessManager(MonitorSettings())
    kernel: list[SaCounters] = []
    busy: list[int] = []  # indexes into `kernel` of SAs that carry traffic
    for i in range(tunnels):
        start = -rng.uniform(0, dpd.interval)  # established at staggered times
        ike = ("ike", i)
        peer = peer_addr(i)
        spi_in, spi_out = 0x1000_0000 + 2 * i, 0x1000_0001 + 2 * i
        mgr.add_peer(ike, dpd, start)
        for daddr, saddr, spi, direction in (
            (LOCAL, peer, spi_in, "in"),
            (peer, LOCAL, spi_out, "out"),
        ):
            mgr.sa_installed((daddr, spi, ESP), direction, start, ike=ike, vpn=f"vpn{i}", child=i)
            kernel.append(SaCounters(daddr, spi, ESP, saddr, 1, 0, 0, 0, 0))
        if monitor:
            mgr.add_vpn(f"vpn{i}", MonitorTarget(LOCAL, peer, f"st0.{i}", optimized=True), start)
        if rng.random() < active:
            busy += [len(kernel) - 2, len(kernel) - 1]

    gc.collect()
    dump_cpu = logic_cpu = 0.0
    wakeups = actions = 0
    seconds = int(minutes * 60)
    t0 = time.process_time()
    for now in range(seconds + 1):
        for k in busy:  # the kernel's counters move for the active tunnels
            c = kernel[k]
            kernel[k] = SaCounters(
                c.daddr, c.spi, c.proto, c.saddr, 1, c.bytes + 1400, c.packets + 1, 0, 0
            )
        deadline = mgr.next_deadline()
        if deadline is None or deadline > now:
            continue
        wakeups += 1
        a = time.process_time()
        dump: dict[Hashable, tuple[int, int]] = {
            (c.daddr, c.spi, c.proto): (c.bytes, c.packets) for c in kernel
        }
        b = time.process_time()
        out = mgr.on_timer(float(now), dump)
        for action in out:  # echoes are answered at once, as a healthy peer would
            if isinstance(action, SendEcho):
                mgr.echo_reply(action.vpn, action.ident, action.seq, float(now))
        c_ = time.process_time()
        dump_cpu += b - a
        logic_cpu += c_ - b
        actions += len(out)
    total = time.process_time() - t0
    per_min = 60.0 / seconds
    return {
        "tunnels": tunnels,
        "cpu_s_per_min": round(total * per_min, 4),
        "dump_cpu_s_per_min": round(dump_cpu * per_min, 4),
        "logic_cpu_s_per_min": round(logic_cpu * per_min, 4),
        "wakeups_per_min": round(wakeups * per_min, 1),
        "actions_per_min": round(actions * per_min, 1),
        "mode": str(mode),
        "monitor": monitor,
        "active": active,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--tunnels", default="1000,10000", help="comma-separated sizes")
    ap.add_argument("--minutes", type=float, default=1.0, help="simulated minutes")
    ap.add_argument("--mode", default="optimized", choices=[m.value for m in DpdMode])
    ap.add_argument("--monitor", action="store_true", help="also monitor every VPN (optimized)")
    ap.add_argument("--active", type=float, default=0.0, help="fraction of tunnels with traffic")
    args = ap.parse_args()
    runs = []
    for n in (int(x) for x in args.tunnels.split(",")):
        r = run(n, args.minutes, DpdMode(args.mode), args.monitor, args.active)
        runs.append(r)
        print(
            f"{n:>6} tunnels: {r['cpu_s_per_min']:.4f} CPU s per simulated minute "
            f"(dump {r['dump_cpu_s_per_min']:.4f}, liveness {r['logic_cpu_s_per_min']:.4f}), "
            f"{r['wakeups_per_min']:.0f} wakeups, {r['actions_per_min']:.0f} actions"
        )
    print(json.dumps({**runs[0], "runs": runs}))


if __name__ == "__main__":
    main()
