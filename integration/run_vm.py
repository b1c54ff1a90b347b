"""Boot the lab VM once and run the integration suite (or the demo) inside it.

The host's kernel cannot do ESP, so everything that needs the data plane runs in a virtme-ng VM
under software emulation. One boot runs everything: the VM shares the host's root filesystem
(read-only) and one writable results folder. The inside runner writes its exit status, JUnit XML
and log there; this host side decides pass or fail from those files only, so a VM that never
booted, or a suite that never reported, is a failure and never a silent pass.

Each boot also runs a tiny self-test session with one deliberately failing test; its results go
through the same evaluation, which must call them a failure. That proves in every run that a
failing test inside the VM makes this command fail.

Usage:
    python integration/run_vm.py                 # whole integration suite
    python integration/run_vm.py -- -k strongswan -x   # pytest arguments after --
    python integration/run_vm.py --demo          # the README demo
    python integration/run_vm.py --quick -- -k nhtb    # development run: no self-test
    python integration/run_vm.py --exec 'python bench/x.py'  # one command (e.g. a benchmark)
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK_PATH = Path("/tmp/xfrmctl-vm.lock")
BOOT_TIMEOUT_S = 300.0
DEFAULT_TIMEOUT_S = 72 * 60.0  # CI has 90 minutes in all; the suite takes about 55


@dataclass(frozen=True)
class Outcome:
    """What one pytest session inside the VM reported."""

    passed: bool
    reason: str
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    summary_line: str = ""


def evaluate(results: Path) -> Outcome:
    """Judge a pytest session from the files it left; anything missing is a failure."""
    code_file = results / "exitcode"
    junit = results / "junit.xml"
    summary = _summary_line(results / "pytest.log")
    if not code_file.exists():
        return Outcome(False, "the suite never reported an exit status", summary_line=summary)
    try:
        code = int(code_file.read_text().strip())
    except ValueError:
        return Outcome(False, f"unreadable exit status {code_file.read_text()!r}")
    if not junit.exists():
        return Outcome(False, f"no JUnit report (pytest exit status {code})", summary_line=summary)
    try:
        tests, failures, errors, skipped = _junit_counts(junit)
    except (ET.ParseError, ValueError) as exc:
        return Outcome(False, f"unreadable JUnit report: {exc}", summary_line=summary)
    counts = {
        "tests": tests,
        "failures": failures,
        "errors": errors,
        "skipped": skipped,
        "summary_line": summary,
    }
    if code != 0:
        return Outcome(False, f"pytest exit status {code}", **counts)  # type: ignore[arg-type]
    if tests - skipped <= 0:
        return Outcome(False, "no test ran", **counts)  # type: ignore[arg-type]
    if failures or errors:
        return Outcome(False, "failures reported", **counts)  # type: ignore[arg-type]
    return Outcome(True, "ok", **counts)  # type: ignore[arg-type]


def _junit_counts(junit: Path) -> tuple[int, int, int, int]:
    root = ET.parse(junit).getroot()
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    totals = [0, 0, 0, 0]
    for suite in suites:
        for i, key in enumerate(("tests", "failures", "errors", "skipped")):
            totals[i] += int(suite.get(key, "0"))
    return totals[0], totals[1], totals[2], totals[3]


def _summary_line(log: Path) -> str:
    """The last '=== ... passed/failed ... ===' line pytest printed."""
    if not log.exists():
        return ""
    for line in reversed(log.read_text(errors="replace").splitlines()):
        stripped = line.strip()
        if stripped.startswith("=") and (" in " in stripped) and stripped.endswith("="):
            return stripped
    return ""


def selftest_verdict(outcome: Outcome) -> str | None:
    """None when the self-test session was judged exactly as it must be, else what went wrong."""
    if outcome.passed:
        return "a deliberately failing test inside the VM was judged a pass"
    if outcome.failures != 1 or outcome.tests != 2:
        return f"self-test expected 2 tests with 1 failure, got {outcome}"
    return None


def find_kernel() -> Path:
    kernels = sorted(Path("/boot").glob("vmlinuz-*-amd64"), key=lambda p: _version_key(p.name))
    if not kernels:
        raise SystemExit(
            "error: no Debian kernel in /boot (apt-get install linux-image-amd64; see README)"
        )
    return kernels[-1]


def _version_key(name: str) -> list[int | str]:
    out: list[int | str] = []
    for part in name.replace("-", ".").split("."):
        out.append(int(part) if part.isdigit() else part)
    return [p for p in out if isinstance(p, int)]


@contextlib.contextmanager
def vm_lock(slots: int = 1) -> Iterator[None]:
    """At most `slots` VMs at a time: more TCG guests than cores starve each other and make
    timing-sensitive scenarios slow. Slot 0 is LOCK_PATH itself, so older runners waiting on it
    still take turns."""
    paths = [LOCK_PATH] + [LOCK_PATH.with_name(f"{LOCK_PATH.name}.{i}") for i in range(1, slots)]
    handles = [path.open("w") for path in paths]
    try:
        announced = False
        while True:
            for fh in handles:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue
                yield
                return
            if not announced:
                print("waiting for another lab VM to finish ...", flush=True)
                announced = True
            if len(handles) == 1:
                fcntl.flock(handles[0], fcntl.LOCK_EX)
                yield
                return
            time.sleep(2)
    finally:
        for fh in handles:
            fh.close()


def vng_command(kernel: Path, results: Path, inner: str, cpus: int, memory: str) -> list[str]:
    vng = shutil.which("vng") or str(Path(sys.executable).parent / "vng")
    return [
        vng,
        "-r",
        str(kernel),
        "--disable-kvm",
        "--cpus",
        str(cpus),
        "--memory",
        memory,
        "--rwdir",
        str(results),
        "--exec",
        inner,
    ]


def _stream(path: Path, offset: int) -> int:
    """Print what a growing log gained since offset; return the new offset."""
    if not path.exists():
        return offset
    with path.open("rb") as fh:
        fh.seek(offset)
        chunk = fh.read()
    if chunk:
        sys.stdout.write(chunk.decode(errors="replace"))
        sys.stdout.flush()
    return offset + len(chunk)


def boot_once(
    kernel: Path, results: Path, inner: str, cpus: int, memory: str, timeout: float
) -> tuple[bool, float | None]:
    """Run one VM; returns (booted, seconds until the inside runner started)."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}"
    vm_log = (results / "vm-console.log").open("wb")
    start = time.monotonic()
    proc = subprocess.Popen(
        vng_command(kernel, results, inner, cpus, memory),
        stdin=subprocess.DEVNULL,
        stdout=vm_log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
        cwd=ROOT,
    )
    booted_at: float | None = None
    offset = 0
    try:
        while proc.poll() is None:
            time.sleep(0.5)
            now = time.monotonic()
            if booted_at is None and (results / "booted").exists():
                booted_at = now - start
                print(f"[lab] VM booted in {booted_at:.1f} s", flush=True)
            offset = _stream(results / "console.log", offset)
            if booted_at is None and now - start > BOOT_TIMEOUT_S:
                print(f"[lab] VM did not boot within {BOOT_TIMEOUT_S:.0f} s", flush=True)
                break
            if now - start > timeout:
                print(f"[lab] VM run exceeded {timeout:.0f} s; stopping it", flush=True)
                break
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        vm_log.close()
    _stream(results / "console.log", offset)
    if booted_at is None and (results / "booted").exists():
        booted_at = time.monotonic() - start
    return booted_at is not None, booted_at


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo", action="store_true", help="run the demo instead of the suite")
    parser.add_argument(
        "--exec",
        dest="command",
        default=None,
        metavar="CMD",
        help="run one shell command in the VM instead of the suite (e.g. a benchmark)",
    )
    parser.add_argument("--results", type=Path, default=None, help="folder for results")
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--memory", default="2G")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S)
    parser.add_argument(
        "--vm-slots",
        type=int,
        default=int(os.environ.get("XFRMCTL_VM_SLOTS", "1")),
        help="how many lab VMs may run at once on this machine (default 1, or $XFRMCTL_VM_SLOTS)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="skip the harness self-test (development runs only; CI always runs it)",
    )
    parser.add_argument("pytest_args", nargs="*", help="arguments for pytest inside the VM")
    args = parser.parse_args(argv)

    kernel = find_kernel()
    results = args.results or ROOT / "artifacts" / time.strftime("vm-%Y%m%d-%H%M%S")
    results = results.resolve()
    mode = "demo" if args.demo else ("quick" if args.quick else "suite")
    quoted = " ".join(_shell_quote(a) for a in args.pytest_args)
    if args.command is not None:
        mode, quoted = "exec", _shell_quote(args.command)
    inner = f"bash {ROOT}/integration/inside.sh {mode} {results} {sys.executable} {quoted}"

    # a terminated run stops its VM too (boot_once's cleanup runs on SystemExit)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    precompile()
    with vm_lock(max(1, args.vm_slots)):
        for attempt in (1, 2):
            if results.exists():
                shutil.rmtree(results)
            results.mkdir(parents=True)
            print(f"[lab] booting {kernel.name} (attempt {attempt}); results in {results}")
            booted, boot_s = boot_once(kernel, results, inner, args.cpus, args.memory, args.timeout)
            if booted:
                break
            print("[lab] the VM did not boot; console output follows", flush=True)
            print((results / "vm-console.log").read_text(errors="replace")[-4000:])
        else:
            print("[lab] FAILED: the VM did not boot twice")
            return 1

    if args.demo or args.command is not None:
        return _demo_status(results, "demo" if args.demo else "command")
    return _suite_status(results, boot_s, selftest_ran=not args.quick)


