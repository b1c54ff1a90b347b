"""Traffic evidence from SA counters: the one place that keeps counter baselines.

The daemon dumps every SA's counters in one netlink request per tick and hands the result over as
a mapping `SA key -> (bytes, packets)`. The ledger only looks up the SAs whose owner has a decision
due, compares them with the value seen last time, and remembers when a change was last seen.
DPD, `optimized` VPN monitoring and `idle-time` all read that same record, so one observation of
traffic serves every consumer.

A new SA starts from a zero baseline (the kernel's counters of a fresh SA are zero), so an SA
replaced under the same key (an SPI reused after a delete) never counts its predecessor's bytes.
Any difference counts as traffic, including a value below the baseline: the 64-bit kernel counter
wrapped, or the kernel replaced the SA behind our back; the baseline then restarts from the new
value.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from xfrmctl.dpd.errors import DpdError

Counts = tuple[int, int]
"""(bytes, packets) of one SA as the kernel reports them (`xfrm_lifetime_cur`)."""

CounterDump = Mapping[Hashable, Counts]
"""One batched counter dump: every SA's key (e.g. `(daddr, spi, proto)`) to its counts."""


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


@dataclass
class SaRecord:
    key: Hashable
    direction: Direction
    ike: Hashable | None  # the IKE SA whose DPD this SA's traffic feeds
    vpn: str | None  # the VPN whose monitoring this SA's traffic feeds
    child: Hashable | None  # the child SA (both directions) for idle-time
    counts: Counts
    changed_at: float | None  # when a counter change was last observed (None: never)
    installed_at: float


class TrafficLedger:
    """SA registry with counter baselines, indexed by IKE SA, VPN and child."""

    def __init__(self) -> None:
        self.sas: dict[Hashable, SaRecord] = {}
        self._by_ike: dict[Hashable, set[Hashable]] = {}
        self._by_vpn: dict[Hashable, set[Hashable]] = {}
        self._by_child: dict[Hashable, set[Hashable]] = {}

    # ------------------------------------------------------------------ registration

    def add(
        self,
        key: Hashable,
        direction: Direction,
        now: float,
        *,
        ike: Hashable | None = None,
        vpn: str | None = None,
        child: Hashable | None = None,
        baseline: Counts = (0, 0),
    ) -> None:
        """Register a newly installed SA; a key already known is a replacement (fresh baseline)."""
        if baseline[0] < 0 or baseline[1] < 0:
            raise DpdError(f"negative counter baseline {baseline} for SA {key!r}")
        self.remove(key)
        rec = SaRecord(key, Direction(direction), ike, vpn, child, baseline, None, now)
        self.sas[key] = rec
        if ike is not None:
            self._by_ike.setdefault(ike, set()).add(key)
        if vpn is not None:
            self._by_vpn.setdefault(vpn, set()).add(key)
        if child is not None:
            self._by_child.setdefault(child, set()).add(key)

    def remove(self, key: Hashable) -> SaRecord | None:
        rec = self.sas.pop(key, None)
        if rec is None:
            return None
        indexes: tuple[tuple[dict[Hashable, set[Hashable]], Hashable | None], ...] = (
            (self._by_ike, rec.ike),
            (self._by_vpn, rec.vpn),
            (self._by_child, rec.child),
        )
        for index, owner in indexes:
            if owner is not None:
                keys = index.get(owner)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del index[owner]
        return rec

    def move_ike(self, old: Hashable, new: Hashable) -> None:
        """An IKE rekey moved the children to the new IKE SA."""
        keys = self._by_ike.pop(old, set())
        for key in keys:
            self.sas[key].ike = new
        if keys:
            self._by_ike.setdefault(new, set()).update(keys)

    def of_ike(self, ike: Hashable) -> frozenset[Hashable]:
        return frozenset(self._by_ike.get(ike, ()))

    def of_vpn(self, vpn: str) -> frozenset[Hashable]:
        return frozenset(self._by_vpn.get(vpn, ()))

    def of_child(self, child: Hashable) -> frozenset[Hashable]:
        return frozenset(self._by_child.get(child, ()))

    def children(self) -> Iterable[Hashable]:
        return self._by_child.keys()

    # ------------------------------------------------------------------ observation

    def observe(self, keys: Iterable[Hashable], dump: CounterDump, now: float) -> None:
        """Compare the given SAs with the dump; an SA missing from the dump is unchanged."""
        for key in keys:
            rec = self.sas.get(key)
            if rec is None:
                continue
            counts = dump.get(key)
            if counts is None or counts == rec.counts:
                continue
            rec.counts = (int(counts[0]), int(counts[1]))
            rec.changed_at = now

    def last_change(self, keys: Iterable[Hashable], direction: Direction | None = None) -> float:
        """Latest observed change among `keys` (in `direction`), or -inf if none ever changed."""
        latest = float("-inf")
        for key in keys:
            rec = self.sas.get(key)
            if rec is None or rec.changed_at is None:
                continue
            if direction is not None and rec.direction is not direction:
                continue
            latest = max(latest, rec.changed_at)
        return latest
