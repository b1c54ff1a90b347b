"""Traffic selectors and their narrowing (RFC 7296 2.9).

A `TrafficSelector` is one TS entry: an address range, an IP protocol (0 = any) and a port range.
Narrowing is set intersection: the responder answers with the parts of what was proposed that its
own configuration allows; the initiator accepts an answer only if it is a subset of its proposal.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class TrafficSelectorError(ValueError):
    """A selector that cannot exist (start after end, mixed families, bad port)."""


@dataclass(frozen=True, order=True)
class TrafficSelector:
    start: IPAddress
    end: IPAddress
    protocol: int = 0
    start_port: int = 0
    end_port: int = 65535

    def __post_init__(self) -> None:
        if self.start.version != self.end.version:
            raise TrafficSelectorError("selector mixes IPv4 and IPv6")
        if int(self.start) > int(self.end):
            raise TrafficSelectorError(f"selector range {self.start}-{self.end} is reversed")
        if not 0 <= self.protocol <= 255:
            raise TrafficSelectorError(f"IP protocol {self.protocol} out of range")
        if not (0 <= self.start_port <= 65535 and 0 <= self.end_port <= 65535):
            raise TrafficSelectorError("port out of range")

    @property
    def version(self) -> int:
        return self.start.version

    @classmethod
    def from_network(
        cls, network: str, protocol: int = 0, port: int | tuple[int, int] | None = None
    ) -> TrafficSelector:
        """`10.0.0.0/24`, `2001:db8::/64`, `0.0.0.0/0`, or a plain address (a /32 or /128)."""
        try:
            net = ipaddress.ip_network(network, strict=False)
        except ValueError as exc:
            raise TrafficSelectorError(f"invalid prefix {network!r}") from exc
        if port is None:
            lo, hi = 0, 65535
        elif isinstance(port, int):
            lo = hi = port
        else:
            lo, hi = port
        return cls(net.network_address, net.broadcast_address, protocol, lo, hi)

    @classmethod
    def any(cls, version: int = 4) -> TrafficSelector:
        return cls.from_network("0.0.0.0/0" if version == 4 else "::/0")

    @property
    def is_opaque_ports(self) -> bool:
        """RFC 7296 OPAQUE: start 65535, end 0 (ports exist but are not available)."""
        return self.start_port == 65535 and self.end_port == 0

    def _port_range(self) -> tuple[int, int] | None:
        if self.is_opaque_ports:
            return None
        if self.start_port > self.end_port:
            return None
        return self.start_port, self.end_port

    def intersect(self, other: TrafficSelector) -> TrafficSelector | None:
        if self.version != other.version:
            return None
        if self.protocol and other.protocol and self.protocol != other.protocol:
            return None
        protocol = self.protocol or other.protocol
        lo_addr = max(int(self.start), int(other.start))
        hi_addr = min(int(self.end), int(other.end))
        if lo_addr > hi_addr:
            return None
        a, b = self._port_range(), other._port_range()
        if a is None or b is None:
            if not ((a is None and b is None) or (a or b) == (0, 65535)):
                return None
            ports = (65535, 0)
        else:
            lo_port, hi_port = max(a[0], b[0]), min(a[1], b[1])
            if lo_port > hi_port:
                return None
            ports = (lo_port, hi_port)
        family = type(self.start)
        return TrafficSelector(family(lo_addr), family(hi_addr), protocol, ports[0], ports[1])

    def is_subset_of(self, other: TrafficSelector) -> bool:
        return self.intersect(other) == self

    def to_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """The address range as CIDR blocks (XFRM selectors are prefixes)."""
        return list(ipaddress.summarize_address_range(self.start, self.end))

    def __str__(self) -> str:
        nets = self.to_networks()
        addr = str(nets[0]) if len(nets) == 1 else f"{self.start}-{self.end}"
        if self.protocol == 0 and (self.start_port, self.end_port) == (0, 65535):
            return addr
        if (self.start_port, self.end_port) == (0, 65535):
            ports = ""
        elif self.start_port == self.end_port:
            ports = f"/{self.start_port}"
        else:
            ports = f"/{self.start_port}-{self.end_port}"
        return f"{addr}[{self.protocol}{ports}]"


def narrow(
    proposed: Sequence[TrafficSelector], allowed: Iterable[TrafficSelector]
) -> list[TrafficSelector]:
    """The responder's answer: every non-empty intersection of a proposed and an allowed selector.

    Order follows the proposal, so a first "specific packet" selector (from a kernel ACQUIRE)
    keeps its place; duplicates and selectors contained in an earlier result are dropped.
    """
    allowed_list = list(allowed)
    result: list[TrafficSelector] = []
    for ts in proposed:
        for conf in allowed_list:
            cut = ts.intersect(conf)
            if cut is None:
                continue
            if any(cut.is_subset_of(prev) for prev in result):
                continue
            result = [prev for prev in result if not prev.is_subset_of(cut)]
            result.append(cut)
    return result


def acceptable_answer(
    answer: Sequence[TrafficSelector], proposed: Sequence[TrafficSelector]
) -> bool:
    """Whether the responder's selectors only narrow what the initiator proposed."""
    if not answer:
        return False
    return all(any(ts.is_subset_of(p) for p in proposed) for ts in answer)
