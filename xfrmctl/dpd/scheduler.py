"""One deadline heap for every liveness timer of every tunnel.

Re-arming a key pushes a new heap entry and leaves the old one behind; stale entries are dropped
when they surface. Cost is proportional to the number of due (or re-armed) timers, never to the
number of tunnels, so ten thousand idle tunnels cost nothing between their deadlines.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class Scheduler(Generic[K]):
    """At most one pending deadline per key; `pop_due` hands out due keys in deadline order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, K]] = []
        self._due: dict[K, float] = {}
        self._order = itertools.count()

    def __len__(self) -> int:
        return len(self._due)

    def __contains__(self, key: object) -> bool:
        return key in self._due

    def set(self, key: K, deadline: float) -> None:
        """Arm (or re-arm) `key` for `deadline`, replacing any earlier deadline of it."""
        if self._due.get(key) == deadline:
            return
        self._due[key] = deadline
        heapq.heappush(self._heap, (deadline, next(self._order), key))
        if len(self._heap) > 2 * len(self._due) + 64:
            self._compact()

    def cancel(self, key: K) -> None:
        self._due.pop(key, None)

    def deadline(self, key: K) -> float | None:
        return self._due.get(key)

    def next_deadline(self) -> float | None:
        while self._heap:
            deadline, _, key = self._heap[0]
            if self._due.get(key) == deadline:
                return deadline
            heapq.heappop(self._heap)
        return None

    def pop_due(self, now: float) -> list[K]:
        """Keys whose deadline is <= now, earliest first; they are disarmed."""
        out: list[K] = []
        while self._heap and self._heap[0][0] <= now:
            deadline, _, key = heapq.heappop(self._heap)
            if self._due.get(key) == deadline:
                del self._due[key]
                out.append(key)
        return out

    def _compact(self) -> None:
        # many re-arms left stale entries: rebuild from the live deadlines (amortised O(1))
        self._heap = [(d, next(self._order), k) for k, d in self._due.items()]
        heapq.heapify(self._heap)
