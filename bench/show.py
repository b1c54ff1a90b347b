"""`show` with 10,000 tunnels: the time of `show security ipsec security-associations` and `show
security ike security-associations` end to end through the control socket, and the daemon's RSS.

`xfrmctl daemon --fake-kernel` runs in a network namespace with the dynamic gateway of
`bench/ike_setup.py`; charon's load-tester (built by `/work/shared/lab/loadtest-strongswan.sh`)
brings up --n IKE SAs with one child SA each against it. Then each command runs --repeat times
as an operator runs it (a fresh `xfrmctl` process: start-up, request, the daemon's snapshot and
JSON, rendering the Junos layout), and --repeat times as a bare control-socket call (the
daemon's share). Best of each. Run as root. Figures only; the last line of output is one
JSON object.

    python bench/show.py [--n 10000] [--repeat 3] [--save DIR] [--profile PREFIX]

--save writes each command's raw control-socket answer to DIR (for profiling the CLI side
offline); --profile samples the daemon with py-spy during --repeat extra control-socket calls
of each command (PREFIX-ipsec.txt, PREFIX-ike.txt, collapsed stacks).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ike_setup as lt  # the generator and the responder set-up are shared

COMMANDS = {
    "show security ipsec security-associations": ("show", "security", "ipsec",
                                                  "security-associations"),
    "show security ike security-associations": ("show", "security", "ike",
                                                "security-associations"),
}  # fmt: skip


def bring_up(args: argparse.Namespace, work: Path) -> tuple[int, float]:
    """Start the generator; wait until --n IKE SAs are up on it. (established, seconds)."""
    iterations = (args.n + args.initiators - 1) // args.initiators
    prop = lt.PROPOSALS["x25519"]
    i = work / "i"
    lt.charon_conf(i, f"""enable = yes
      fake_kernel = yes
      version = 2
      initiators = {args.initiators}
      iterations = {iterations}
      delay = 1
      init_limit = 64
      initiator = {lt.IP_I}
      responder = {lt.IP_R}
      proposal = {prop.ike}
      esp = {prop.esp}
      initiator_auth = psk
      responder_auth = psk
      preshared_key = {lt.PSK}""", "reuse_ikesa = no\n  ikesa_table_size = 4096\n"
                   "  ikesa_table_segments = 16")  # fmt: skip
    t0 = time.monotonic()
    ini = lt.start_charon(args.sw_prefix, lt.NS_I, i)
    bring_up.initiator = ini  # type: ignore[attr-defined]
    lt.wait_socket(f"{i}/charon.vici", ini)
    vici = lt.Vici(f"{i}/charon.vici")
    try:
        while time.monotonic() - t0 < args.timeout and ini.poll() is None:
            time.sleep(0.5)
            total, half = vici.stats()
            if total - half >= iterations * args.initiators and half == 0:
                break
        total, half = vici.stats()
    finally:
        vici.close()
    return total - half, time.monotonic() - t0


def profile(args: argparse.Namespace, pid: int, sock: str, words: tuple[str, ...],
            path: str) -> None:
    """py-spy samples the daemon while it answers `words` --repeat times."""
    from xfrmctl.cli.client import ControlClient  # noqa: PLC0415

    spy = subprocess.Popen(
        [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid),
         "--nonblocking", "--rate", "500", "--format", "raw", "-o", path],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1.0)
    for _ in range(args.repeat):
        ControlClient(sock, timeout=120).call(words, {})
    spy.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
    spy.wait(30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=10000, help="tunnels (IKE SA + child SA)")
    ap.add_argument("--initiators", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--sw-prefix", default="/opt/strongswan-lt")
    ap.add_argument("--save", help="directory for the raw answers")
    ap.add_argument("--profile", help="py-spy the daemon's answers into PREFIX-COMMAND.txt")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("run as root (network namespaces)", file=sys.stderr)
        return 2
    from xfrmctl.cli.client import ControlClient  # noqa: PLC0415

    work = Path(tempfile.mkdtemp(prefix="show-bench-"))
    out: dict[str, object] = {"benchmark": "show", "n": args.n}
    try:
        with lt.namespaces():
            daemon = lt.xfrmctl_responder(lt.PROPOSALS["x25519"], work)
            try:
                time.sleep(1.0)
                rss0 = lt.rss_kib(daemon.pid)
                established, seconds = bring_up(args, work)
                time.sleep(2.0)
                sock = f"{work}/r/control.sock"
                out |= {"established": established, "bring_up_s": round(seconds, 1),
                        "daemon_rss_kib_idle": rss0, "daemon_rss_kib": lt.rss_kib(daemon.pid)}
                env = dict(os.environ)
                for text, words in COMMANDS.items():
                    cli: list[float] = []
                    lines = 0
                    for _ in range(args.repeat):
                        t = time.monotonic()
                        res = subprocess.run(
                            [sys.executable, "-c", "from xfrmctl.cli.main import app; app()",
                             *text.split(), "--socket", sock],
                            capture_output=True, text=True, env=env, check=False, timeout=120,
                        )  # fmt: skip
                        cli.append(time.monotonic() - t)
                        lines = res.stdout.count("\n")
                        if res.returncode:
                            print(res.stderr, file=sys.stderr)
                    calls: list[float] = []
                    for _ in range(args.repeat):
                        t = time.monotonic()
                        answer = ControlClient(sock, timeout=120).call(words, {})
                        calls.append(time.monotonic() - t)
                    call = min(calls)
                    key = "_".join(words[2:3])
                    if args.save:
                        Path(args.save).mkdir(parents=True, exist_ok=True)
                        Path(args.save, f"{key}.json").write_text(json.dumps(answer))
                    if args.profile:
                        profile(args, daemon.pid, sock, words, f"{args.profile}-{key}.txt")
                    t = time.monotonic()
                    subprocess.run([sys.executable, "-c", "import xfrmctl.cli.main"], env=env,
                                   check=False)  # fmt: skip
                    start = time.monotonic() - t
                    out[f"{key}_cli_s"] = round(min(cli), 3)
                    out[f"{key}_cli_lines"] = lines
                    out[f"{key}_socket_call_s"] = round(call, 3)
                    out["cli_import_s"] = round(start, 3)
                    print(f"{text}: {min(cli):.3f} s end to end (best of {args.repeat}, "
                          f"{lines} lines), {call:.3f} s control-socket call", flush=True)
                out["daemon_rss_kib_after_show"] = lt.rss_kib(daemon.pid)
                print(f"tunnels={established} daemon RSS {out['daemon_rss_kib']} KiB "
                      f"(idle {rss0} KiB)")
            finally:
                ini = getattr(bring_up, "initiator", None)
                if ini is not None:
                    lt.stop(ini)
                lt.stop(daemon)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
