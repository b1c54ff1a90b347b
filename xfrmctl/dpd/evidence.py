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

When an SA goes away its evidence stays with its owners: the change times it had, and the final
counters the kernel reports with the deletion (a last burst never looked at) if the daemon passes
them, are folded into per-owner maxima that outlive the SA.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from xfrmctl.dpd.errors import DpdError

Counts = tuple[int, int]
"""(bytes, packets) of one SA as the kernel reports them (`xfrm_lifetime_cur`)."""

CounterDump = Mapping[Hashable, Counts]
"""One batched counter dump: every SA's key (e.g. `(daddr, spi, proto)`) to its counts."""


OwnerKind = Literal["ike", "vpn", "child"]


Change = tuple[float, int]
"""(time, stamp) of an observed counter change; stamps order changes observed at one instant."""

NEVER: Change = (float("-inf"), 0)


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
    installed_at: float
    change: Change = NEVER  # the latest observed counter change

    @property
    def changed_at(self) -> float | None:
        return None if self.change == NEVER else self.change[0]


class TrafficLedger:
    """SA registry with counter baselines, indexed by IKE SA, VPN and child."""

    def __init__(self) -> None:
        self.sas: dict[Hashable, SaRecord] = {}
        self._by_ike: dict[Hashable, set[Hashable]] = {}
        self._by_vpn: dict[Hashable, set[Hashable]] = {}
        self._by_child: dict[Hashable, set[Hashable]] = {}
        # latest change of SAs already removed, per (owner kind, owner, direction)
        self._retired: dict[tuple[OwnerKind, Hashable, Direction], Change] = {}
        self.stamp = 0  # stamp of the latest change observed anywhere
        self._index: dict[OwnerKind, dict[Hashable, set[Hashable]]] = {
            "ike": self._by_ike,
            "vpn": self._by_vpn,
            "child": self._by_child,
        }

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
        rec = SaRecord(key, Direction(direction), ike, vpn, child, baseline, now)
        self.sas[key] = rec
        if ike is not None:
            self._by_ike.setdefault(ike, set()).add(key)
        if vpn is not None:
            self._by_vpn.setdefault(vpn, set()).add(key)
        if child is not None:
            self._by_child.setdefault(child, set()).add(key)

    def remove(
        self, key: Hashable, now: float | None = None, final: Counts | None = None
    ) -> SaRecord | None:
        """Forget an SA; `final` is its last counters (from the kernel's delete or expire
        message), observed at `now`. Its evidence stays with its owners."""
        rec = self.sas.pop(key, None)
        if rec is None:
            return None
        if final is not None and now is not None and tuple(final) != rec.counts:
            rec.counts = (int(final[0]), int(final[1]))
            rec.change = self._stamp(now)
        owners: tuple[tuple[OwnerKind, dict[Hashable, set[Hashable]], Hashable | None], ...] = (
            ("ike", self._by_ike, rec.ike),
            ("vpn", self._by_vpn, rec.vpn),
            ("child", self._by_child, rec.child),
        )
        for kind, index, owner in owners:
            if owner is None:
                continue
            keys = index.get(owner)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del index[owner]
            if rec.change != NEVER:
                slot = (kind, owner, rec.direction)
                self._retired[slot] = max(self._retired.get(slot, NEVER), rec.change)
        return rec

    def forget(self, kind: OwnerKind, owner: Hashable) -> None:
        """The owner itself is gone: drop the evidence its removed SAs left behind."""
        for direction in Direction:
            self._retired.pop((kind, owner, direction), None)

    def move_ike(self, old: Hashable, new: Hashable) -> None:
        """An IKE rekey moved the children to the new IKE SA."""
        keys = self._by_ike.pop(old, set())
        for key in keys:
            self.sas[key].ike = new
        if keys:
            self._by_ike.setdefault(new, set()).update(keys)
        for direction in Direction:
            at = self._retired.pop(("ike", old, direction), None)
            if at is not None:
                self._retired[("ike", new, direction)] = at

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
            rec.change = self._stamp(now)

    def _stamp(self, now: float) -> Change:
        self.stamp += 1
        return (now, self.stamp)

    def keys_of(self, kind: OwnerKind, owner: Hashable) -> Iterable[Hashable]:
        """The owner's present SAs (a live view: do not keep it across registrations)."""
        return self._index[kind].get(owner, ())

    def latest_of(
        self, kind: OwnerKind, owner: Hashable, direction: Direction | None = None
    ) -> Change:
        """Latest observed change of the owner's SAs, present and removed (NEVER: none)."""
        inbound, outbound = self.latest_pair(kind, owner)
        if direction is None:
            return max(inbound, outbound)
        return inbound if direction is Direction.IN else outbound

    def latest_pair(self, kind: OwnerKind, owner: Hashable) -> tuple[Change, Change]:
        """`latest_of` for (inbound, outbound) in one pass."""
        inbound = outbound = NEVER
        sas = self.sas
        for key in self._index[kind].get(owner, ()):
            rec = sas[key]
            if rec.change is NEVER:
                continue
            if rec.direction is Direction.IN:
                inbound = max(inbound, rec.change)
            else:
                outbound = max(outbound, rec.change)
        if self._retired:
            retired = self._retired
            inbound = max(inbound, retired.get((kind, owner, Direction.IN), NEVER))
            outbound = max(outbound, retired.get((kind, owner, Direction.OUT), NEVER))
        return inbound, outbound

    def last_change_of(
        self, kind: OwnerKind, owner: Hashable, direction: Direction | None = None
    ) -> float:
        """Time of `latest_of` (-inf: never)."""
        return self.latest_of(kind, owner, direction)[0]

    def last_change(self, keys: Iterable[Hashable], direction: Direction | None = None) -> float:
        """Latest observed change among `keys` (in `direction`), or -inf if none ever changed."""
        latest = NEVER
        for key in keys:
            rec = self.sas.get(key)
            if rec is not None and (direction is None or rec.direction is direction):
                latest = max(latest, rec.change)
        return latest[0]
