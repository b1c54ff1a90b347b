"""`idle-time`: a child SA without traffic in either direction for that long is deleted."""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import pytest
from dpd_harness import drive, grows  # type: ignore[import-not-found, unused-ignore]

from xfrmctl.dpd import DpdError, IdleTimeout, LivenessManager


def setup(idle: float = 60) -> LivenessManager:
    mgr = LivenessManager()
    mgr.sa_installed("in", "in", 0.0, child="c1", idle_time=idle)
    mgr.sa_installed("out", "out", 0.0, child="c1", idle_time=idle)
    return mgr


def test_idle_child_deleted_at_exactly_idle_time() -> None:
    mgr = setup(60)
    assert mgr.next_deadline() == 10.0
    assert drive(mgr, 200) == [(60.0, IdleTimeout("c1", 0.0, 60.0))]
    assert mgr.next_deadline() is None


@pytest.mark.parametrize("key", ["in", "out"])
def test_traffic_in_either_direction_keeps_it(key: str) -> None:
    mgr = setup(60)
    count = grows(15, stop=16)

    def dump(t: float) -> Mapping[Hashable, tuple[int, int]]:
        return {key: (count(t), 1 if count(t) else 0)}

    # the look at 20 sees the burst of (15, 16]: idle from 20, deleted at 80
    assert drive(mgr, 200, dump) == [(80.0, IdleTimeout("c1", 20.0, 80.0))]


def test_continuous_traffic_never_times_out() -> None:
    mgr = setup(60)
    count = grows(0)
    assert drive(mgr, 1000, lambda t: {"in": (count(t), 0)}) == []


def test_removed_child_cancels_its_check() -> None:
    mgr = setup(60)
    mgr.sa_removed("in")
    assert mgr.next_deadline() == 10.0  # "out" is still there
    mgr.sa_removed("out")
    assert mgr.next_deadline() is None
    mgr.sa_removed("out")


def test_rekeyed_child_under_a_new_id_starts_its_own_clock() -> None:
    mgr = setup(60)
    mgr.sa_installed("in2", "in", 45.0, child="c2", idle_time=60)
    mgr.sa_installed("out2", "out", 45.0, child="c2", idle_time=60)
    mgr.sa_removed("in")
    mgr.sa_removed("out")
    assert drive(mgr, 200) == [(105.0, IdleTimeout("c2", 45.0, 105.0))]


def test_idle_time_needs_a_child_and_a_positive_value() -> None:
    mgr = LivenessManager()
    with pytest.raises(DpdError, match="needs the child"):
        mgr.sa_installed("s", "in", 0.0, idle_time=60)
    with pytest.raises(DpdError, match="must be positive"):
        mgr.sa_installed("s", "in", 0.0, child="c", idle_time=0)


def test_sas_without_idle_time_schedule_nothing() -> None:
    mgr = LivenessManager()
    mgr.sa_installed("s", "in", 0.0, child="c")
    assert mgr.next_deadline() is None
