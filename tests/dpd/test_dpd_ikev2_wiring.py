"""DPD driving two real IKEv2 engines in memory, wired as the daemon should wire them.

`ProbePeer` becomes `Ikev2Engine.liveness_check`; the engine's `LivenessResult(alive=True)`
becomes `probe_answered`. The peer's engine answers every liveness check, so a healthy peer is
never declared dead; a peer whose packets are all dropped is dead exactly
`(threshold + 1) * interval` after its last answer, long before the engine's own give-up.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from xfrmctl.dpd import DownReason, DpdMode, DpdSettings, LivenessManager, PeerDead, ProbePeer
from xfrmctl.keying.ikev2.actions import IkeEstablished, InstallChild, LivenessResult

_HARNESS = Path(__file__).parents[1] / "keying" / "ikev2" / "conftest.py"


def _net_module() -> Any:
    name = "dpd_ikev2_net"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _HARNESS)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


class Wired:
    """Engine a with a LivenessManager, as the daemon runs them."""

    def __init__(self, settings: DpdSettings) -> None:
        self.net = _net_module().pair()
        self.mgr = LivenessManager()
        self.settings = settings
        self.seen = 0
        self.log: list[tuple[float, object]] = []
        self.net.feed(self.net.a, self.net.a.engine.initiate("to-b", "net", 0.0))
        self.net.run()
        self._events()

    def _events(self) -> None:
        """Hand engine a's new actions to the liveness manager."""
        a = self.net.a
        for act in a.events[self.seen :]:
            now = self.net.now
            if isinstance(act, IkeEstablished):
                self.mgr.add_peer(act.ike_sa, self.settings, now)
            elif isinstance(act, InstallChild):
                self.mgr.sa_installed((act.local, act.spi_in, 50), "in", now, ike=act.ike_sa)
                self.mgr.sa_installed((act.remote, act.spi_out, 50), "out", now, ike=act.ike_sa)
            elif isinstance(act, LivenessResult):
                self.log.append((now, act))
                if act.alive:
                    self.mgr.probe_answered(act.ike_sa, act.at)
        self.seen = len(a.events)

    def run(self, until: float) -> None:
        net = self.net
        while True:
            deadlines = [
                d
                for d in (
                    net.a.engine.next_deadline(),
                    net.b.engine.next_deadline(),
                    self.mgr.next_deadline(),
                )
                if d is not None
            ]
            if not deadlines or min(deadlines) > until:
                return
            net.now = max(net.now, min(deadlines))
            for side in (net.a, net.b):
                net.feed(side, side.engine.on_timer(net.now))
            net.run()
            self._events()
            for act in self.mgr.on_timer(net.now, {}):
                self.log.append((net.now, act))
                if isinstance(act, ProbePeer):
                    net.feed(net.a, net.a.engine.liveness_check(act.ike, net.now))
                    net.run()
                    self._events()


def test_healthy_peer_answers_every_probe() -> None:
    w = Wired(DpdSettings(DpdMode.PROBE_IDLE_TUNNEL, 10, 5))
    w.run(300)
    probes = [t for t, a in w.log if isinstance(a, ProbePeer)]
    answers = [t for t, a in w.log if isinstance(a, LivenessResult) and a.alive]
    assert probes == [10.0 * k for k in range(1, 31)]
    assert answers == probes
    assert not any(isinstance(a, PeerDead) for _, a in w.log)


def test_killed_peer_is_dead_within_threshold_intervals_plus_one() -> None:
    w = Wired(DpdSettings(DpdMode.ALWAYS_SEND, 10, 5))
    w.run(100)
    w.net.tamper = lambda pkt: [] if pkt.src == "b" else [pkt]  # the peer is killed at 100+
    w.run(400)
    (dead,) = [a for _, a in w.log if isinstance(a, PeerDead)]
    (ref,) = [e.ike_sa for e in w.net.a.of(IkeEstablished)]
    assert dead == PeerDead(ref, DownReason.PEER_NOT_RESPONDING, 160.0, 100.0)
    # the engine's own retransmissions would only give up later (its own PeerDead)
    results = [(t, a.alive) for t, a in w.log if isinstance(a, LivenessResult)]
    assert results[-1][1] is False and results[-1][0] > 160.0
