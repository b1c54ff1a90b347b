"""Packet captures on lab links, kept with the peers' logs when a scenario fails."""

from __future__ import annotations

from pathlib import Path

from integration.lab.netns import Netns
from integration.lab.procs import ProcessRegistry, Started


def start_capture(procs: ProcessRegistry, ns: Netns, dev: str, outdir: Path) -> Started:
    """tcpdump on one link: full packets, at most 10 files of 2 MB, as pcap."""
    outdir.mkdir(parents=True, exist_ok=True)
    pcap = outdir / f"{ns.name}-{dev}.pcap"
    argv = ns.exec_argv(
        ["tcpdump", "-Z", "root", "-i", dev, "-n", "-U", "-s", "0",
         "-C", "2", "-W", "10", "-w", str(pcap)]
    )  # fmt: skip
    return procs.start(f"tcpdump-{ns.name}-{dev}", argv, outdir / f"{ns.name}-{dev}.tcpdump.log")
