"""A fake clock for the liveness manager: runs its deadlines and scripted events in time order."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping

from xfrmctl.dpd import Action, LivenessManager

Event = tuple[float, Callable[[LivenessManager, float], list[Action] | None]]
DumpFn = Callable[[float], Mapping[Hashable, tuple[int, int]]]


def no_traffic(_t: float) -> Mapping[Hashable, tuple[int, int]]:
    return {}


def drive(
    mgr: LivenessManager,
    until: float,
    dump: DumpFn = no_traffic,
    events: Iterable[Event] = (),
) -> list[tuple[float, Action]]:
    """Every action with the time it was emitted; an event at a deadline's time runs first."""
    pending = sorted(events, key=lambda e: e[0])
    out: list[tuple[float, Action]] = []
    while True:
        deadline = mgr.next_deadline()
        next_event = pending[0][0] if pending else float("inf")
        due = deadline if deadline is not None else float("inf")
        if min(due, next_event) > until:
            return out
        if next_event <= due:
            t, fn = pending.pop(0)
            out += [(t, a) for a in fn(mgr, t) or []]
        else:
            out += [(due, a) for a in mgr.on_timer(due, dump(due))]


def grows(start: float, stop: float = float("inf"), rate: int = 1000) -> Callable[[float], int]:
    """A byte counter that grows by `rate` per second during [start, stop)."""

    def count(t: float) -> int:
        return int(max(0.0, min(t, stop) - start) * rate)

    return count
