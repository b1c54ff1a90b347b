"""Every timer makes progress: a decision run at its own deadline never schedules itself again
at that same instant, whatever rounding the deadline's float arithmetic brought (a DPD decision
at 10.2 for evidence at 0.2 used to find the evidence still "fresh", since 10.2 - 10 < 0.2,
and asked to run again at 10.2, for ever)."""

from __future__ import annotations

import pytest

from xfrmctl.dpd import DpdMode, DpdSettings, IdleTimeout, LivenessManager, ProbePeer

STARTS = [s / 10 for s in range(1, 200)]  # many of these round the other way


def run_until(mgr: LivenessManager, horizon: float) -> list[object]:
    """Run every deadline up to `horizon`, checking each moves time forward."""
    actions: list[object] = []
    for _ in range(1000):
        due = mgr.next_deadline()
        if due is None or due > horizon:
            return actions
        actions += mgr.on_timer(due, {})
        after = mgr.next_deadline()
        assert after is None or after > due, f"deadline {due} scheduled again at {after}"
    raise AssertionError("timers did not progress")


@pytest.mark.parametrize("mode", list(DpdMode))
def test_dpd_decision_at_its_deadline_moves_on(mode: DpdMode) -> None:
    for start in STARTS:
        mgr = LivenessManager()
        mgr.add_peer("ike", DpdSettings(mode, 10.0, 5), start)
        actions = run_until(mgr, start + 25)
        probes = [a for a in actions if isinstance(a, ProbePeer)]
        # optimized and idle: nothing; the others probe at start + 10 and start + 20
        expected = 0 if mode is DpdMode.OPTIMIZED else 2
        assert len(probes) == expected, (start, actions)


def test_idle_check_at_its_deadline_moves_on() -> None:
    for start in STARTS:
        mgr = LivenessManager()
        mgr.sa_installed("sa", "in", start, child="c", idle_time=60.0)
        actions = run_until(mgr, start + 61)
        assert actions == [IdleTimeout("c", start, start + 60.0)], (start, actions)
