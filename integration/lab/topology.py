"""One scenario's lab: the namespaces, links, captures, peers and processes it made.

`Lab.close()` stops every process the scenario started (by PID), keeps captures and logs as
artefacts when the scenario failed, and deletes the namespaces, so the next scenario starts from
a clean kernel.
"""

from __future__ import annotations

import itertools
import re
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from integration.lab.capture import start_capture
from integration.lab.netns import Netns, nat_router, veth, xfrm_interface
from integration.lab.procs import ProcessRegistry
from integration.lab.strongswan import StrongSwan

_serial = itertools.count(1)


@dataclass
class Lab:
    test_name: str
    workdir: Path
    procs: ProcessRegistry = field(default_factory=ProcessRegistry)
    namespaces: list[Netns] = field(default_factory=list)
    capture: bool = True

    @classmethod
    def create(cls, test_name: str, base: Path) -> Lab:
        # Short: unix socket paths (charon's vici) must stay under 108 bytes.
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name.rsplit("::", 1)[-1])[:40]
        workdir = base / f"{next(_serial):03d}-{safe}"
        if workdir.exists():
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        return cls(test_name=test_name, workdir=workdir)

    def netns(self, role: str) -> Netns:
        ns = Netns.create(role)
        self.namespaces.append(ns)
        return ns

    def link(
        self,
        a: Netns,
        b: Netns,
        addr_a: str | Sequence[str],
        addr_b: str | Sequence[str],
        *,
        mtu: int = 1500,
    ) -> tuple[str, str]:
        """A veth link with a packet capture on a's end."""
        dev_a, dev_b = veth(a, b, addr_a, addr_b, mtu=mtu)
        if self.capture:
            start_capture(self.procs, a, dev_a, self.workdir / "pcap")
        return dev_a, dev_b

    def captured(self, ns: Netns, dev: str) -> list[Path]:
        """The capture files of one link end (tcpdump rotates them: name0, name1, ...)."""
        return sorted((self.workdir / "pcap").glob(f"{ns.name}-{dev}.pcap*"))

    def nat(self, ns: Netns, outside_dev: str) -> None:
        nat_router(ns, outside_dev)

    def strongswan(
        self,
        ns: Netns,
        connections: Mapping[str, Any],
        secrets: Mapping[str, Any],
        *,
        log_levels: Mapping[str, int] | None = None,
        charon_options: Mapping[str, Any] | None = None,
    ) -> StrongSwan:
        peer = StrongSwan(
            ns=ns,
            workdir=self.workdir / f"strongswan-{ns.name}",
            procs=self.procs,
            connections=dict(connections),
            secrets=dict(secrets),
            charon_options=dict(charon_options or {}),
        )
        if log_levels:
            peer.log_levels.update(log_levels)
        peer.start()
        return peer

    def close(self, failed: bool, artifacts: Path | None) -> Path | None:
        """Stop processes, keep artefacts of a failure, delete namespaces."""
        self.procs.stop_all()
        kept: Path | None = None
        if failed and artifacts is not None:
            for ns in self.namespaces:
                dump = self.workdir / f"{ns.name}-state.txt"
                parts = []
                for cmd in (
                    ["xfrm", "state"],
                    ["xfrm", "policy"],
                    ["-d", "link"],
                    ["addr"],
                    ["route"],
                    ["-6", "route"],
                ):
                    proc = ns.ip(*cmd, check=False)
                    parts.append(f"$ ip {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")
                dump.write_text("\n".join(parts))
            kept = artifacts / self.workdir.name
            if kept.exists():
                shutil.rmtree(kept)
            shutil.copytree(self.workdir, kept, ignore=_not_regular)
        for ns in reversed(self.namespaces):
            ns.delete()
        self.namespaces.clear()
        return kept


def _not_regular(folder: str, names: list[str]) -> set[str]:
    """Sockets and fifos cannot be copied into the artefacts."""
    base = Path(folder)
    return {n for n in names if not ((base / n).is_file() or (base / n).is_dir())}


def route_based_pair(lab: Lab) -> tuple[Netns, Netns, str, str]:
    """a (xfrmctl, 198.18.1.0/24) and b (the peer, 198.18.2.0/24) on 192.0.2.0/24: b's st0.0 is
    made by hand, a's by xfrmctl. Returns (a, b, a's outer device, b's outer device)."""
    a, b = lab.netns("a"), lab.netns("b")
    dev_a, dev_b = lab.link(a, b, "192.0.2.1/24", "192.0.2.2/24")
    xfrm_interface(b, "st0.0", 1, dev_b, "198.18.255.2/30")
    a.add_addr("lo", "198.18.1.1/24")
    b.add_addr("lo", "198.18.2.1/24")
    b.add_route("198.18.1.0/24", "dev", "st0.0")
    return a, b, dev_a, dev_b
