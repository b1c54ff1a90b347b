"""IKEv2 setups per second and memory per tunnel: xfrmctl against strongSwan's charon as responder.

The load generator is charon with its load-tester plugin (built by
`/work/shared/lab/loadtest-strongswan.sh` into /opt/strongswan-lt), in one network namespace; the
responder is charon (swanctl configuration, load-tester's fake kernel) or `xfrmctl daemon
--fake-kernel` (a Junos `dynamic` gateway with a group IKE id) in another, joined by a veth pair.
Both responders run back to back with the same generator settings, for each proposal. Per run:
setups/s (wall, and steady between 10 % and 90 % established), the responder's CPU ms per setup
(utime + stime from /proc/PID/stat), its RSS growth per established tunnel (2 s after the last),
failed setups and retransmissions (UDP datagrams beyond two per setup, from each namespace's
/proc/net/snmp), then the ratios
xfrmctl/charon. The last line of output is one JSON object. Run as root; every run is bounded by
--timeout. Only figures are printed, nothing is asserted.

    python bench/ike_setup.py [--n 3000] [--initiators 4] [--delay 1] [--init-limit 64]
                              [--proposal x25519|modp2048 ...] [--responder charon|xfrmctl ...]
                    [--profile PREFIX]   (py-spy: pip install '.[bench]')
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path

NS_I, NS_R = "xb-ini", "xb-rsp"
DEV_I, DEV_R = "xb-vi", "xb-vr"
IP_I, IP_R = "192.0.2.1", "192.0.2.2"
PSK = "loadtest-psk-0123456789abcdef"
# Plugin order as in Debian 12's charon (aesni first; openssl does DH incl. x25519) + load-tester.
PLUGINS = (
    "aesni aes rc2 sha2 sha1 md5 random nonce x509 revocation constraints pubkey pkcs1 pkcs7 "
    "pkcs12 pgp dnskey sshkey pem openssl pkcs8 fips-prf xcbc hmac kdf gcm drbg attr load-tester "
    "kernel-netlink socket-default vici"
)
HZ = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Proposal:
    """One IKE/ESP proposal in strongSwan's and in Junos's words."""

    name: str
    ike: str
    esp: str
    junos_ike: tuple[str, ...]  # ike proposal statements
    junos_ipsec: tuple[str, ...]  # ipsec proposal statements


PROPOSALS = {
    "x25519": Proposal(
        "x25519", "aes128gcm16-prfsha256-x25519", "aes128gcm16",
        ("dh-group group31", "authentication-algorithm sha-256",
         "encryption-algorithm aes-128-gcm"),
        ("encryption-algorithm aes-128-gcm",),
    ),
    "modp2048": Proposal(
        "modp2048", "aes128-sha256-modp2048", "aes128-sha256",
        ("dh-group group14", "authentication-algorithm sha-256",
         "encryption-algorithm aes-128-cbc"),
        ("encryption-algorithm aes-128-cbc", "authentication-algorithm hmac-sha-256-128"),
    ),
}  # fmt: skip


@dataclass
class Result:
    responder: str
    proposal: str
    n: int
    established: int
    wall_s: float | None
    setups_per_s_wall: float | None
    setups_per_s_steady: float | None
    cpu_ms_per_setup: float | None
    rss_kib_before: int
    rss_kib_after: int
    rss_bytes_per_tunnel: float | None
    failed: int
    retransmissions: int
    responder_tx: int
    initiator_tx: int
    responder_rcvbuf_drops: int  # datagrams the responder's kernel dropped (socket queue full)
    engine_events: dict[str, int]  # xfrmctl only: what its IKEv2 engine dropped or defended


# ---------------------------------------------------------------------------------- processes


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / HZ


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def udp_out(ns: str, counter: str = "OutDatagrams") -> int:
    """A UDP counter of namespace `ns` (/proc/net/snmp is per namespace): IKE only here.
    OutDatagrams: sent; RcvbufErrors: dropped because the socket's receive queue was full."""
    out = subprocess.run(["ip", "netns", "exec", ns, "cat", "/proc/net/snmp"],
                         capture_output=True, text=True, check=False).stdout  # fmt: skip
    rows = [line.split()[1:] for line in out.splitlines() if line.startswith("Udp:")]
    if len(rows) < 2:
        return -1
    return int(dict(zip(rows[0], rows[1], strict=False)).get(counter, -1))


