"""A Libreswan `pluto` as a lab peer, run unpacked from /opt/libreswan (scripts/setup.sh).

Modelled on `integration.lab.strongswan`: one pluto per namespace with its files under its own
folder (ipsec.conf, ipsec.secrets, an NSS database even for PSK, `pluto.ctl` outside /run so
`whack` and `addconn` reach it from outside the namespace). Pluto hard-wires
/usr/libexec/ipsec/addconn and _updown.xfrm, and /usr/sbin/ipsec is strongswan-starter's, so
Libreswan's are bind-mounted over them inside pluto's own mount namespace only (see LAB.md,
"A Libreswan peer"). Pluto creates its `ipsecN` xfrm interface itself; it is brought up here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from integration.lab.netns import LabError, Netns, run
from integration.lab.procs import ProcessRegistry, Started

ROOT = Path("/opt/libreswan")
LIBEXEC = ROOT / "usr" / "libexec" / "ipsec"


def available() -> bool:
    return (LIBEXEC / "pluto").exists()


def render_conn(name: str, options: Mapping[str, str]) -> str:
    return f"conn {name}\n" + "".join(f"\t{k}={v}\n" for k, v in options.items())


@dataclass
class Libreswan:
    """One pluto in `ns`; `conns` are ipsec.conf connections by name, `secrets` the lines of
    ipsec.secrets (`A B : PSK "..."`)."""

    ns: Netns
    workdir: Path
    procs: ProcessRegistry
    conns: dict[str, dict[str, str]] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)
    process: Started | None = None

    @property
    def ctl(self) -> Path:
        return self.workdir / "run" / "pluto.ctl"

    @property
    def log(self) -> Path:
        return self.workdir / "pluto.log"

    def write_config(self) -> None:
        (self.workdir / "run").mkdir(parents=True, exist_ok=True)
        setup = (
            "config setup\n"
            f"\tlogfile={self.log}\n"
            "\tplutodebug=none\n"
            "\tdnssec-enable=no\n"
            "\tikev1-policy=accept\n"  # 4.10 drops IKEv1 by default
        )
        conns = "".join("\n" + render_conn(n, o) for n, o in self.conns.items())
        (self.workdir / "ipsec.conf").write_text(setup + conns)
        secrets = self.workdir / "ipsec.secrets"
        secrets.write_text("".join(line + "\n" for line in self.secrets))
        secrets.chmod(0o600)

    def start(self, wait: float = 180.0) -> None:
        self.write_config()
        nss = self.workdir / "nss"
        if not nss.exists():
            nss.mkdir()
            run(["certutil", "-N", "-d", f"sql:{nss}", "--empty-password"])
        d = self.workdir
        script = (
            "mount -t tmpfs none /run && mkdir /run/pluto && "
            f"mount --bind {ROOT}/usr/libexec /usr/libexec && "
            f"mount --bind {ROOT}/usr/sbin/ipsec /usr/sbin/ipsec && "
            f"exec {LIBEXEC}/pluto --nofork --config {d}/ipsec.conf "
            f"--secretsfile {d}/ipsec.secrets --nssdir {nss} --ipsecdir {d} --rundir {d}/run"
        )
        argv = self.ns.exec_argv(["unshare", "-m", "sh", "-c", script])
        self.process = self.procs.start(f"pluto-{self.ns.name}", argv, d / "pluto.stdout")
        deadline = time.monotonic() + wait
        while not self.ctl.exists():
            if self.process.proc.poll() is not None or time.monotonic() > deadline:
                raise LabError(f"pluto in {self.ns.name} did not start:\n{self.tail()}")
            time.sleep(0.3)

    def whack(self, *args: str, check: bool = True, timeout: float = 60.0) -> str:
        proc = run([str(LIBEXEC / "whack"), "--ctlsocket", str(self.ctl), *args], check=check,
                   timeout=timeout)  # fmt: skip
        return proc.stdout

    def add(self, name: str) -> None:
        """Load connection `name` from the (rewritten) ipsec.conf."""
        self.write_config()
        run([str(LIBEXEC / "addconn"), "--config", str(self.workdir / "ipsec.conf"),
             "--ctlsocket", str(self.ctl), name])  # fmt: skip

    def initiate(self, name: str, timeout: int = 90) -> str:
        """Blocks until the connection is up (or whack gives up)."""
        return self.whack("--name", name, "--initiate", timeout=timeout)

    def delete(self, name: str) -> None:
        self.whack("--name", name, "--delete", check=False)

    def traffic_status(self) -> str:
        return self.whack("--trafficstatus", check=False)

    def wait_established(self, name: str, timeout: float = 90.0) -> str:
        """Poll until `whack --trafficstatus` lists an IPsec SA of connection `name`."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            last = self.traffic_status()
            if re.search(rf'"{re.escape(name)}"[^,]*, type=ESP', last):
                return last
            time.sleep(0.5)
        raise LabError(f"{name} not up in pluto after {timeout}s: {last}\n{self.tail()}")

    def interface_up(self, dev: str, address: str, route: str) -> None:
        """Pluto made `dev` (ipsec-interface=N); its address and route are the test's."""
        self.ns.ip("link", "set", dev, "up")
        self.ns.ip("addr", "replace", address, "dev", dev)
        self.ns.ip("route", "replace", route, "dev", dev)

    def tail(self, n: int = 3000) -> str:
        """pluto's log after its long start-up self-tests."""
        if not self.log.exists():
            out = self.workdir / "pluto.stdout"
            return out.read_text(errors="replace")[-n:] if out.exists() else ""
        text = self.log.read_text(errors="replace")
        at = text.find("listening for IKE messages")
        return text[at if at >= 0 else 0 :][-n:]


def esp_spis(ns: Netns) -> set[tuple[str, str, str]]:
    """(src, dst, spi as 8 hex digits) of every ESP state in `ns`'s kernel."""
    out = ns.ip("xfrm", "state").stdout
    found = re.findall(r"src (\S+) dst (\S+)\s+proto esp spi (0x[0-9a-f]+)", out)
    return {(src, dst, f"{int(spi, 16):08x}") for src, dst, spi in found}
