"""Network namespaces and veth links addressed from the lab's documentation prefixes.

Only the prefixes of LAB.md are allowed: outer links in 192.0.2.0/24, 198.51.100.0/24,
203.0.113.0/24 and 2001:db8::/32; inner networks and tunnel addresses in 198.18.0.0/15 and
2001:db8:ffff::/48. `check_lab_prefix` refuses anything else so a typo cannot send test
traffic towards a real network.
"""

from __future__ import annotations

import ipaddress
import itertools
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

LAB_PREFIXES = tuple(
    ipaddress.ip_network(p)
    for p in (
        "192.0.2.0/24",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "198.18.0.0/15",
        "2001:db8::/32",
    )
)

_counter = itertools.count(1)


class LabError(RuntimeError):
    """A lab command failed; carries the command and its output."""


def check_lab_prefix(addr: str) -> None:
    """Refuse an address (with or without /len) outside the lab's documentation prefixes."""
    iface = ipaddress.ip_interface(addr)
    if not any(iface.ip in net for net in LAB_PREFIXES):
        raise LabError(f"{addr} is outside the lab prefixes of LAB.md")


def run(
    argv: Sequence[str], *, check: bool = True, timeout: float = 60.0, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        list(argv),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=input_text,
        check=False,
    )
    if check and proc.returncode != 0:
        raise LabError(
            f"{' '.join(argv)} exited {proc.returncode}\n{proc.stdout}{proc.stderr}".rstrip()
        )
    return proc


@dataclass
class Netns:
    """One network namespace the test created (and deletes)."""

    name: str
    links: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, role: str) -> Netns:
        name = f"xt{next(_counter)}{role}"[:15]
        run(["ip", "netns", "add", name])
        ns = cls(name)
        ns.ip("link", "set", "lo", "up")
        ns.sysctl("net.ipv4.ip_forward", "1")
        ns.sysctl("net.ipv6.conf.all.forwarding", "1")
        ns.sysctl("net.ipv6.conf.all.accept_dad", "0")
        ns.sysctl("net.ipv6.conf.default.accept_dad", "0")
        return ns

    def exec_argv(self, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.name, *argv]

    def run(
        self, *argv: str, check: bool = True, timeout: float = 60.0, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run(self.exec_argv(argv), check=check, timeout=timeout, input_text=input_text)

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run(["ip", "-n", self.name, *args], check=check)

    def sysctl(self, key: str, value: str) -> None:
        self.run("sysctl", "-qw", f"{key}={value}")

    def add_addr(self, dev: str, addr: str) -> None:
        check_lab_prefix(addr)
        extra = ["nodad"] if ":" in addr else []
        self.ip("addr", "add", addr, "dev", dev, *extra)

    def add_route(self, prefix: str, *args: str) -> None:
        check_lab_prefix(prefix)
        self.ip("route", "add", prefix, *args)

    def ping(
        self,
        dst: str,
        *,
        count: int = 3,
        source: str | None = None,
        interval: float = 0.2,
        timeout: float = 30.0,
    ) -> subprocess.CompletedProcess[str]:
        """A bounded ping (count and deadline); never raises, returns the result."""
        check_lab_prefix(dst)
        argv = [
            "ping",
            "-n",
            "-c",
            str(count),
            "-i",
            str(interval),
            "-W",
            "2",
            "-w",
            str(int(timeout)),
        ]
        if source:
            argv += ["-I", source]
        return self.run(*argv, dst, check=False, timeout=timeout + 10)

    def delete(self) -> None:
        run(["ip", "netns", "del", self.name], check=False)


def veth(
    a: Netns, b: Netns, addr_a: str | Sequence[str], addr_b: str | Sequence[str], *, mtu: int = 1500
) -> tuple[str, str]:
    """Join two namespaces with a veth pair and address both ends; returns (dev_a, dev_b)."""
    n = next(_counter)
    dev_a, dev_b = f"v{n}{a.name[-3:]}", f"v{n}{b.name[-3:]}"
    run(
        [
            "ip",
            "link",
            "add",
            dev_a,
            "netns",
            a.name,
            "mtu",
            str(mtu),
            "type",
            "veth",
            "peer",
            "name",
            dev_b,
            "netns",
            b.name,
            "mtu",
            str(mtu),
        ]
    )
    for ns, dev, addrs in ((a, dev_a, addr_a), (b, dev_b, addr_b)):
        for addr in [addrs] if isinstance(addrs, str) else addrs:
            ns.add_addr(dev, addr)
        ns.ip("link", "set", dev, "up")
        ns.links.append(dev)
    return dev_a, dev_b


def xfrm_interface(ns: Netns, name: str, if_id: int, underlying: str, addr: str | None) -> None:
    """An xfrm interface (the Linux form of a Junos st0 unit) with an optional address."""
    ns.ip("link", "add", name, "type", "xfrm", "dev", underlying, "if_id", str(if_id))
    if addr:
        ns.add_addr(name, addr)
    ns.ip("link", "set", name, "up")


def nat_router(ns: Netns, outside_dev: str) -> None:
    """Masquerade everything leaving outside_dev (a NAT gateway in front of a peer)."""
    rules = (
        "table ip labnat {\n"
        "  chain post { type nat hook postrouting priority srcnat; policy accept;\n"
        f'    oifname "{outside_dev}" masquerade\n'
        "  }\n"
        "}\n"
    )
    ns.run("nft", "-f", "-", input_text=rules)
