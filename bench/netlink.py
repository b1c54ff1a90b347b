"""Install, dump and flush N SA pairs with their policies: xfrmctl against ``ip -batch``.

Runs in the lab VM (the host kernel has no ESP; ``--no-sa`` measures policies only, for a quick
look on the host). Each tool works in its own fresh network namespace in the same boot; only
ratios mean something under emulation. Per pair: two SAs (out and in, AES-GCM-128) and two
policies (out and in, tunnel template). The last line of output is one JSON object.

    python bench/netlink.py [--pairs 10000] [--no-sa]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from xfrmctl.netlink.codec import (
    AeadAlgo,
    ReplayState,
    Selector,
    Tmpl,
    XfrmPolicy,
    XfrmState,
    gc_paused,
)
from xfrmctl.netlink.constants import XFRMCTL_REQID_MIN
from xfrmctl.netlink.kernel import NetlinkKernel
from xfrmctl.netlink.port import AddPolicy, AddSa, KernelOp

LOCAL, REMOTE = "192.0.2.1", "192.0.2.2"
DUMP_RUNS = 3  # dumps are short: the best of three for each tool
KEY = bytes(range(20))


def host(base: str, i: int) -> str:
    return f"{base}.{i >> 8}.{i & 255}"


def pair(i: int, with_sa: bool) -> Iterator[tuple[KernelOp, str]]:
    """Operations for pair i, each with its ``ip -batch`` line."""
    reqid = XFRMCTL_REQID_MIN + i
    left, right = host("198.18", i), host("198.19", i)
    if with_sa:
        for spi, src, dst in ((0x10000 + 2 * i, LOCAL, REMOTE), (0x10001 + 2 * i, REMOTE, LOCAL)):
            sa = XfrmState(
                daddr=dst,
                spi=spi,
                saddr=src,
                reqid=reqid,
                replay_window=32,
                aead=AeadAlgo("rfc4106(gcm(aes))", KEY, 128),
                replay=ReplayState(),
            )
            line = (
                f"xfrm state add src {src} dst {dst} proto esp spi {spi} reqid {reqid} "
                f"mode tunnel replay-window 32 aead rfc4106(gcm(aes)) 0x{KEY.hex()} 128"
            )
            yield AddSa(sa), line
    for direction, s, d, ts, td in (
        ("out", left, right, LOCAL, REMOTE),
        ("in", right, left, REMOTE, LOCAL),
    ):
        pol = XfrmPolicy(
            Selector.between(f"{s}/32", f"{d}/32"),
            dir=1 if direction == "out" else 0,
            tmpls=(Tmpl(daddr=td, saddr=ts, reqid=reqid),),
        )
        line = (
            f"xfrm policy add src {s}/32 dst {d}/32 dir {direction} "
            f"tmpl src {ts} dst {td} proto esp reqid {reqid} mode tunnel"
        )
        yield AddPolicy(pol), line


@contextmanager
def netns(name: str) -> Iterator[str]:
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


def timed(fn: object) -> float:
    t0 = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - t0


def run_ip(ns: str, lines: list[str], with_sa: bool) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".batch", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    try:
        install = timed(lambda: subprocess.run(["ip", "-n", ns, "-batch", path], check=True))
    finally:
        os.unlink(path)
    out: dict[str, float] = {"install": install}
    what = "state" if with_sa else "policy"
    out["dump"] = min(
        timed(
            lambda: subprocess.run(
                ["ip", "-n", ns, "xfrm", what], check=True, stdout=subprocess.PIPE
            )
        )
        for _ in range(DUMP_RUNS)
    )

    def flush() -> None:
        subprocess.run(["ip", "-n", ns, "xfrm", "state", "flush"], check=True)
        subprocess.run(["ip", "-n", ns, "xfrm", "policy", "flush"], check=True)

    out["flush"] = timed(flush)
    return out


async def run_xfrmctl(ns: str, n: int, with_sa: bool) -> dict[str, float]:
    k = await NetlinkKernel.open(ns)
    try:
        t0 = time.perf_counter()
        with gc_paused():  # the library's helper for bulk work, as a daemon would use it
            ops = [op for i in range(n) for op, _ in pair(i, with_sa)]
        results = await k.apply(ops)
        install = time.perf_counter() - t0
        failed = [r for r in results if r is not None]
        assert not failed, failed[:3]
        del ops, results
        dump = float("inf")
        for _ in range(DUMP_RUNS):
            t0 = time.perf_counter()
            if with_sa:
                got: list[object] = list(await k.list_sas())
            else:
                got = list(await k.list_policies())
            dump = min(dump, time.perf_counter() - t0)
            assert len(got) == 2 * n, len(got)
            del got
        t0 = time.perf_counter()
        sas, pols = await k.flush_owned()
        flush = time.perf_counter() - t0
        assert (sas, pols) == (2 * n if with_sa else 0, 2 * n), (sas, pols)
        return {"install": install, "dump": dump, "flush": flush}
    finally:
        await k.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=10_000)
    ap.add_argument("--no-sa", action="store_true", help="policies only (host without ESP)")
    args = ap.parse_args()
    n, with_sa = args.pairs, not args.no_sa
    lines = [line for i in range(n) for _, line in pair(i, with_sa)]
    gc.collect()
    with netns(f"xfrmctl-bench-ip{os.getpid()}") as ns:
        ip_t = run_ip(ns, lines, with_sa)
    with netns(f"xfrmctl-bench-x{os.getpid()}") as ns:
        x_t = asyncio.run(run_xfrmctl(ns, n, with_sa))
    dumped = f"{2 * n} {'states' if with_sa else 'policies'}"
    for label, t in (("ip -batch", ip_t), ("xfrmctl", x_t)):
        print(
            f"{label:10s} install {n / t['install']:9.1f} pairs/s ({t['install']:.2f} s), "
            f"dump {dumped} {t['dump']:.2f} s, flush {t['flush']:.2f} s"
        )
    result = {
        "pairs": n,
        "with_sa": with_sa,
        "xfrmctl_install_per_s": round(n / x_t["install"], 1),
        "ip_batch_install_per_s": round(n / ip_t["install"], 1),
        "install_ratio": round(ip_t["install"] / x_t["install"], 3),
        "xfrmctl_dump_s": round(x_t["dump"], 3),
        "ip_dump_s": round(ip_t["dump"], 3),
        "dump_ratio": round(x_t["dump"] / ip_t["dump"], 3),
        "flush_ratio": round(x_t["flush"] / ip_t["flush"], 3),
    }
    print(
        "install_ratio = ip time / xfrmctl time (>= 1.0: xfrmctl faster); "
        "dump_ratio = xfrmctl time / ip time (target <= 1.5)"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