METRICS_PORT = 9921  # the xfrmctl responder's --metrics, on the responder namespace's loopback


def xfrmctl_engine_events() -> dict[str, int]:
    """The responder's IKEv2 engine events (messages dropped or refused, COOKIEs demanded,
    rate limits, retransmissions) from its metrics; non-zero ones only."""
    code = ("import urllib.request; print(urllib.request.urlopen("
            f"'http://127.0.0.1:{METRICS_PORT}/metrics', timeout=20).read().decode())")
    out = subprocess.run(["ip", "netns", "exec", NS_R, sys.executable, "-c", code],
                         capture_output=True, text=True, check=False, timeout=60).stdout
    events: dict[str, int] = {}
    for line in out.splitlines():
        if line.startswith("xfrmctl_ike_engine_events_total{") and 'version="IKEv2"' in line:
            labels, _, value = line.rpartition(" ")
            reason = labels.split('reason="', 1)[1].split('"', 1)[0]
            if float(value):
                events[reason] = int(float(value))
    return events


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End a process this benchmark started (by its own PID)."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@contextmanager
def namespaces() -> Iterator[None]:
    def clean() -> None:
        for ns in (NS_I, NS_R):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)

    clean()
    try:
        for cmd in (
            f"netns add {NS_I}", f"netns add {NS_R}",
            f"-n {NS_I} link set lo up", f"-n {NS_R} link set lo up",
            f"link add {DEV_I} type veth peer name {DEV_R}",
            f"link set {DEV_I} netns {NS_I}", f"link set {DEV_R} netns {NS_R}",
            f"-n {NS_I} addr add {IP_I}/24 dev {DEV_I}",
            f"-n {NS_R} addr add {IP_R}/24 dev {DEV_R}",
            f"-n {NS_I} link set {DEV_I} up", f"-n {NS_R} link set {DEV_R} up",
        ):  # fmt: skip
            subprocess.run(["ip", *cmd.split()], check=True)
        time.sleep(0.5)
        yield
    finally:
        clean()


# ---------------------------------------------------------------------------------- vici


class Vici:
    """Just enough of strongSwan's vici protocol to read `stats`."""

    def __init__(self, path: str) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)

    def close(self) -> None:
        self.sock.close()

    def _recv(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def stats(self) -> tuple[int, int]:
        """(IKE SAs, half-open IKE SAs)."""
        name = b"stats"
        packet = bytes([0, len(name)]) + name
        self.sock.sendall(struct.pack(">I", len(packet)) + packet)
        while True:
            data = self._recv(struct.unpack(">I", self._recv(4))[0])
            if data[0] == 1:
                break
        body = data[1:]
        values: dict[str, str] = {}
        i, section = 0, ""
        while i < len(body):
            kind = body[i]
            i += 1
            if kind in (1, 3, 4):
                key = body[i + 1 : i + 1 + body[i]].decode()
                i += 1 + body[i]
                if kind == 1:
                    section = key
                elif kind == 3:
                    n = struct.unpack(">H", body[i : i + 2])[0]
                    values[f"{section}.{key}"] = body[i + 2 : i + 2 + n].decode()
                    i += 2 + n
            elif kind == 5:
                i += 2 + struct.unpack(">H", body[i : i + 2])[0]
        return int(values["ikesas.total"]), int(values["ikesas.half-open"])


def wait_socket(path: str, proc: subprocess.Popen[bytes], seconds: float = 20.0) -> None:
    end = time.monotonic() + seconds
    while not os.path.exists(path):
        if proc.poll() is not None or time.monotonic() > end:
            raise RuntimeError(f"{path} did not appear (exit {proc.poll()})")
        time.sleep(0.05)


# ---------------------------------------------------------------------------------- daemons


def charon_conf(path: Path, load_tester: str, extra: str = "") -> None:
    path.mkdir(parents=True, exist_ok=True)
    (path / "strongswan.conf").write_text(f"""charon {{
  load = {PLUGINS}
  {extra}
  plugins {{
    vici {{ socket = unix://{path}/charon.vici }}
    load-tester {{
      {load_tester}
      socket = unix://{path}/charon.ldt
    }}
  }}
  syslog {{ daemon {{ default = -1 }} }}
  filelog {{ lt {{ path = {path}/charon.log
    append = no
    default = 0 }} }}
}}
""")


def start_charon(prefix: str, ns: str, path: Path) -> subprocess.Popen[bytes]:
    cmd = ["ip", "netns", "exec", ns, "unshare", "-m", "sh", "-c",
           f"mount -t tmpfs none /run && STRONGSWAN_CONF={path}/strongswan.conf "
           f"exec {prefix}/libexec/ipsec/charon"]  # fmt: skip
    out = open(path / "stdout", "wb")  # noqa: SIM115 - owned by the child
    return subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)


