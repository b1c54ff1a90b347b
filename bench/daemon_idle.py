"""CPU per minute of an idle xfrmctl daemon holding N established tunnels in the fake kernel.

The daemon under test (`a`) has N gateways, each with one route-based VPN on its own st0 unit,
and either DPD (`dead-peer-detection optimized`, interval 10 s) on every gateway or VPN
monitoring (`vpn-monitor`, interval 10 s, echoes answered at once) on every VPN; Junos does not
allow both on one VPN. A second daemon (`b`, one gateway per peer address) answers as the N
peers; both run in this process on fake kernels, joined by an in-memory wire, and every tunnel
is negotiated for real (IKEv2, PSK, AES-GCM, x25519).

Once every tunnel is up and the daemons are quiet, the loop runs on a virtual clock: when
nothing is ready it jumps to the next timer instead of sleeping, so a simulated minute costs
exactly the CPU the daemon spends on its timers (process CPU time, `time.process_time`), not
wall time. Reported per simulated minute: CPU seconds, loop wake-ups, liveness ticks, kernel
calls by kind (one batched counter dump per liveness tick) and echoes sent.

    python bench/daemon_idle.py [--tunnels 1000] [--minutes 1] [--liveness dpd,monitor]
                                [--spread no,yes]

Timers are either aligned (every tunnel negotiated at start, as after a daemon start) or spread
(tunnels set up one after the other across one interval, as a long-running daemon's drift apart).

The last line of output is one JSON object (the first run, with every run under "runs").
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import selectors
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from xfrmctl.daemon.logs import configure as configure_logs
from xfrmctl.daemon.runtime import Daemon
from xfrmctl.keying.ikev2.actions import Endpoint
from xfrmctl.netlink.fake import CountingKernel, FakeKernel
from xfrmctl.netlink.port import KernelPort

A = "192.0.2.1"
INTERVAL = 10  # DPD and monitoring interval, seconds
PSK = "bench-only-secret-0123456789"
IKE = {"authentication-method": "pre-shared-keys", "dh-group": "group31",
       "authentication-algorithm": "sha-256", "encryption-algorithm": "aes-256-gcm"}  # fmt: skip
ESP = {"protocol": "esp", "encryption-algorithm": "aes-256-gcm"}


def peer(i: int) -> str:
    """The i-th peer's outer address (198.18.128.0/17: benchmarking space)."""
    return f"198.18.{128 + (i >> 8)}.{i & 255}"


class VirtualClock:
    now = 0.0


class WarpSelector:
    """Polls the real selector without blocking; when nothing is ready, the clock jumps by the
    timeout the loop would have slept (to its next timer)."""

    def __init__(self, real: selectors.BaseSelector, clock: VirtualClock) -> None:
        self.real = real
        self.clock = clock

    def select(self, timeout: float | None = None) -> list[Any]:
        events = self.real.select(0)
        if not events and timeout is not None and timeout > 0:
            self.clock.now += timeout
        return events

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


class WarpLoop(asyncio.SelectorEventLoop):
    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.wakeups = 0
        super().__init__(cast(selectors.BaseSelector, WarpSelector(selectors.DefaultSelector(),
                                                                   clock)))  # fmt: skip

    def time(self) -> float:
        return self.clock.now

    def _run_once(self) -> None:
        self.wakeups += 1
        super()._run_once()  # type: ignore[misc]


class Wire:
    """Hands each daemon's IKE datagrams to the daemon owning the destination address."""

    def __init__(self) -> None:
        self.daemons: dict[str, Daemon] = {}

    def attach(self, addresses: list[str], daemon: Daemon) -> None:
        for address in addresses:
            self.daemons[address] = daemon
        wire = self

        class Port:
            def open(self, loop: object, families: object) -> None:
                return None

            def close(self, loop: object) -> None:
                return None

            def send(self, data: bytes, local: Endpoint, remote: Endpoint) -> None:
                target = wire.daemons.get(remote[0])
                if target is not None:
                    asyncio.get_running_loop().call_soon(target._datagram, data, remote, local)

        daemon.sockets = Port()  # type: ignore[assignment]


