"""Random event sequences: nothing raises, and nothing is declared dead while evidence is fresh.

The model keeps the true time of every piece of evidence (IKE messages, probe answers, inbound
bytes, echo replies that matched); `PeerDead` and `MonitorDown` must come at least
`threshold * interval` after the latest of them.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from xfrmctl.dpd import (
    Action,
    DpdMode,
    DpdSettings,
    LivenessManager,
    MonitorDown,
    MonitorSettings,
    MonitorTarget,
    MonitorUp,
    MonState,
    PeerDead,
    ProbePeer,
    SendEcho,
)

IKE = "ike"
VPN = "vpn"

OPS = st.sampled_from(
    [
        "ike_msg",
        "answer",
        "in_bytes",
        "out_bytes",
        "wrap_in",
        "rekey_child",
        "echo_reply",
        "late_reply",
        "foreign_reply",
        "readd_peer",
        "nothing",
    ]
)
STEPS = st.lists(
    st.tuples(st.integers(min_value=0, max_value=40).map(lambda n: n / 2), OPS), max_size=60
)


@dataclass
class World:
    mgr: LivenessManager
    dpd: DpdSettings
    mon: MonitorSettings
    optimized: bool
    counters: dict[Hashable, tuple[int, int]] = field(default_factory=dict)
    in_key: str = "in-0"
    out_key: str = "out-0"
    generation: int = 0
    peer_evidence: float = 0.0
    mon_evidence: float = 0.0
    peer_alive: bool = True
    last_echo: SendEcho | None = None
    actions: list[tuple[float, Action]] = field(default_factory=list)

    def check(self, now: float, actions: list[Action]) -> None:
        for a in actions:
            self.actions.append((now, a))
            if isinstance(a, PeerDead):
                assert self.peer_alive
                assert a.detected_at == now
                assert now - self.peer_evidence >= self.dpd.threshold * self.dpd.interval
                self.peer_alive = False
            elif isinstance(a, ProbePeer):
                assert self.peer_alive and 1 <= a.attempt <= self.dpd.threshold
            elif isinstance(a, MonitorDown):
                assert now - self.mon_evidence >= self.mon.threshold * self.mon.interval
                assert self.mgr.mon_state(VPN) is MonState.DOWN
            elif isinstance(a, MonitorUp):
                assert self.mgr.mon_state(VPN) is MonState.UP
            elif isinstance(a, SendEcho):
                self.last_echo = a

    def run_until(self, now: float) -> None:
        while (d := self.mgr.next_deadline()) is not None and d <= now:
            dump = dict(self.counters)
            self.check(d, self.mgr.on_timer(d, dump))

    def bump(self, key: str, now: float, evidence: bool) -> None:
        b, p = self.counters.get(key, (0, 0))
        self.counters[key] = ((b + 100) % 2**64, (p + 1) % 2**64)
        if evidence:
            self.peer_evidence = now
            if self.optimized:
                self.mon_evidence = now


@settings(max_examples=200, deadline=None)
@given(
    steps=STEPS,
    mode=st.sampled_from(list(DpdMode)),
    interval=st.sampled_from([2.0, 5.0, 10.0]),
    threshold=st.integers(min_value=1, max_value=5),
    mon_interval=st.sampled_from([2.0, 10.0]),
    mon_threshold=st.integers(min_value=1, max_value=4),
    optimized=st.booleans(),
)
def test_random_sequences(
    steps: list[tuple[float, str]],
    mode: DpdMode,
    interval: float,
    threshold: int,
    mon_interval: float,
    mon_threshold: int,
    optimized: bool,
) -> None:
    dpd = DpdSettings(mode, interval, threshold)
    mon = MonitorSettings(mon_interval, mon_threshold)
    w = World(LivenessManager(mon), dpd, mon, optimized)
    w.mgr.add_peer(IKE, dpd, 0.0)
    w.mgr.sa_installed(w.in_key, "in", 0.0, ike=IKE, vpn=VPN, child=0, idle_time=60)
    w.mgr.sa_installed(w.out_key, "out", 0.0, ike=IKE, vpn=VPN, child=0, idle_time=60)
    w.mgr.add_vpn(VPN, MonitorTarget("10.0.0.1", "10.0.0.2", "st0.0", optimized), 0.0)
    if not optimized:
        w.mon_evidence = float("-inf")  # only replies count; none yet
    now = 0.0
    for dt, op in steps:
        now += dt
        w.run_until(now)
        if op == "ike_msg" or (op == "answer" and w.peer_alive):
            w.mgr.ike_message_received(IKE, now)
            w.peer_evidence = now
        elif op == "in_bytes":
            w.bump(w.in_key, now, evidence=True)
        elif op == "out_bytes":
            w.bump(w.out_key, now, evidence=False)
        elif op == "wrap_in":
            # jump to just below 2**64 (or past it): the next bump wraps around
            b, p = w.counters.get(w.in_key, (0, 0))
            near = 2**64 - 30
            w.counters[w.in_key] = (near if b != near else 10, p + 1)
            w.peer_evidence = now
            if optimized:
                w.mon_evidence = now
        elif op == "rekey_child":
            w.generation += 1
            old_in, old_out = w.in_key, w.out_key
            w.in_key, w.out_key = f"in-{w.generation}", f"out-{w.generation}"
            for key, direction in ((w.in_key, "in"), (w.out_key, "out")):
                w.mgr.sa_installed(
                    key, direction, now, ike=IKE, vpn=VPN, child=w.generation, idle_time=60
                )
            # the kernel's delete notification carries the final counters
            w.mgr.sa_removed(old_in, now, w.counters.pop(old_in, (0, 0)))
            w.mgr.sa_removed(old_out, now, w.counters.pop(old_out, (0, 0)))
        elif op in ("echo_reply", "late_reply") and w.last_echo is not None:
            seq = w.last_echo.seq if op == "echo_reply" else (w.last_echo.seq - 1) & 0xFFFF
            before = w.mgr.monitor_stats(VPN)
            assert before is not None
            w.check(now, w.mgr.echo_reply(VPN, w.last_echo.ident, seq, now))
            after = w.mgr.monitor_stats(VPN)
            assert after is not None
            if after.answered > before.answered:
                w.mon_evidence = now
        elif op == "foreign_reply":
            assert w.mgr.echo_reply(None, 4242, 1, now) == []
        elif op == "readd_peer" and not w.peer_alive:
            w.mgr.add_peer(IKE, dpd, now)
            w.peer_evidence = now
            w.peer_alive = True
    w.run_until(now + 200)
    dead = [t for t, a in w.actions if isinstance(a, PeerDead)]
    assert dead == sorted(dead)
