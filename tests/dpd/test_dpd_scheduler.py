"""The shared deadline heap: re-arming, cancelling, ordering, and stale-entry compaction."""

from __future__ import annotations

from xfrmctl.dpd import Scheduler


def test_due_keys_in_deadline_order_and_disarmed() -> None:
    s: Scheduler[str] = Scheduler()
    s.set("b", 20.0)
    s.set("a", 10.0)
    s.set("c", 20.0)
    assert s.next_deadline() == 10.0
    assert s.pop_due(5.0) == []
    assert s.pop_due(20.0) == ["a", "b", "c"]
    assert len(s) == 0
    assert s.next_deadline() is None


def test_rearm_replaces_the_deadline() -> None:
    s: Scheduler[str] = Scheduler()
    s.set("a", 10.0)
    s.set("a", 30.0)
    assert s.deadline("a") == 30.0
    assert s.pop_due(20.0) == []
    assert s.next_deadline() == 30.0
    s.set("a", 5.0)
    assert s.pop_due(5.0) == ["a"]
    assert s.pop_due(100.0) == []


def test_cancel() -> None:
    s: Scheduler[str] = Scheduler()
    s.set("a", 10.0)
    s.cancel("a")
    s.cancel("a")
    assert "a" not in s
    assert s.next_deadline() is None
    assert s.pop_due(100.0) == []


def test_many_rearms_keep_the_heap_bounded() -> None:
    s: Scheduler[int] = Scheduler()
    for i in range(10):
        s.set(i, 1000.0 + i)
    for round_ in range(1000):
        s.set(round_ % 10, 2000.0 + round_)
    assert len(s._heap) <= 2 * len(s) + 64 + 1
    assert s.pop_due(10_000.0) == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]


def test_cost_follows_due_events_not_tunnels() -> None:
    s: Scheduler[int] = Scheduler()
    for i in range(10_000):
        s.set(i, 100.0 + i)
    assert s.pop_due(100.5) == [0]
    assert len(s._heap) == 9_999  # nothing but the due entry was touched
