"""Time to bring N route-based tunnels up on a real kernel, and the memory they cost: xfrmctl as
the initiator against charon, then charon against charon, back to back in one run.

Runs as root inside the lab VM (a kernel with ESP and xfrm interfaces):

    python integration/run_vm.py --exec 'python bench/tunnels_vm.py --n 200'

Two namespaces joined by a veth pair: `a` (198.19.0.1) initiates, `b` (198.19.1.1 ... one
address per tunnel) answers with charon: one IKEv2 SA with one child SA per tunnel (PSK,
AES-GCM-256, X25519, PFS with X25519), if_id N for tunnel N. The initiator in `a` is

* xfrmctl: one gateway and one route-based VPN per tunnel, `establish-tunnels immediately`,
  bound to st0.N, which the daemon creates (an xfrm interface with its address);
* charon: one connection per tunnel with `start_action = start` and `if_id_in/out = N`; the
  xfrm interfaces a charon operator makes by hand are made before the clock starts.

Each initiator is started with tunnel 1 only and waits until it is up: what a first tunnel
costs once (imports, code paths, libraries, charon's threads) is paid before the baseline RSS is
read. Then it is given all N tunnels (xfrmctl: the file rewritten and SIGHUP; charon:
`swanctl --load-all`) and the clock runs until the kernel in `a` holds 2N SAs (`ip xfrm state
count`, polled every 0.2 s). RSS is read again 2 s later. Reported: seconds for the N - 1 new
tunnels, tunnels per second, RSS growth per tunnel (anonymous memory and total), and the ratios
xfrmctl/charon. The last line of output is one JSON object.

Under the lab VM's emulated CPU every figure is far slower than on hardware; the ratios, measured
in the same VM minutes apart, are what this benchmark is for.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integration.lab.netns import Netns, run, xfrm_interface
from integration.lab.strongswan import LAB_PSK, psk_secrets
from integration.lab.topology import Lab
from integration.lab.xfrmctl import XfrmctlDaemon

INITIATOR = "198.19.0.1"
IKE = "aes256gcm16-prfsha256-x25519"
ESP = "aes256gcm16-x25519"
QUIET = {"ike": 0, "knl": 0, "cfg": 0}  # charon's log levels: logging is not what is measured


def responder_address(i: int) -> str:
    return str(ipaddress.IPv4Address("198.19.1.0") + i)


def unit_address(i: int) -> str:
    """A /30 per st0 unit inside 198.18.0.0/16."""
    return f"{ipaddress.IPv4Address('198.18.0.0') + 4 * i + 1}/30"


def memory(pid: int) -> dict[str, int]:
    """VmRSS and RssAnon (KiB) and the thread count of a process."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "Threads"):
            fields[key] = int(value.split()[0])
    return fields


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def wait_all_up(ns: Netns, n: int, timeout: float, alive: Callable[[], bool]) -> float:
    """Seconds until the kernel of `ns` holds 2n SAs, or raise."""
    start = time.monotonic()
    seen = shown = 0
    while time.monotonic() - start < timeout:
        seen = int(ns.ip("xfrm", "state", "count").stdout.split()[-1])  # "SAD count N"
        if seen >= 2 * n:
            progress(f"{n} tunnels up")
            return time.monotonic() - start
        if seen // 2 >= shown + 25:
            shown = seen // 2
            progress(f"{shown} of {n} tunnels up")
        if not alive():
            raise RuntimeError("the initiator exited")
        time.sleep(0.2)
    raise RuntimeError(f"{seen // 2} of {n} tunnels up after {timeout:.0f} s")


def connection(me: str, peer: str, if_id: int, start: bool) -> dict[str, Any]:
    return {
        "version": 2,
        "local_addrs": me,
        "remote_addrs": peer,
        "proposals": IKE,
        "if_id_in": if_id,
        "if_id_out": if_id,
        "local": {"auth": "psk", "id": me},
        "remote": {"auth": "psk", "id": peer},
        "children": {
            "net": {
                "local_ts": "0.0.0.0/0",
                "remote_ts": "0.0.0.0/0",
                "esp_proposals": ESP,
                "start_action": "start" if start else "none",
            }
        },
    }


