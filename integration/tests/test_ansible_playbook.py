"""The documented playbook (docs/examples/ansible/site.yml), run by a real `ansible-playbook`
against two routers: two namespaces, each with its own xfrmctl daemon, reached by a local
connection whose Python interpreter is `ip netns exec NS python3`.

It builds the VPN (ping passes through it), a second run changes nothing, a check-mode run with a
different ESP cipher shows the diff and applies nothing, and a last run deletes the VPN."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from integration.lab.netns import Netns
from integration.lab.topology import Lab
from integration.lab.xfrmctl import XfrmctlDaemon

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / "docs" / "examples" / "ansible" / "site.yml"
BIN = Path(sys.executable).parent

pytestmark = [
    pytest.mark.vm,  # four ansible-playbook runs: about 8 minutes under the VM's emulation
    pytest.mark.skipif(not (BIN / "ansible-playbook").exists(),
                       reason="ansible-core is not installed (pip install ansible-core)"),
]  # fmt: skip
PSK = "lab-only-secret-0123456789"
RUN_TIMEOUT = 900.0  # one ansible-playbook run, under emulation and a busy host


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP counters per host."""
    found: dict[str, dict[str, int]] = {}
    for host, counters in re.findall(r"^(router-[ab])\s+:\s+(.*)$", output, re.MULTILINE):
        found[host] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", counters)}
    return found


