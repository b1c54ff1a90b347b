"""Event counts and per-tunnel traffic totals since the daemon started, for `--metrics`.

The daemon adds to these where it handles the event (a rekey, a failed negotiation, a dead
peer, a VPN monitor verdict); the metrics exporter only reads them. Nothing here reads the
clock or the kernel.

Traffic: the kernel counts per SA, and a rekey replaces the SAs, so each VPN's totals are the
last counts seen of its retired SAs plus the counts of its live ones. They grow monotonically
(Prometheus counters) and ignore `clear security ipsec statistics`, which only moves the
baseline `show` subtracts. Traffic an SA carried after the last counter dump before it was
deleted is not seen; every `show`, DPD tick and scrape is a dump.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from xfrmctl.keying.ikev2.actions import Reason
from xfrmctl.netlink.codec import SaCounters

Direction = str  # "in" or "out"


class _Seen(NamedTuple):  # a tuple: one per SA per counter dump (every show, tick, scrape)
    vpn: str
    gateway: str
    direction: Direction
    bytes: int
    packets: int


@dataclass
class Tallies:
    # gateway -> IKE SA rekeys; (vpn, gateway) -> child SA rekeys
    ike_rekeys: Counter[str] = field(default_factory=Counter)
    ipsec_rekeys: Counter[tuple[str, str]] = field(default_factory=Counter)
    # (gateway, reason) / (vpn, gateway, reason) -> failed negotiations
    ike_failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    ipsec_failures: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    # gateway -> IKE SAs declared dead (DPD, or an unanswered exchange)
    dpd_failures: Counter[str] = field(default_factory=Counter)
    # (vpn, gateway) -> VPN monitor down verdicts
    monitor_failures: Counter[tuple[str, str]] = field(default_factory=Counter)
    # (vpn, gateway, direction) -> (bytes, packets) of SAs no longer in the kernel
    _retired: dict[tuple[str, str, Direction], tuple[int, int]] = field(default_factory=dict)
    _live: dict[int, _Seen] = field(default_factory=dict)  # SPI -> its last counts

    def ike_failed(self, gateway: str, reason: Reason) -> None:
        self.ike_failures[(gateway, reason.name)] += 1

    def child_failed(self, vpn: str, gateway: str, reason: Reason) -> None:
        self.ipsec_failures[(vpn, gateway, reason.name)] += 1

    def observe_traffic(
        self,
        children: Mapping[str, tuple[str, list[tuple[int, int]]]],
        counters: Mapping[int, SaCounters],
    ) -> None:
        """One counter dump. `children`: VPN -> (gateway, [(SPI in, SPI out), ...]) live now."""
        live: dict[int, _Seen] = {}
        for vpn, (gateway, pairs) in children.items():
            for spi_in, spi_out in pairs:
                for spi, direction in ((spi_in, "in"), (spi_out, "out")):
                    c = counters.get(spi)
                    prev = self._live.get(spi)
                    if c is None:
                        if prev is not None:
                            live[spi] = prev  # not in this dump: keep what we saw
                        continue
                    live[spi] = _Seen(vpn, gateway, direction, c.bytes, c.packets)
        for spi, seen in self._live.items():
            if spi not in live:
                key = (seen.vpn, seen.gateway, seen.direction)
                b, p = self._retired.get(key, (0, 0))
                self._retired[key] = (b + seen.bytes, p + seen.packets)
        self._live = live

    def traffic(self) -> dict[tuple[str, str, Direction], tuple[int, int]]:
        """(vpn, gateway, direction) -> (bytes, packets) since the daemon started."""
        out = dict(self._retired)
        for seen in self._live.values():
            key = (seen.vpn, seen.gateway, seen.direction)
            b, p = out.get(key, (0, 0))
            out[key] = (b + seen.bytes, p + seen.packets)
        return out