def charon_responder(prefix: str, prop: Proposal, work: Path, table: int
                     ) -> subprocess.Popen[bytes]:  # fmt: skip
    """charon with a hashed IKE_SA table (as the issue's anchor figures), or `table` 1: its
    stock single list, whose per-message cost grows with the number of SAs."""
    r = work / "r"
    segments = 1 if table == 1 else 16
    charon_conf(r, "enable = yes\n      fake_kernel = yes\n      initiators = 0\n"
                f"      preshared_key = {PSK}",
                f"threads = 16\n  ikesa_table_size = {table}\n  ikesa_table_segments = {segments}\n"
                "  dos_protection = no")  # fmt: skip
    (r / "swanctl.conf").write_text(f"""connections {{
  lt {{
    version = 2
    local_addrs = {IP_R}
    proposals = {prop.ike}
    local {{ auth = psk
      id = srv.strongswan.org }}
    remote {{ auth = psk }}
    children {{ lt {{ esp_proposals = {prop.esp}
      mode = tunnel }} }}
  }}
}}
secrets {{ ike-lt {{ secret = {PSK} }} }}
""")
    proc = start_charon(prefix, NS_R, r)
    wait_socket(f"{r}/charon.vici", proc)
    subprocess.run([f"{prefix}/sbin/swanctl", "--load-all", "--noprompt", "--uri",
                    f"unix://{r}/charon.vici", "--file", f"{r}/swanctl.conf"],
                   check=True, capture_output=True)  # fmt: skip
    return proc


def xfrmctl_config(prop: Proposal) -> str:
    """One dynamic gateway accepting every load-tester initiator (`cN-rM.strongswan.org`)."""
    lines = [
        "set security ike proposal LT authentication-method pre-shared-keys",
        *(f"set security ike proposal LT {s}" for s in prop.junos_ike),
        "set security ike policy LT proposals LT",
        f'set security ike policy LT pre-shared-key ascii-text "{PSK}"',
        "set security ike gateway LT ike-policy LT",
        "set security ike gateway LT dynamic hostname strongswan.org",
        "set security ike gateway LT dynamic ike-user-type group-ike-id",
        "set security ike gateway LT local-identity hostname srv.strongswan.org",
        f"set security ike gateway LT external-interface {DEV_R}",
        "set security ike gateway LT version v2-only",
        "set security ipsec proposal LT protocol esp",
        *(f"set security ipsec proposal LT {s}" for s in prop.junos_ipsec),
        "set security ipsec policy LT proposals LT",
        "set interfaces st0 unit 0 family inet",
        "set security ipsec vpn LT bind-interface st0.0",
        "set security ipsec vpn LT ike gateway LT",
        "set security ipsec vpn LT ike ipsec-policy LT",
    ]
    return "\n".join(lines) + "\n"


def xfrmctl_responder(prop: Proposal, work: Path, cprofile: str | None = None
                      ) -> subprocess.Popen[bytes]:  # fmt: skip
    r = work / "r"
    r.mkdir(parents=True, exist_ok=True)
    (r / "xfrmctl.set").write_text(xfrmctl_config(prop))
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    python = [sys.executable, "-m", "cProfile", "-o", cprofile, "-m", "xfrmctl.cli.main"] if (
        cprofile) else [sys.executable, "-c", "from xfrmctl.cli.main import app; app()"]
    cmd = ["ip", "netns", "exec", NS_R, *python, "daemon", "--config",
           f"{r}/xfrmctl.set", "--socket", f"{r}/control.sock", "--fake-kernel",
           "--log-format", "json", "--metrics", f"127.0.0.1:{METRICS_PORT}"]  # fmt: skip
    out = open(r / "daemon.log", "wb")  # noqa: SIM115 - owned by the child
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    wait_socket(f"{r}/control.sock", proc)
    return proc