class Playbook:
    def __init__(self, lab: Lab, routers: dict[str, tuple[Netns, XfrmctlDaemon, dict[str, str]]]):
        self.dir = lab.workdir / "ansible"
        self.dir.mkdir(parents=True, exist_ok=True)
        hosts = {}
        for host, (ns, daemon, hostvars) in routers.items():
            interpreter = self.dir / f"python-{host}"
            interpreter.write_text(
                f'#!/bin/sh\nexec ip netns exec {ns.name} /usr/bin/python3 "$@"\n'
            )
            interpreter.chmod(0o755)
            hosts[host] = {
                "ansible_connection": "local",
                "ansible_python_interpreter": str(interpreter),
                "xfrmctl_command": str(BIN / "xfrmctl"),
                "xfrmctl_config": str(daemon.config_path),
                "xfrmctl_socket": str(daemon.socket),
                "vpn_psk": PSK,
                **hostvars,
            }
        self.inventory = self.dir / "inventory.json"
        self.inventory.write_text(json.dumps({"routers": {"hosts": hosts}}))
        self.env = dict(
            os.environ,
            ANSIBLE_COLLECTIONS_PATH=str(ROOT),
            ANSIBLE_LOCAL_TEMP=str(self.dir / "tmp-local"),
            ANSIBLE_REMOTE_TEMP=str(self.dir / "tmp-remote"),
            ANSIBLE_HOME=str(self.dir / "home"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            ANSIBLE_RETRY_FILES_ENABLED="0",
            ANSIBLE_INVENTORY_ENABLED="ansible.builtin.yaml",  # the inventory is JSON (YAML)
            LC_ALL="C.UTF-8",
            PATH=f"{BIN}:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        self.runs = 0
        self.times: list[float] = []

    def run(self, *args: str, timeout: float = RUN_TIMEOUT) -> str:
        """One ansible-playbook run; its output goes to runN.log line by line, each line with
        the seconds since the run started (kept with the artefacts, also when it times out)."""
        self.runs += 1
        log = self.dir / f"run{self.runs}.log"
        argv = [str(BIN / "ansible-playbook"), "-i", str(self.inventory), str(PLAYBOOK), *args]
        start = time.monotonic()
        lines: list[str] = []
        with log.open("w") as sink:
            sink.write(" ".join(argv) + "\n")
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, env=self.env)  # fmt: skip
            assert proc.stdout is not None
            timer = threading.Timer(timeout, proc.kill)
            timer.start()
            try:
                for line in proc.stdout:
                    lines.append(line)
                    sink.write(f"{time.monotonic() - start:7.1f} {line}")
                    sink.flush()
            finally:
                timer.cancel()
                rc = proc.wait()
        elapsed = time.monotonic() - start
        self.times.append(elapsed)
        print(f"ansible-playbook {' '.join(args) or '(build)'}: {elapsed:.0f} s, exit {rc}")
        out = "".join(lines)
        assert elapsed < timeout, f"ansible-playbook did not finish in {timeout:.0f} s: {log}"
        assert rc == 0, out[-6000:]
        assert PSK not in out
        return out


def test_playbook_builds_checks_and_deletes_the_vpn(lab: Lab) -> None:
    a, b = lab.netns("a"), lab.netns("b")
    dev_a, dev_b = lab.link(a, b, "192.0.2.1/24", "192.0.2.2/24")
    a.add_addr("lo", "198.18.1.1/24")
    b.add_addr("lo", "198.18.2.1/24")
    daemons = {}
    for role, ns in (("a", a), ("b", b)):
        d = XfrmctlDaemon(ns, lab.workdir / f"xfrmctl-{role}", lab.procs, "{}\n")
        d.start()
        d.config_path.chmod(0o600)
        daemons[role] = d
    xa, xb = daemons["a"], daemons["b"]
    book = Playbook(lab, {
        "router-a": (a, xa, {"wan_interface": dev_a, "peer_address": "192.0.2.2",
                             "tunnel_address": "198.18.255.1/30", "peer_prefix": "198.18.2.0/24"}),
        "router-b": (b, xb, {"wan_interface": dev_b, "peer_address": "192.0.2.1",
                             "tunnel_address": "198.18.255.2/30", "peer_prefix": "198.18.1.0/24",
                             "establish_tunnels": "on-traffic"}),
    })  # fmt: skip

    # 1. build: both routers change, the tunnel comes up and carries traffic
    out = book.run()
    counts = recap(out)
    assert counts["router-a"]["changed"] == 1 and counts["router-a"]["failed"] == 0, out
    assert counts["router-b"]["changed"] == 1 and counts["router-b"]["failed"] == 0, out
    spis = xa.wait_up("to-peer", timeout=120)
    assert xb.wait_up("to-peer") == (spis[1], spis[0])
    ping = a.ping("198.18.2.1", source="198.18.1.1")
    assert ping.returncode == 0, f"{ping.stdout}\n{xa.tail()}"
    assert b.ping("198.18.1.1", source="198.18.2.1").returncode == 0
    for d in (xa, xb):
        assert d.config_path.stat().st_mode & 0o777 == 0o600
        assert PSK in d.config_path.read_text()

    # 2. idempotent: nothing changes, the SAs stay
    counts = recap(book.run())
    assert counts["router-a"]["changed"] == 0 and counts["router-b"]["changed"] == 0
    assert xa.spis("to-peer") == spis

    # 3. check mode with another ESP cipher: the diff is shown, nothing is applied
    files = {name: d.config_path.read_text() for name, d in daemons.items()}
    out = book.run("--check", "--diff", "-e", "esp_encryption=aes-128-gcm")
    assert "-set security ipsec proposal esp-gcm encryption-algorithm aes-256-gcm" in out, out
    assert "+set security ipsec proposal esp-gcm encryption-algorithm aes-128-gcm" in out, out
    counts = recap(out)
    assert counts["router-a"]["changed"] == 1 and counts["router-b"]["changed"] == 1
    assert {name: d.config_path.read_text() for name, d in daemons.items()} == files
    assert xa.spis("to-peer") == spis
    assert a.ping("198.18.2.1", source="198.18.1.1").returncode == 0

    # 4. delete: the VPN, its SAs, policies and route are gone; the daemons keep running
    counts = recap(book.run("-e", "vpn_state=deleted"))
    assert counts["router-a"]["changed"] == 1 and counts["router-b"]["changed"] == 1
    for ns, d in ((a, xa), (b, xb)):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not d.tunnels() and not ns.ip("xfrm", "state").stdout.strip():
                break
            time.sleep(1)
        assert d.tunnels() == []
        assert ns.ip("xfrm", "state").stdout.strip() == ""
        assert "if_id" not in ns.ip("xfrm", "policy").stdout
        assert d.process is not None and d.process.proc.poll() is None
    assert a.ping("198.18.2.1", source="198.18.1.1").returncode != 0
    for d in (xa, xb):
        assert d.stop() == 0
