"""An xfrmctl daemon as a lab peer: its config file, its process in a namespace, its `show`.

The daemon runs `xfrmctl daemon --config F --socket S` inside the namespace through the Lab's
process registry (stopped by PID), logs JSON lines to a file kept with the scenario's artefacts,
and is asked through its control socket with the real CLI (`xfrmctl show ... --json`).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integration.lab.netns import LabError, Netns, run
from integration.lab.procs import ProcessRegistry, Started
from xfrmctl.cli.client import ControlClient, ControlClientError

XFRMCTL = str(Path(sys.executable).with_name("xfrmctl"))


@dataclass
class XfrmctlDaemon:
    ns: Netns
    workdir: Path
    procs: ProcessRegistry
    config_text: str
    config_name: str = "xfrmctl.yaml"
    process: Started | None = None
    extra_args: list[str] = field(default_factory=list)

    @property
    def config_path(self) -> Path:
        return self.workdir / self.config_name

    @property
    def socket(self) -> Path:
        return self.workdir / "control.sock"

    @property
    def log(self) -> Path:
        return self.workdir / "xfrmctl.log"

    def write_config(self, text: str | None = None) -> None:
        if text is not None:
            self.config_text = text
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.config_text)

    def start(self, wait: float = 120.0) -> None:
        self.write_config()
        argv = self.ns.exec_argv(
            [
                XFRMCTL,
                "daemon",
                "--config",
                str(self.config_path),
                "--socket",
                str(self.socket),
                "--log-format",
                "json",
                "--log-level",
                "debug",
                *self.extra_args,
            ]
        )
        self.process = self.procs.start(f"xfrmctl-{self.ns.name}", argv, self.log)
        deadline = time.monotonic() + wait
        while not self.socket.exists():
            if self.process.proc.poll() is not None or time.monotonic() > deadline:
                raise LabError(
                    f"xfrmctl in {self.ns.name} did not start:\n"
                    + self.log.read_text(errors="replace")[-3000:]
                )
            time.sleep(0.2)

    def cli(self, *words: str, check: bool = True, timeout: float = 120.0) -> str:
        proc = run([XFRMCTL, *words, "--socket", str(self.socket)], check=check, timeout=timeout)
        return proc.stdout + (proc.stderr if not check else "")

    def show(self, *words: str) -> Any:
        """`xfrmctl show WORDS --json` through the real CLI."""
        return json.loads(self.cli("show", *words, "--json"))

    def query(self, *words: str) -> Any:
        """The same answer straight from the control socket: for polling, where starting the
        CLI for every look would cost seconds under emulation."""
        try:
            return ControlClient(str(self.socket), timeout=30).call(("show", *words), {})
        except ControlClientError as exc:
            raise LabError(str(exc)) from None

    def ike_sas(self) -> list[dict[str, Any]]:
        return list(self.show("security", "ike", "security-associations")[
            "ike_security_associations"])  # fmt: skip

    def tunnels(self) -> list[dict[str, Any]]:
        return list(self.show("security", "ipsec", "security-associations")["tunnels"])

    def spis(self, vpn: str) -> tuple[str, str]:
        """(inbound, outbound) SPIs of `vpn`'s newest child SA, as 8 hex digits."""
        for t in self.tunnels():
            if t["vpn_name"] == vpn:
                sas = t["sas"]
                inbound = [s for s in sas if s["direction"] == "inbound"][-1]
                outbound = [s for s in sas if s["direction"] == "outbound"][-1]
                return f"{inbound['spi']:08x}", f"{outbound['spi']:08x}"
        raise LabError(f"no tunnel for {vpn}: {self.tunnels()}")

    def wait_up(self, vpn: str, timeout: float = 90.0) -> tuple[str, str]:
        deadline = time.monotonic() + timeout
        last: Any = None
        while time.monotonic() < deadline:
            try:
                sa = self.query("security", "ipsec", "security-associations")
                for t in sa["tunnels"]:
                    if t["vpn_name"] == vpn and t["sas"]:
                        return self.spis(vpn)
                last = self.query("security", "ipsec", "inactive-tunnels")
            except (LabError, ValueError) as exc:
                last = exc
            if self.process is not None and self.process.proc.poll() is not None:
                raise LabError(f"xfrmctl in {self.ns.name} exited:\n{self.tail()}")
            time.sleep(0.5)
        raise LabError(f"{vpn} not up in {self.ns.name} after {timeout}s: {last}\n{self.tail()}")

    def reload(self, text: str) -> str:
        self.write_config(text)
        return self.cli("request", "system", "reload", check=False)

    def signal(self, sig: int) -> None:
        assert self.process is not None
        os.kill(self.process.proc.pid, sig)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait: the daemon deletes what it installed before it exits."""
        assert self.process is not None
        self.procs.stop(self.process, signal.SIGTERM, timeout=timeout)
        return int(self.process.proc.returncode or 0)

    def tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""


def yaml_config(
    *,
    remote: str,
    external: str,
    st0_address: str,
    route: str,
    psk: str,
    ike: dict[str, str],
    esp: dict[str, str],
    pfs: str | None = None,
    establish: str = "immediately",
    vpn: str = "vpn1",
    unit: int = 0,
    version: str = "v2-only",
    mode: str = "main",
    gateway: dict[str, Any] | None = None,
) -> str:
    """A one-VPN route-based configuration in the YAML schema (Junos keywords); `gateway` adds
    statements to the IKE gateway (`dead-peer-detection`, `nat-keepalive`...)."""
    ipsec_policy: dict[str, Any] = {"proposals": "P2"}
    if pfs:
        ipsec_policy["perfect-forward-secrecy"] = {"keys": pfs}
    data = {
        "security": {
            "ike": {
                "proposal": {"P1": {"authentication-method": "pre-shared-keys", **ike}},
                "policy": {
                    "IKEPOL": {
                        "mode": mode,
                        "proposals": ["P1"],
                        "pre-shared-key": {"ascii-text": psk},
                    }
                },
                "gateway": {
                    "GW": {
                        "ike-policy": "IKEPOL",
                        "address": remote,
                        "external-interface": external,
                        "version": version,
                        **(gateway or {}),
                    }
                },
            },
            "ipsec": {
                "proposal": {"P2": {"protocol": "esp", **esp}},
                "policy": {"IPSECPOL": ipsec_policy},
                "vpn": {
                    vpn: {
                        "bind-interface": f"st0.{unit}",
                        "ike": {"gateway": "GW", "ipsec-policy": "IPSECPOL"},
                        "establish-tunnels": establish,
                    }
                },
            },
        },
        "interfaces": {"st0": {"unit": {unit: {"family": {"inet": {"address": st0_address}}}}}},
        "routing-options": {"static": {"route": {route: {"next-hop": f"st0.{unit}"}}}},
    }
    return json.dumps(data, indent=2)  # JSON is YAML