class AnsweringEcho:
    """VPN monitoring's echo transport: every echo is answered on the next loop turn."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.sent = 0

    def send(self, src: str, dst: str, ident: int, seq: int, device: str | None) -> None:
        self.sent += 1
        asyncio.get_running_loop().call_soon(self.daemon.echo_reply, ident, seq)

    def close(self) -> None:
        return None


def config_a(n: int, liveness: str, establish: str) -> dict[str, Any]:
    gateways: dict[str, Any] = {}
    vpns: dict[str, Any] = {}
    units: dict[int, Any] = {}
    routes: dict[str, Any] = {}
    for i in range(n):
        gw: dict[str, Any] = {"ike-policy": "IKEPOL", "address": peer(i),
                              "external-interface": "eth0", "version": "v2-only"}  # fmt: skip
        vpn: dict[str, Any] = {"bind-interface": f"st0.{i}",
                               "ike": {"gateway": f"GW{i}", "ipsec-policy": "IPSECPOL"},
                               "establish-tunnels": establish}  # fmt: skip
        if liveness == "dpd":
            gw["dead-peer-detection"] = {"optimized": None, "interval": INTERVAL}
        elif liveness == "monitor":
            vpn["vpn-monitor"] = {"destination-ip": peer(i)}
        gateways[f"GW{i}"] = gw
        vpns[f"vpn{i}"] = vpn
        st0 = f"198.18.{(4 * i) >> 8}.{(4 * i + 1) & 255}/30"
        units[i] = {"family": {"inet": {"address": st0}}}
        routes[f"198.19.{(4 * i) >> 8}.{(4 * i) & 255}/30"] = {"next-hop": f"st0.{i}"}
    ipsec: dict[str, Any] = {
        "proposal": {"P2": ESP},
        "policy": {"IPSECPOL": {"proposals": "P2"}},
        "vpn": vpns,
    }
    if liveness == "monitor":
        ipsec["vpn-monitor-options"] = {"interval": INTERVAL, "threshold": 10}
    return {
        "security": {"ike": _ike(gateways), "ipsec": ipsec},
        "interfaces": {"st0": {"unit": units}},
        "routing-options": {"static": {"route": routes}},
    }


def config_b(n: int) -> dict[str, Any]:
    gateways = {f"GW{i}": {"ike-policy": "IKEPOL", "address": A, "local-address": peer(i),
                           "external-interface": "eth0", "version": "v2-only"}
                for i in range(n)}  # fmt: skip
    vpns = {f"vpn{i}": {"bind-interface": f"st0.{i}",
                        "ike": {"gateway": f"GW{i}", "ipsec-policy": "IPSECPOL"},
                        "establish-tunnels": "on-traffic"}
            for i in range(n)}  # fmt: skip
    units = {i: {"family": {"inet": {"address": f"198.18.{(4 * i) >> 8}.{(4 * i + 2) & 255}/30"}}}
             for i in range(n)}  # fmt: skip
    return {
        "security": {
            "ike": _ike(gateways),
            "ipsec": {
                "proposal": {"P2": ESP},
                "policy": {"IPSECPOL": {"proposals": "P2"}},
                "vpn": vpns,
            },
        },
        "interfaces": {"st0": {"unit": units}},
    }


def _ike(gateways: dict[str, Any]) -> dict[str, Any]:
    return {
        "proposal": {"P1": IKE},
        "policy": {
            "IKEPOL": {"mode": "main", "proposals": ["P1"], "pre-shared-key": {"ascii-text": PSK}}
        },
        "gateway": gateways,
    }


async def settle(loop: WarpLoop, cond: Callable[[], bool], what: str, limit: float) -> None:
    """Let the daemons work (virtual time passes only while they wait) until `cond` holds."""
    start = loop.time()
    while not cond():
        if loop.time() - start > limit:
            raise SystemExit(f"{what}: not reached within {limit} virtual seconds")
        await asyncio.sleep(0.5)


async def measure(
    tmp: Path, n: int, minutes: float, liveness: str, spread: bool
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, WarpLoop)
    wire = Wire()
    establish = "on-traffic" if spread else "immediately"
    kernels: dict[str, CountingKernel[FakeKernel]] = {}
    daemons: dict[str, Daemon] = {}
    for name, data, addresses in (("b", config_b(n), [peer(i) for i in range(n)]),
                                  ("a", config_a(n, liveness, establish), [A])):  # fmt: skip
        path = tmp / f"{liveness}-{name}.yaml"
        path.write_text(json.dumps(data))
        fake = FakeKernel(clock=loop.time)
        for address in addresses:
            await fake.add_address("eth0", f"{address}/{24 if address == A else 32}")
        kernels[name] = CountingKernel(fake)
        d = Daemon(str(path), cast(KernelPort, kernels[name]),
                   socket_path=str(tmp / f"{liveness}-{name}.sock"))  # fmt: skip
        wire.attach(addresses, d)
        daemons[name] = d
    a, b = daemons["a"], daemons["b"]
    echo = AnsweringEcho(a)
    a.echo = echo
    t0 = time.perf_counter()
    await b.start()
    await a.start()
    if spread:  # one tunnel after the other across one interval, as traffic would start them
        for i in range(n):
            a._initiate(f"vpn{i}")
            await asyncio.sleep(INTERVAL / n)
    await settle(loop, lambda: all(v.children for v in a.store.vpns.values()), "all tunnels up",
                 600)  # fmt: skip
    await settle(loop, lambda: not a._queue and not b._queue, "quiet", 60)
    await asyncio.sleep(30)  # past the first liveness round of the last tunnels
    setup_wall = time.perf_counter() - t0
    up = sum(1 for v in a.store.vpns.values() if v.children)
    sas = len(kernels["a"].kernel._sas)

    gc.collect()
    kernels["a"].calls.clear()
    echoes0, wakeups0, ticks0 = echo.sent, loop.wakeups, 0
    ticks = Counter[str]()
    original = a.dpd.on_timer

    def counted_on_timer(now: float, dump: Any) -> Any:
        ticks["liveness ticks"] += 1
        return original(now, dump)

    a.dpd.on_timer = counted_on_timer  # type: ignore[method-assign]
    cpu0, virt0 = time.process_time(), loop.time()
    await asyncio.sleep(60 * minutes)
    cpu = time.process_time() - cpu0
    span = (loop.time() - virt0) / 60
    a.dpd.on_timer = original  # type: ignore[method-assign]
    still_up = sum(1 for v in a.store.vpns.values() if v.children)
    per_min = {k: round(v / span, 1) for k, v in sorted(kernels["a"].calls.items())}
    for d in (a, b):
        await d.shutdown()
    return {
        "tunnels": n,
        "liveness": liveness,
        "spread": spread,
        "established": up,
        "still_established": still_up,
        "kernel_sas": sas,
        "cpu_s_per_min": round(cpu / span, 4),
        "wakeups_per_min": round((loop.wakeups - wakeups0) / span, 1),
        "liveness_ticks_per_min": round((ticks["liveness ticks"] - ticks0) / span, 1),
        "kernel_calls_per_min": per_min,
        "echoes_per_min": round((echo.sent - echoes0) / span, 1),
        "setup_wall_s": round(setup_wall, 1),
    }


def run(n: int, minutes: float, liveness: str, spread: bool) -> dict[str, Any]:
    clock = VirtualClock()
    loop = WarpLoop(clock)
    try:
        with tempfile.TemporaryDirectory(prefix="xfrmctl-bench-") as tmp:
            return loop.run_until_complete(measure(Path(tmp), n, minutes, liveness, spread))
    finally:
        loop.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--tunnels", type=int, default=1000)
    ap.add_argument("--minutes", type=float, default=1.0, help="simulated minutes measured")
    ap.add_argument("--liveness", default="dpd,monitor",
                    help="comma-separated: dpd, monitor, none")  # fmt: skip
    ap.add_argument("--spread", default="no,yes",
                    help="comma-separated: no (all tunnels set up at start), yes (set up one "
                         "after the other across one interval, so their timers are spread)")
    args = ap.parse_args()
    configure_logs(level="error", stream=sys.stderr, json=True)
    runs = []
    for liveness, spread in itertools.product(args.liveness.split(","), args.spread.split(",")):
        r = run(args.tunnels, args.minutes, liveness, spread == "yes")
        runs.append(r)
        timers = "spread" if r["spread"] else "aligned"
        print(
            f"{r['tunnels']} tunnels, {liveness}, {timers}: "
            f"{r['cpu_s_per_min']:.4f} CPU s per minute, "
            f"{r['wakeups_per_min']:.0f} wake-ups, {r['liveness_ticks_per_min']:.0f} liveness "
            f"ticks, kernel calls {r['kernel_calls_per_min']}, {r['echoes_per_min']:.0f} echoes "
            f"({r['still_established']}/{r['established']} up; set-up {r['setup_wall_s']} s wall)"
        )
    print(json.dumps({**runs[0], "runs": runs}))


if __name__ == "__main__":
    main()
