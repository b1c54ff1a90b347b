"""Two `xfrmctl daemon --fake-kernel` processes negotiate real IKEv2 over UDP between two network
namespaces of this host (no ESP needed: the kernel objects stay in each daemon's memory)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from daemon_harness import config  # type: ignore[import-not-found, unused-ignore]

from xfrmctl.cli.client import ControlClient, ControlClientError

XFRMCTL = str(Path(sys.executable).with_name("xfrmctl"))
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None, reason="needs root and iproute2"
)


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=30)


@contextlib.contextmanager
def namespaces() -> Iterator[tuple[str, str]]:
    tag = f"{os.getpid() % 100000}"
    a, b = f"xdta{tag}", f"xdtb{tag}"
    try:
        ip("netns", "add", a)
        ip("netns", "add", b)
        ip("link", "add", "eth0", "netns", a, "type", "veth", "peer", "name", "eth0", "netns", b)
        for ns, addr in ((a, "192.0.2.1/24"), (b, "192.0.2.2/24")):
            ip("-n", ns, "addr", "add", addr, "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")
        yield a, b
    finally:
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, check=False)


def show(sock: Path, *words: str) -> Any:
    result = ControlClient(str(sock), timeout=10).call(tuple(words), {})
    return json.loads(json.dumps(result))


def test_two_daemons_in_namespaces(tmp_path: Path) -> None:
    vpn_a = {"unit": 0, "address": "198.18.255.1/30", "route": "198.18.2.0/24"}
    vpn_b = {"unit": 0, "address": "198.18.255.2/30", "route": "198.18.1.0/24"}
    text_a = config(local="192.0.2.1", remote="192.0.2.2", vpns={"vpn1": vpn_a})
    text_b = config(
        local="192.0.2.2", remote="192.0.2.1", vpns={"vpn1": vpn_b}, establish="on-traffic"
    )
    (tmp_path / "a.yaml").write_text(text_a)
    (tmp_path / "b.yaml").write_text(text_b)
    procs: list[subprocess.Popen[bytes]] = []
    with namespaces() as (ns_a, ns_b):
        try:
            for ns, name in ((ns_b, "b"), (ns_a, "a")):
                argv = [
                    *("ip", "netns", "exec", ns, XFRMCTL, "daemon", "--fake-kernel"),
                    *("--config", str(tmp_path / f"{name}.yaml")),
                    *("--socket", str(tmp_path / f"{name}.sock"), "--log-format", "json"),
                ]
                with (tmp_path / f"{name}.log").open("wb") as log:
                    procs.append(
                        subprocess.Popen(
                            argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                        )
                    )
            deadline = time.monotonic() + 60
            ike: list[Any] = []
            while time.monotonic() < deadline:
                with contextlib.suppress(ControlClientError):
                    ike = show(tmp_path / "a.sock", "show", "security", "ike",
                               "security-associations")["ike_security_associations"]  # fmt: skip
                    if ike and ike[0]["state"] == "UP":
                        tunnels = show(tmp_path / "a.sock", "show", "security", "ipsec",
                                       "security-associations")["tunnels"]  # fmt: skip
                        if tunnels:
                            break
                assert all(p.poll() is None for p in procs), (tmp_path / "a.log").read_text()
                time.sleep(0.2)
            else:
                raise AssertionError((tmp_path / "a.log").read_text())
            sa = "security-associations"
            ta = show(tmp_path / "a.sock", "show", "security", "ipsec", sa)["tunnels"]
            tb = show(tmp_path / "b.sock", "show", "security", "ipsec", sa)["tunnels"]
            a_spis = [(s["direction"], s["spi"]) for s in ta[0]["sas"]]
            b_spis = {s["direction"]: s["spi"] for s in tb[0]["sas"]}
            assert a_spis == [("inbound", b_spis["outbound"]), ("outbound", b_spis["inbound"])]
            assert ta[0]["tunnel_id"] == tb[0]["tunnel_id"] == 131073
            ike_b = show(tmp_path / "b.sock", "show", "security", "ike", sa)
            [peer] = ike_b["ike_security_associations"]
            assert peer["role"] == "Responder"
            assert peer["initiator_cookie"] == ike[0]["initiator_cookie"]
            # SIGHUP reloads; an unchanged file changes nothing
            os.kill(procs[1].pid, signal.SIGHUP)
            deadline = time.monotonic() + 30
            while "configuration unchanged" not in (tmp_path / "a.log").read_text():
                assert time.monotonic() < deadline, (tmp_path / "a.log").read_text()
                time.sleep(0.1)
            again = show(tmp_path / "a.sock", "show", "security", "ipsec", sa)["tunnels"]
            assert [(s["direction"], s["spi"]) for s in again[0]["sas"]] == a_spis
        finally:
            for p in reversed(procs):
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        assert [p.returncode for p in procs] == [0, 0]
        assert "shutting down" in (tmp_path / "a.log").read_text()
