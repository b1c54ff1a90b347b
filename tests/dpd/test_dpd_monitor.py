"""VPN monitoring: echo cycles, U/D transitions, reply matching, `optimized` (spec §3.2)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping

from dpd_harness import drive, grows  # type: ignore[import-not-found, unused-ignore]

from xfrmctl.dpd import (
    Action,
    DownReason,
    LivenessManager,
    MonitorDown,
    MonitorSettings,
    MonitorTarget,
    MonitorUp,
    MonState,
    SendEcho,
)

VPN = "vpn-a"
TARGET = MonitorTarget("10.0.0.1", "192.0.2.2", "st0.0")


def setup(interval: float = 10, threshold: int = 10, optimized: bool = False) -> LivenessManager:
    mgr = LivenessManager(MonitorSettings(interval, threshold))
    target = MonitorTarget(TARGET.src, TARGET.dst, TARGET.device, optimized)
    mgr.sa_installed("in-sa", "in", 0.0, vpn=VPN)
    mgr.sa_installed("out-sa", "out", 0.0, vpn=VPN)
    mgr.add_vpn(VPN, target, 0.0)
    return mgr


def echo(t: float, seq: int, ident: int = 1) -> tuple[float, SendEcho]:
    return (t, SendEcho(VPN, "10.0.0.1", "192.0.2.2", ident, seq, "st0.0"))


def reply(
    seq: int, ident: int = 1, vpn: str | None = VPN
) -> Callable[[LivenessManager, float], list[Action]]:
    def fire(m: LivenessManager, t: float) -> list[Action]:
        return m.echo_reply(vpn, ident, seq, t)

    return fire


def test_unmonitored_vpn_shows_dash() -> None:
    mgr = LivenessManager()
    assert mgr.mon_state("other") is MonState.OFF
    assert MonState.OFF.detail == "-"
    assert mgr.monitor_stats("other") is None


def test_silent_peer_goes_down_after_threshold_missed_echoes() -> None:
    mgr = setup(interval=10, threshold=3)
    assert mgr.mon_state(VPN) is MonState.UP
    log = drive(mgr, 45)
    assert log == [
        echo(0.0, 1),
        echo(10.0, 2),
        echo(20.0, 3),
        (30.0, MonitorDown(VPN, DownReason.VPN_MONITOR, 30.0)),
        echo(30.0, 4),
        echo(40.0, 5),
    ]
    assert mgr.mon_state(VPN) is MonState.DOWN
    assert MonState.DOWN.detail == "DOWN"


def test_default_options_down_at_one_hundred_seconds() -> None:
    mgr = setup()
    log = drive(mgr, 200)
    downs = [(t, a) for t, a in log if isinstance(a, MonitorDown)]
    assert downs == [(100.0, MonitorDown(VPN, DownReason.VPN_MONITOR, 100.0))]
    assert sum(isinstance(a, SendEcho) for _, a in log) == 21  # keeps probing while down


def test_answered_echoes_keep_it_up() -> None:
    mgr = setup(interval=10, threshold=2)
    replies = [(t + 0.05, reply(int(t // 10) + 1)) for t in range(0, 100, 10)]
    log = drive(mgr, 99, events=replies)
    assert [a for _, a in log if not isinstance(a, SendEcho)] == []
    assert mgr.mon_state(VPN) is MonState.UP
    stats = mgr.monitor_stats(VPN)
    assert stats is not None
    assert (stats.sent, stats.answered, stats.failures, stats.late) == (10, 10, 0, 0)


def test_one_reply_brings_it_up_again_immediately() -> None:
    mgr = setup(interval=10, threshold=3)
    log = drive(mgr, 60, events=[(52.5, reply(6))])
    assert (30.0, MonitorDown(VPN, DownReason.VPN_MONITOR, 30.0)) in log
    assert (52.5, MonitorUp(VPN, 52.5)) in log
    assert mgr.mon_state(VPN) is MonState.UP
    # the count starts over: down again only after three more missed cycles
    log = drive(mgr, 100)
    assert [(t, type(a).__name__) for t, a in log if not isinstance(a, SendEcho)] == [
        (90.0, "MonitorDown")
    ]


def test_failures_must_be_consecutive() -> None:
    mgr = setup(interval=10, threshold=3)
    # misses at 0 and 10 (judged at 10, 20), the echo of 20 answered, then misses again
    log = drive(mgr, 80, events=[(21.0, reply(3))])
    downs = [t for t, a in log if isinstance(a, MonitorDown)]
    assert downs == [60.0]


def test_late_reply_is_ignored_and_counted() -> None:
    mgr = setup(interval=10, threshold=2)
    # the reply to seq 1 arrives after the cycle at 10 judged it missing
    log = drive(mgr, 20, events=[(10.5, reply(1))])
    assert (20.0, MonitorDown(VPN, DownReason.VPN_MONITOR, 20.0)) in log
    stats = mgr.monitor_stats(VPN)
    assert stats is not None
    assert (stats.late, stats.answered) == (1, 0)


def test_duplicate_reply_counts_as_late() -> None:
    mgr = setup(interval=10, threshold=2)
    drive(mgr, 5, events=[(1.0, reply(1)), (2.0, reply(1))])
    stats = mgr.monitor_stats(VPN)
    assert stats is not None
    assert (stats.answered, stats.late) == (1, 1)


def test_foreign_replies_are_ignored_and_counted() -> None:
    mgr = setup(interval=10, threshold=1)
    assert mgr.echo_reply(VPN, 999, 1, 1.0) == []  # our VPN, another identifier
    assert mgr.echo_reply(None, 999, 1, 1.0) == []  # nobody's identifier
    assert mgr.echo_reply("unknown", 1, 1, 1.0) == []  # unknown VPN
    log = drive(mgr, 10)
    assert (10.0, MonitorDown(VPN, DownReason.VPN_MONITOR, 10.0)) in log
    stats = mgr.monitor_stats(VPN)
    assert stats is not None
    assert stats.foreign == 1
    assert mgr.foreign_replies == 3


def test_reply_found_by_identifier_alone() -> None:
    mgr = setup(interval=10, threshold=1)
    drive(mgr, 0)
    assert mgr.echo_reply(None, 1, 1, 0.5) == []
    stats = mgr.monitor_stats(VPN)
    assert stats is not None and stats.answered == 1


def test_identifiers_are_distinct_and_reused_after_removal() -> None:
    mgr = LivenessManager()
    for name in ("a", "b", "c"):
        mgr.add_vpn(name, TARGET, 0.0)
    idents = {n: mgr.monitor_stats(n).ident for n in ("a", "b", "c")}  # type: ignore[union-attr]
    assert idents == {"a": 1, "b": 2, "c": 3}
    mgr.remove_vpn("b")
    assert mgr.mon_state("b") is MonState.OFF
    mgr.add_vpn("d", TARGET, 0.0)
    mgr.add_vpn("e", TARGET, 0.0)
    assert mgr.monitor_stats("d").ident == 4  # type: ignore[union-attr]
    assert mgr.monitor_stats("e").ident == 5  # type: ignore[union-attr]


def test_sequence_wraps_at_sixteen_bits() -> None:
    mgr = setup(interval=1, threshold=1_000_000)
    assert [a.seq for _, a in drive(mgr, 1)] == [1, 2]
    mgr.monitors[VPN].seq = 65533  # as after 65,533 cycles
    log = drive(mgr, 5)
    assert [a.seq for _, a in log if isinstance(a, SendEcho)] == [65534, 65535, 0, 1]


def _inbound_dump(
    count: Callable[[float], int],
) -> Callable[[float], Mapping[Hashable, tuple[int, int]]]:
    def dump(t: float) -> Mapping[Hashable, tuple[int, int]]:
        return {"in-sa": (count(t), 0)}

    return dump


def test_optimized_inbound_traffic_suppresses_echoes() -> None:
    mgr = setup(interval=10, threshold=3, optimized=True)
    log = drive(mgr, 100, _inbound_dump(grows(0)))
    # the first cycle (at install) has seen nothing yet; later cycles see inbound bytes
    assert log == [echo(0.0, 1)]
    stats = mgr.monitor_stats(VPN)
    assert stats is not None
    assert (stats.sent, stats.suppressed, stats.failures) == (1, 10, 0)


def test_optimized_echoes_resume_when_inbound_stops() -> None:
    mgr = setup(interval=10, threshold=3, optimized=True)
    log = drive(mgr, 100, _inbound_dump(grows(0, stop=25)))
    # the cycle at 30 still sees bytes of (20, 25]; echoes from 40, down after three misses
    assert [t for t, a in log if isinstance(a, SendEcho)] == [
        0.0,
        40.0,
        50.0,
        60.0,
        70.0,
        80.0,
        90.0,
        100.0,
    ]
    assert [t for t, a in log if isinstance(a, MonitorDown)] == [70.0]


def test_optimized_traffic_brings_a_down_vpn_up() -> None:
    mgr = setup(interval=10, threshold=2, optimized=True)
    log = drive(mgr, 100, _inbound_dump(grows(55)))
    assert [(t, type(a).__name__) for t, a in log if not isinstance(a, SendEcho)] == [
        (20.0, "MonitorDown"),
        (60.0, "MonitorUp"),
    ]


def test_without_optimized_traffic_does_not_count() -> None:
    mgr = setup(interval=10, threshold=2, optimized=False)
    log = drive(mgr, 20, _inbound_dump(grows(0)))
    assert [t for t, a in log if isinstance(a, MonitorDown)] == [20.0]


def test_re_adding_keeps_state_and_takes_the_new_target() -> None:
    mgr = setup(interval=10, threshold=1)
    drive(mgr, 10)
    assert mgr.mon_state(VPN) is MonState.DOWN
    mgr.add_vpn(VPN, MonitorTarget("10.0.0.9", "192.0.2.9", "st0.1"), 15.0)
    log = drive(mgr, 20)
    assert log == [(20.0, SendEcho(VPN, "10.0.0.9", "192.0.2.9", 1, 3, "st0.1"))]
    assert mgr.mon_state(VPN) is MonState.DOWN


def test_remove_vpn_stops_its_cycles() -> None:
    mgr = setup()
    mgr.remove_vpn(VPN)
    mgr.remove_vpn(VPN)
    assert drive(mgr, 100) == []