def precompile() -> None:
    """Byte-compile the project on the host: the VM sees the checkout read-only, so without
    this every Python process inside would recompile every module under emulation."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", "xfrmctl", "integration", "tests"],
        cwd=ROOT,
        check=False,
        stdout=subprocess.DEVNULL,
    )


def _demo_status(results: Path, what: str = "demo") -> int:
    code_file = results / "exitcode"
    if not code_file.exists():
        print(f"[lab] FAILED: the {what} never reported an exit status")
        return 1
    code = int(code_file.read_text().strip() or "1")
    print(f"[lab] {what} {'finished' if code == 0 else 'FAILED'} (exit status {code})")
    return code


def _suite_status(results: Path, boot_s: float | None, selftest_ran: bool = True) -> int:
    verdict = selftest_verdict(evaluate(results / "selftest")) if selftest_ran else None
    suite = evaluate(results / "suite")
    timing = (results / "timing").read_text().strip() if (results / "timing").exists() else ""
    print()
    print(f"[lab] boot: {boot_s:.1f} s; {timing}" if boot_s is not None else f"[lab] {timing}")
    if selftest_ran:
        print(f"[lab] harness self-test: {'ok' if verdict is None else 'FAILED: ' + verdict}")
    print(f"[lab] integration suite: {suite.summary_line or suite.reason}")
    if verdict is not None:
        return 1
    if not suite.passed:
        print(f"[lab] FAILED: {suite.reason}; artefacts kept in {results}")
        return 1
    return 0


def _shell_quote(arg: str) -> str:
    if arg and all(c.isalnum() or c in "-_./=:,+@" for c in arg):
        return arg
    return "'" + arg.replace("'", "'\"'\"'") + "'"


if __name__ == "__main__":
    sys.exit(main())