def topology(lab: Lab, n: int) -> tuple[Netns, str]:
    """a and b with b's charon answering every tunnel; returns a and its outer device."""
    a, b = lab.netns("a"), lab.netns("b")
    dev_a, dev_b = lab.link(a, b, f"{INITIATOR}/16", f"{responder_address(1)}/16")
    batch = "".join(f"addr add {responder_address(i)}/16 dev {dev_b}\n" for i in range(2, n + 1))
    if batch:
        run(["ip", "-n", b.name, "-batch", "-"], input_text=batch)
    conns = {f"t{i}": connection(responder_address(i), INITIATOR, i, False)
             for i in range(1, n + 1)}  # fmt: skip
    lab.strongswan(b, conns, psk_secrets(LAB_PSK), log_levels=QUIET).load()
    return a, dev_a


def xfrmctl_config(n: int, external: str) -> str:
    """Tunnels 1..n."""
    gateways: dict[str, Any] = {}
    vpns: dict[str, Any] = {}
    units: dict[int, Any] = {}
    for i in range(1, n + 1):
        gateways[f"g{i}"] = {
            "ike-policy": "IKEPOL",
            "address": responder_address(i),
            "external-interface": external,
            "version": "v2-only",
        }
        vpns[f"t{i}"] = {
            "bind-interface": f"st0.{i}",
            "ike": {"gateway": f"g{i}", "ipsec-policy": "IPSECPOL"},
            "establish-tunnels": "immediately",
        }
        units[i] = {"family": {"inet": {"address": unit_address(i)}}}
    data = {
        "security": {
            "ike": {
                "proposal": {"P1": {"authentication-method": "pre-shared-keys",
                                    "dh-group": "group31", "authentication-algorithm": "sha-256",
                                    "encryption-algorithm": "aes-256-gcm"}},
                "policy": {"IKEPOL": {"mode": "main", "proposals": ["P1"],
                                      "pre-shared-key": {"ascii-text": LAB_PSK}}},
                "gateway": gateways,
            },
            "ipsec": {
                "proposal": {"P2": {"protocol": "esp", "encryption-algorithm": "aes-256-gcm"}},
                "policy": {"IPSECPOL": {"proposals": "P2",
                                        "perfect-forward-secrecy": {"keys": "group31"}}},
                "vpn": vpns,
            },
        },
        "interfaces": {"st0": {"unit": units}},
    }  # fmt: skip
    return json.dumps(data, indent=1)  # JSON is YAML


def figures(first: float, up: float, before: dict[str, int], after: dict[str, int], n: int
            ) -> dict[str, Any]:  # fmt: skip
    added = max(1, n - 1)
    return {
        "first_up_s": round(first, 2),
        "all_up_s": round(up, 2),
        "rss_before_kib": before["VmRSS"],
        "rss_after_kib": after["VmRSS"],
        "threads": after["Threads"],
        "rss_per_tunnel_kib": round((after["VmRSS"] - before["VmRSS"]) / added, 2),
        "anon_per_tunnel_kib": round((after["RssAnon"] - before["RssAnon"]) / added, 2),
    }


def run_xfrmctl(base: Path, n: int, timeout: float, profile: str | None) -> dict[str, Any]:
    lab = Lab.create("xfrmctl-vs-charon", base)
    lab.capture = False
    try:
        a, dev_a = topology(lab, n)
        daemon = XfrmctlDaemon(a, lab.workdir / "xfrmctl", lab.procs, xfrmctl_config(1, dev_a),
                               extra_args=["--log-level", "info"])  # fmt: skip
        t0 = time.monotonic()
        daemon.start(wait=300)
        assert daemon.process is not None
        proc = daemon.process.proc
        wait_all_up(a, 1, timeout, lambda: proc.poll() is None)
        first = time.monotonic() - t0  # the daemon's start included
        time.sleep(2)
        before = memory(proc.pid)
        daemon.write_config(xfrmctl_config(n, dev_a))
        daemon.config_path.chmod(0o600)
        spy = None
        if profile:  # py-spy's collapsed stacks of the daemon while the N tunnels come up
            spy = subprocess.Popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(proc.pid),
                 "--nonblocking", "--rate", "20", "--format", "raw", "-o", profile],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            time.sleep(3)
        daemon.signal(signal.SIGHUP)
        up = wait_all_up(a, n, timeout, lambda: proc.poll() is None)
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
            spy.wait(60)
        time.sleep(2)
        result = figures(first, up, before, memory(proc.pid), n)
        tunnels = daemon.query("security", "ipsec", "security-associations")["tunnels"]
        result["shown_up"] = sum(1 for t in tunnels if t["sas"])
        return result
    finally:
        lab.close(failed=False, artifacts=None)