def xfrmctl_ike_count(sock: str) -> int:
    """Established IKE SAs, asked once at the end through the control socket."""
    from xfrmctl.cli.client import ControlClient  # noqa: PLC0415

    result = ControlClient(sock, timeout=60).call(("show", "security", "ike",
                                                   "security-associations"), {})  # fmt: skip
    assert isinstance(result, dict)
    sas = result["ike_security_associations"]
    assert isinstance(sas, list)
    return sum(1 for sa in sas if isinstance(sa, dict) and sa.get("state") == "UP")


# ---------------------------------------------------------------------------------- one run


def run_one(args: argparse.Namespace, responder: str, prop: Proposal, work: Path) -> Result:
    iterations = (args.n + args.initiators - 1) // args.initiators
    n = iterations * args.initiators
    with namespaces():
        rsp = (charon_responder(args.sw_prefix, prop, work, args.charon_table)
               if responder == "charon"
               else xfrmctl_responder(prop, work, args.cprofile and
                                      f"{args.cprofile}-{prop.name}.prof"))  # fmt: skip
        ini: subprocess.Popen[bytes] | None = None
        vici: Vici | None = None
        spy: subprocess.Popen[bytes] | None = None
        try:
            if args.profile and responder == "xfrmctl":
                spy = subprocess.Popen(
                    [str(Path(sys.executable).parent / "py-spy"), "record", "--pid",
                     str(rsp.pid), "--nonblocking", "--rate", "250", "--format", "raw", "-o",
                     f"{args.profile}-{prop.name}.txt"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
            time.sleep(1.0)
            cpu0, rss0 = cpu_seconds(rsp.pid), rss_kib(rsp.pid)
            rtx0, itx0 = udp_out(NS_R), udp_out(NS_I)
            drops0 = udp_out(NS_R, "RcvbufErrors")
            i = work / "i"
            charon_conf(i, f"""enable = yes
      fake_kernel = yes
      version = 2
      initiators = {args.initiators}
      iterations = {iterations}
      delay = {args.delay}
      init_limit = {args.init_limit}
      initiator = {IP_I}
      responder = {IP_R}
      proposal = {prop.ike}
      esp = {prop.esp}
      initiator_auth = psk
      responder_auth = psk
      preshared_key = {PSK}""", "reuse_ikesa = no\n  ikesa_table_size = 4096\n"
                        "  ikesa_table_segments = 16")  # fmt: skip
            t0 = time.monotonic()
            ini = start_charon(args.sw_prefix, NS_I, i)
            wait_socket(f"{i}/charon.vici", ini)
            vici = Vici(f"{i}/charon.vici")
            timeline: list[tuple[float, int]] = []
            done: float | None = None
            while time.monotonic() - t0 < args.timeout and ini.poll() is None:
                time.sleep(0.1)
                total, half = vici.stats()
                t = time.monotonic() - t0
                timeline.append((t, total - half))
                if total - half >= n and half == 0:
                    done = t
                    break
            cpu1 = cpu_seconds(rsp.pid)
            time.sleep(2.0)
            rss1 = rss_kib(rsp.pid)
            total, half = vici.stats()
            established = total - half
            rtx, itx = udp_out(NS_R) - rtx0, udp_out(NS_I) - itx0
            drops = udp_out(NS_R, "RcvbufErrors") - drops0
            events = xfrmctl_engine_events() if responder == "xfrmctl" else {}
            if responder == "xfrmctl":
                established = min(established, xfrmctl_ike_count(f"{work}/r/control.sock"))
        finally:
            if vici is not None:
                vici.close()
            if ini is not None:
                stop(ini)
            if spy is not None:
                spy.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
                spy.wait(30)
            stop(rsp)

    def at(frac: float) -> float | None:
        return next((t for t, e in timeline if e >= frac * n), None)

    t10, t90 = at(0.1), at(0.9)
    steady = 0.8 * n / (t90 - t10) if t10 is not None and t90 is not None and t90 > t10 else None
    cpu = cpu1 - cpu0
    return Result(
        responder=responder,
        proposal=prop.name,
        n=n,
        established=established,
        wall_s=round(done, 2) if done else None,
        setups_per_s_wall=round(n / done, 1) if done else None,
        setups_per_s_steady=round(steady, 1) if steady else None,
        cpu_ms_per_setup=round(1000 * cpu / established, 3) if established else None,
        rss_kib_before=rss0,
        rss_kib_after=rss1,
        rss_bytes_per_tunnel=round((rss1 - rss0) * 1024 / established) if established else None,
        failed=n - established,
        retransmissions=max(0, rtx - 2 * n) + max(0, itx - 2 * n),
        responder_tx=rtx,
        initiator_tx=itx,
        responder_rcvbuf_drops=drops,
        engine_events=events,
    )


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=3000, help="IKE SAs (each with one child SA)")
    ap.add_argument("--initiators", type=int, default=4, help="load-tester initiator threads")
    ap.add_argument("--delay", type=int, default=1, help="ms between initiations per thread")
    ap.add_argument("--init-limit", type=int, default=64,
                    help="half-open limit of the generator (0: unpaced flood)")  # fmt: skip
    ap.add_argument("--proposal", action="append", choices=sorted(PROPOSALS))
    ap.add_argument("--responder", action="append", choices=("charon", "xfrmctl"))
    ap.add_argument("--timeout", type=float, default=300.0, help="seconds per run, at most")
    ap.add_argument("--sw-prefix", default="/opt/strongswan-lt")
    ap.add_argument("--charon-table", type=int, default=4096,
                    help="responder charon's ikesa_table_size (1: its stock single list)")
    ap.add_argument("--keep", help="keep configs and logs in this directory")
    ap.add_argument("--cprofile", help="run xfrmctl under cProfile into PREFIX-PROPOSAL.prof "
                    "(deterministic counts; its CPU figures are then inflated)")  # fmt: skip
    ap.add_argument("--profile", help="sample xfrmctl with py-spy into PREFIX-PROPOSAL.txt "
                    "(collapsed stacks; its CPU figures are then slightly perturbed)")  # fmt: skip
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("run as root (network namespaces)", file=sys.stderr)
        return 2
    if not os.path.exists(f"{args.sw_prefix}/libexec/ipsec/charon"):
        print(f"no charon in {args.sw_prefix}: run loadtest-strongswan.sh once", file=sys.stderr)
        return 2
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ike-setup-"))
    results: list[Result] = []
    try:
        for pname in args.proposal or ["x25519", "modp2048"]:
            for responder in args.responder or ["charon", "xfrmctl"]:
                run_dir = work / f"{pname}-{responder}"
                shutil.rmtree(run_dir, ignore_errors=True)
                res = run_one(args, responder, PROPOSALS[pname], run_dir)
                results.append(res)
                print(" ".join(f"{k}={v}" for k, v in asdict(res).items()), flush=True)
    finally:
        if not args.keep:
            with suppress(OSError):
                shutil.rmtree(work)
    ratios: dict[str, dict[str, float | None]] = {}
    for pname in PROPOSALS:
        by = {r.responder: r for r in results if r.proposal == pname}
        if "charon" in by and "xfrmctl" in by:
            x, c = by["xfrmctl"], by["charon"]
            ratios[pname] = {
                "cpu_per_setup": ratio(x.cpu_ms_per_setup, c.cpu_ms_per_setup),
                "rss_per_tunnel": ratio(x.rss_bytes_per_tunnel, c.rss_bytes_per_tunnel),
                "setups_per_s_wall": ratio(x.setups_per_s_wall, c.setups_per_s_wall),
                "setups_per_s_steady": ratio(x.setups_per_s_steady, c.setups_per_s_steady),
            }
            shown = " ".join(f"{k}={v}" for k, v in ratios[pname].items())
            print(f"xfrmctl/charon {pname}: {shown}")
    print(json.dumps({
        "benchmark": "ike_setup",
        "settings": {"initiators": args.initiators, "delay_ms": args.delay,
                     "init_limit": args.init_limit},
        "runs": [asdict(r) for r in results],
        "ratios_xfrmctl_over_charon": ratios,
    }))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
