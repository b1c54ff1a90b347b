"""Exact DPD timelines per Junos mode with a fake clock (spec §3.3, docs/dpd.md)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping

import pytest
from dpd_harness import drive, grows  # type: ignore[import-not-found, unused-ignore]

from xfrmctl.dpd import (
    DownReason,
    DpdMode,
    DpdSettings,
    LivenessManager,
    PeerDead,
    ProbePeer,
)

IKE = "ike-1"


def setup(mode: DpdMode, interval: float = 10, threshold: int = 5) -> LivenessManager:
    mgr = LivenessManager()
    mgr.add_peer(IKE, DpdSettings(mode, interval, threshold), now=0.0)
    mgr.sa_installed("in-sa", "in", 0.0, ike=IKE)
    mgr.sa_installed("out-sa", "out", 0.0, ike=IKE)
    return mgr


def traffic(
    inbound: Callable[[float], int] | None = None, outbound: Callable[[float], int] | None = None
) -> Callable[[float], Mapping[Hashable, tuple[int, int]]]:
    def dump(t: float) -> Mapping[Hashable, tuple[int, int]]:
        d: dict[Hashable, tuple[int, int]] = {}
        if inbound is not None:
            d["in-sa"] = (inbound(t), inbound(t) // 100)
        if outbound is not None:
            d["out-sa"] = (outbound(t), outbound(t) // 100)
        return d

    return dump


def probe_times(log: list[tuple[float, object]]) -> list[float]:
    return [t for t, a in log if isinstance(a, ProbePeer)]


def dead(log: list[tuple[float, object]]) -> list[PeerDead]:
    return [a for _, a in log if isinstance(a, PeerDead)]


def test_optimized_outbound_only_dead_at_threshold_plus_one_intervals() -> None:
    mgr = setup(DpdMode.OPTIMIZED)
    log = drive(mgr, 200, traffic(outbound=grows(0)))
    assert log == [
        (10.0, ProbePeer(IKE, 1, 10.0)),
        (20.0, ProbePeer(IKE, 2, 20.0)),
        (30.0, ProbePeer(IKE, 3, 30.0)),
        (40.0, ProbePeer(IKE, 4, 40.0)),
        (50.0, ProbePeer(IKE, 5, 50.0)),
        (60.0, PeerDead(IKE, DownReason.PEER_NOT_RESPONDING, 60.0, 0.0)),
    ]
    assert mgr.next_deadline() is None
    assert mgr.dpd_probes(IKE) is None


def test_optimized_idle_tunnel_is_never_probed() -> None:
    mgr = setup(DpdMode.OPTIMIZED)
    assert drive(mgr, 1000) == []
    assert mgr.next_deadline() == 1010.0


def test_optimized_inbound_traffic_suppresses_probes() -> None:
    mgr = setup(DpdMode.OPTIMIZED)
    log = drive(mgr, 300, traffic(inbound=grows(0), outbound=grows(0)))
    assert log == []


def test_optimized_probes_start_one_interval_after_inbound_stops() -> None:
    mgr = setup(DpdMode.OPTIMIZED, interval=10, threshold=3)
    # inbound stops at 34: the look at 40 still sees bytes that arrived during (30, 34]
    log = drive(mgr, 200, traffic(inbound=grows(0, stop=34), outbound=grows(0)))
    assert probe_times(log) == [50.0, 60.0, 70.0]
    assert dead(log) == [PeerDead(IKE, DownReason.PEER_NOT_RESPONDING, 80.0, 40.0)]


def test_optimized_outbound_after_idle_starts_probing_at_next_look() -> None:
    mgr = setup(DpdMode.OPTIMIZED, interval=10, threshold=2)
    log = drive(mgr, 200, traffic(outbound=grows(95)))
    assert probe_times(log) == [100.0, 110.0]
    assert dead(log)[0].detected_at == 120.0


def test_probe_idle_tunnel_probes_a_silent_idle_peer() -> None:
    mgr = setup(DpdMode.PROBE_IDLE_TUNNEL)
    log = drive(mgr, 200)
    assert probe_times(log) == [10.0, 20.0, 30.0, 40.0, 50.0]
    assert dead(log) == [PeerDead(IKE, DownReason.PEER_NOT_RESPONDING, 60.0, 0.0)]


def test_probe_idle_tunnel_probes_with_outbound_only() -> None:
    mgr = setup(DpdMode.PROBE_IDLE_TUNNEL)
    log = drive(mgr, 200, traffic(outbound=grows(0)))
    assert probe_times(log) == [10.0, 20.0, 30.0, 40.0, 50.0]
    assert dead(log)[0].detected_at == 60.0


def test_probe_idle_tunnel_inbound_suppresses() -> None:
    mgr = setup(DpdMode.PROBE_IDLE_TUNNEL)
    assert drive(mgr, 300, traffic(inbound=grows(0))) == []


def test_always_send_probes_despite_traffic_in_both_directions() -> None:
    mgr = setup(DpdMode.ALWAYS_SEND)
    log = drive(mgr, 60, traffic(inbound=grows(0), outbound=grows(0)))
    # inbound traffic keeps resetting the count: every probe is a first attempt, never dead
    assert log == [(t, ProbePeer(IKE, 1, t)) for t in (10.0, 20.0, 30.0, 40.0, 50.0, 60.0)]


def test_always_send_silent_peer_dead_after_threshold_probes() -> None:
    mgr = setup(DpdMode.ALWAYS_SEND, interval=10, threshold=5)
    log = drive(mgr, 200)
    assert [(t, a.attempt) for t, a in log if isinstance(a, ProbePeer)] == [
        (10.0, 1),
        (20.0, 2),
        (30.0, 3),
        (40.0, 4),
        (50.0, 5),
    ]
    assert dead(log)[0].detected_at == 60.0


def test_always_send_keeps_its_cadence_after_an_answer() -> None:
    mgr = setup(DpdMode.ALWAYS_SEND, interval=10, threshold=2)
    answer = (13.0, lambda m, t: m.probe_answered(IKE, t))
    log = drive(mgr, 100, events=[answer])
    # probes at 10 (answered at 13), 20 (first of a new round), 30, dead at 40
    assert [(t, a.attempt) for t, a in log if isinstance(a, ProbePeer)] == [
        (10.0, 1),
        (20.0, 1),
        (30.0, 2),
    ]
    assert dead(log) == [PeerDead(IKE, DownReason.PEER_NOT_RESPONDING, 40.0, 13.0)]


@pytest.mark.parametrize("mode", [DpdMode.OPTIMIZED, DpdMode.PROBE_IDLE_TUNNEL])
def test_answered_probe_resets_and_reschedules_from_the_answer(mode: DpdMode) -> None:
    mgr = setup(mode, interval=10, threshold=5)
    answer = (32.0, lambda m, t: m.probe_answered(IKE, t))
    log = drive(mgr, 200, traffic(outbound=grows(0)), events=[answer])
    # round 1: 10, 20, 30 (answered at 32); next look at 42; round 2 from 42
    assert [(t, a.attempt) for t, a in log if isinstance(a, ProbePeer)] == [
        (10.0, 1),
        (20.0, 2),
        (30.0, 3),
        (42.0, 1),
        (52.0, 2),
        (62.0, 3),
        (72.0, 4),
        (82.0, 5),
    ]
    assert dead(log) == [PeerDead(IKE, DownReason.PEER_NOT_RESPONDING, 92.0, 32.0)]


def test_answer_resets_count_at_once() -> None:
    mgr = setup(DpdMode.PROBE_IDLE_TUNNEL)
    drive(mgr, 20)
    assert mgr.dpd_probes(IKE) == 2
    mgr.probe_answered(IKE, 21.0)
    assert mgr.dpd_probes(IKE) == 0


def test_any_ike_message_counts_as_liveness() -> None:
    mgr = setup(DpdMode.PROBE_IDLE_TUNNEL, interval=10, threshold=5)
    msgs = [(t, lambda m, t: m.ike_message_received(IKE, t)) for t in (5.0, 14.0, 23.5)]
    log = drive(mgr, 200, events=msgs)
    assert probe_times(log) == [33.5, 43.5, 53.5, 63.5, 73.5]
    assert dead(log)[0].detected_at == 83.5
    assert dead(log)[0].last_alive == 23.5


@pytest.mark.parametrize("mode", [DpdMode.OPTIMIZED, DpdMode.PROBE_IDLE_TUNNEL])
def test_message_reported_late_reschedules_from_its_own_time(mode: DpdMode) -> None:
    """The daemon reports the peer's latest IKE message when a decision asks (at 10.5 here, a
    message of 8): the next decision is 8 + interval, so death stays within the bound."""
    mgr = setup(mode, interval=10, threshold=5)
    late = (10.5, lambda m, t: m.ike_message_received(IKE, 8.0))
    log = drive(mgr, 200, traffic(outbound=grows(0)), events=[late])
    assert probe_times(log) == [10.0, 18.0, 28.0, 38.0, 48.0, 58.0]
    assert dead(log) == [PeerDead(IKE, DownReason.PEER_NOT_RESPONDING, 68.0, 8.0)]


def test_inbound_traffic_while_probing_resets_the_round() -> None:
    mgr = setup(DpdMode.PROBE_IDLE_TUNNEL, interval=10, threshold=3)
    log = drive(mgr, 200, traffic(inbound=grows(25, stop=26)))
    # probes at 10, 20; the look at 30 sees the burst of (25, 26]: evidence at 30
    assert probe_times(log) == [10.0, 20.0, 40.0, 50.0, 60.0]
    assert dead(log)[0].detected_at == 70.0


def test_outbound_traffic_alone_never_resets_the_round() -> None:
    mgr = setup(DpdMode.OPTIMIZED, interval=10, threshold=2)
    log = drive(mgr, 100, traffic(outbound=grows(0)))
    assert dead(log)[0].detected_at == 30.0


def test_threshold_one() -> None:
    mgr = setup(DpdMode.PROBE_IDLE_TUNNEL, interval=2, threshold=1)
    log = drive(mgr, 100)
    assert probe_times(log) == [2.0]
    assert dead(log)[0].detected_at == 4.0


def test_late_processing_uses_the_real_time() -> None:
    mgr = setup(DpdMode.PROBE_IDLE_TUNNEL, interval=10, threshold=1)
    assert mgr.on_timer(12.5, {}) == [ProbePeer(IKE, 1, 12.5)]
    assert mgr.next_deadline() == 22.5
    assert mgr.on_timer(30.0, {}) == [
        PeerDead(IKE, DownReason.PEER_NOT_RESPONDING, 30.0, 0.0),
    ]


def test_remove_peer_cancels_its_timer() -> None:
    mgr = setup(DpdMode.ALWAYS_SEND)
    mgr.remove_peer(IKE)
    assert mgr.next_deadline() is None
    assert drive(mgr, 100) == []
    mgr.remove_peer(IKE)  # twice is harmless
    mgr.probe_answered(IKE, 5.0)  # an answer racing the removal is ignored
    mgr.ike_message_received("unknown", 5.0)


def test_ike_rekey_moves_state_and_children_to_the_new_sa() -> None:
    mgr = setup(DpdMode.OPTIMIZED, interval=10, threshold=2)
    drive(mgr, 10, traffic(outbound=grows(0)))
    assert mgr.dpd_probes(IKE) == 1
    mgr.rekey_peer(IKE, "ike-2", 15.0)  # the rekey exchange itself proves liveness
    assert mgr.dpd_probes(IKE) is None
    assert mgr.dpd_probes("ike-2") == 0
    assert mgr.ledger.of_ike("ike-2") == {"in-sa", "out-sa"}
    log = drive(mgr, 100, traffic(outbound=grows(0)))
    assert probe_times(log) == [25.0, 35.0]
    assert dead(log) == [PeerDead("ike-2", DownReason.PEER_NOT_RESPONDING, 45.0, 15.0)]


def test_child_rekey_traffic_on_the_new_sa_counts() -> None:
    mgr = setup(DpdMode.PROBE_IDLE_TUNNEL, interval=10, threshold=5)
    mgr.sa_installed("in-sa-2", "in", 12.0, ike=IKE)
    mgr.sa_removed("in-sa")
    new_in = grows(12)

    def dump(t: float) -> Mapping[Hashable, tuple[int, int]]:
        return {"in-sa-2": (new_in(t), 0), "in-sa": (999_999, 9)}

    log = drive(mgr, 100, dump)
    assert probe_times(log) == [10.0]  # before the new SA carried anything
    assert dead(log) == []


def test_reload_changes_settings_and_restarts_the_round() -> None:
    mgr = setup(DpdMode.PROBE_IDLE_TUNNEL, interval=10, threshold=5)
    drive(mgr, 20)
    assert mgr.dpd_probes(IKE) == 2
    mgr.reconfigure_peer(IKE, DpdSettings(DpdMode.ALWAYS_SEND, 5, 2), 22.0)
    log = drive(mgr, 100)
    assert probe_times(log) == [27.0, 32.0]
    assert dead(log) == [PeerDead(IKE, DownReason.PEER_NOT_RESPONDING, 37.0, 0.0)]


def test_reconfigure_of_an_unknown_peer_adds_it() -> None:
    mgr = LivenessManager()
    mgr.reconfigure_peer("new", DpdSettings(), 3.0)
    assert mgr.dpd_probes("new") == 0
    assert mgr.next_deadline() == 13.0