def run_charon(base: Path, n: int, timeout: float) -> dict[str, Any]:
    lab = Lab.create("charon-vs-charon", base)
    lab.capture = False
    try:
        a, dev_a = topology(lab, n)
        for i in range(1, n + 1):
            xfrm_interface(a, f"st0.{i}", i, dev_a, unit_address(i))

        def tunnels(count: int) -> dict[str, Any]:
            return {f"t{i}": connection(INITIATOR, responder_address(i), i, True)
                    for i in range(1, count + 1)}  # fmt: skip

        t0 = time.monotonic()
        swan = lab.strongswan(a, tunnels(1), psk_secrets(LAB_PSK), log_levels=QUIET)
        swan.load()
        assert swan.process is not None
        proc = swan.process.proc
        wait_all_up(a, 1, timeout, lambda: proc.poll() is None)
        first = time.monotonic() - t0
        time.sleep(2)
        before = memory(proc.pid)
        swan.connections = tunnels(n)
        t1 = time.monotonic()
        swan.load()
        wait_all_up(a, n, timeout, lambda: proc.poll() is None)
        up = time.monotonic() - t1  # from the load, as xfrmctl's from its SIGHUP
        time.sleep(2)
        return figures(first, up, before, memory(proc.pid), n)
    finally:
        lab.close(failed=False, artifacts=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="tunnels (2..254)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per step")
    parser.add_argument("--profile", help="write py-spy's collapsed stacks of xfrmctl to this file "
                        "while its tunnels come up (pip install '.[bench]')")  # fmt: skip
    args = parser.parse_args()
    if not 2 <= args.n <= 254:
        parser.error("--n must be 2..254 (one responder address per tunnel in 198.19.1.0/24)")
    if os.geteuid() != 0:
        parser.error("run as root in the lab VM: integration/run_vm.py --exec '...'")
    base = Path(tempfile.mkdtemp(prefix="tunnels-vm-"))
    progress(f"xfrmctl initiating {args.n} tunnels to charon")
    x = run_xfrmctl(base, args.n, args.timeout, args.profile)
    print(f"xfrmctl -> charon: {x}", flush=True)
    progress(f"charon initiating {args.n} tunnels to charon")
    c = run_charon(base, args.n, args.timeout)
    print(f"charon  -> charon: {c}", flush=True)
    per_tunnel = c["rss_per_tunnel_kib"]
    print(json.dumps({
        "n": args.n,
        "xfrmctl_all_up_s": x["all_up_s"],
        "charon_all_up_s": c["all_up_s"],
        "xfrmctl_tunnels_per_s": round((args.n - 1) / x["all_up_s"], 2),
        "charon_tunnels_per_s": round((args.n - 1) / c["all_up_s"], 2),
        "time_ratio": round(x["all_up_s"] / c["all_up_s"], 3),
        "xfrmctl_rss_per_tunnel_kib": x["rss_per_tunnel_kib"],
        "charon_rss_per_tunnel_kib": per_tunnel,
        "rss_per_tunnel_ratio": round(x["rss_per_tunnel_kib"] / per_tunnel, 3)
        if per_tunnel > 0 else None,
        "xfrmctl_anon_per_tunnel_kib": x["anon_per_tunnel_kib"],
        "charon_anon_per_tunnel_kib": c["anon_per_tunnel_kib"],
        "xfrmctl_rss_kib": x["rss_after_kib"],
        "charon_rss_kib": c["rss_after_kib"],
        "xfrmctl_first_up_s": x["first_up_s"],
        "charon_first_up_s": c["first_up_s"],
        "xfrmctl_shown_up": x["shown_up"],
    }))  # fmt: skip


if __name__ == "__main__":
    main()
