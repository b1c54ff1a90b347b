"""The engine's DPD hooks, driven by `xfrmctl.dpd.LivenessManager` as the daemon wires them.

* `ProbePeer` -> `Ikev2Engine.liveness_check`, unless `last_authenticated_rx` shows the peer
  spoke within the interval: that message is the evidence (`ike_message_received`), no probe.
* DPD's `PeerDead` -> `Ikev2Engine.peer_dead`, with the same freshness check first.
* The engine's `LivenessResult(alive=True)` -> `probe_answered`.
"""

from __future__ import annotations

from typing import Any

import pytest

from xfrmctl.dpd import DownReason, DpdMode, DpdSettings, LivenessManager, ProbePeer
from xfrmctl.dpd import PeerDead as DpdPeerDead
from xfrmctl.keying.constants import ProtocolId
from xfrmctl.keying.ikev2.actions import (
    DeleteChild,
    IkeDeleted,
    IkeEstablished,
    IkeFailed,
    IkeRekeyed,
    InstallChild,
    LivenessResult,
    PeerDead,
    Reason,
    Send,
)
from xfrmctl.keying.ikev2.engine import EngineError

ESP = int(ProtocolId.ESP)


class Wired:
    """Engine a with a LivenessManager; `script` holds times at which b checks a's liveness."""

    def __init__(self, h: Any, settings: DpdSettings, *, pull: bool = True) -> None:
        self.net = h.pair()
        self.mgr = LivenessManager()
        self.settings = settings
        self.pull = pull
        self.seen = 0
        self.log: list[tuple[float, object]] = []
        self.script: list[float] = []
        self.net.feed(self.net.a, self.net.a.engine.initiate("to-b", "net", 0.0))
        self.net.run()
        self._events()
        (self.ref,) = [e.ike_sa for e in self.net.a.of(IkeEstablished)]

    def _events(self) -> None:
        for act in self.net.a.events[self.seen :]:
            now = self.net.now
            if isinstance(act, IkeEstablished):
                self.mgr.add_peer(act.ike_sa, self.settings, now)
            elif isinstance(act, IkeRekeyed):
                self.mgr.rekey_peer(act.old, act.new, now)
            elif isinstance(act, IkeDeleted | IkeFailed):
                self.mgr.remove_peer(act.ike_sa)
            elif isinstance(act, InstallChild):
                self.mgr.sa_installed((act.local, act.spi_in, 50), "in", now, ike=act.ike_sa)
                self.mgr.sa_installed((act.remote, act.spi_out, 50), "out", now, ike=act.ike_sa)
            elif isinstance(act, LivenessResult):
                self.log.append((now, act))
                if act.alive:
                    self.mgr.probe_answered(act.ike_sa, act.at)
        self.seen = len(self.net.a.events)

    def _fresh(self, ike: Any, now: float) -> float | None:
        """The peer's latest authenticated message, if DPD has not seen it and it is fresh."""
        if not self.pull:
            return None
        at: float | None = self.net.a.engine.last_authenticated_rx(ike)
        if at is not None and at > now - self.settings.interval:
            return at
        return None

    def run(self, until: float) -> None:
        net = self.net
        while True:
            deadlines = [
                d
                for d in (
                    net.a.engine.next_deadline(),
                    net.b.engine.next_deadline(),
                    self.mgr.next_deadline(),
                    min(self.script, default=None),
                )
                if d is not None
            ]
            if not deadlines or min(deadlines) > until:
                net.now = until
                return
            net.now = max(net.now, min(deadlines))
            for side in (net.a, net.b):
                net.feed(side, side.engine.on_timer(net.now))
            while self.script and self.script[0] <= net.now:
                self.script.pop(0)
                refs = [s.ref for s in net.b.engine.sessions.values() if s.established]
                for ref in refs:
                    net.feed(net.b, net.b.engine.liveness_check(ref, net.now))
            net.run()
            self._events()
            for act in self.mgr.on_timer(net.now, {}):
                self._dpd(act)

    def _dpd(self, act: object) -> None:
        net = self.net
        now = net.now
        if isinstance(act, ProbePeer):
            at = self._fresh(act.ike, now)
            if at is not None:
                self.log.append((now, ("evidence", at)))
                self.mgr.ike_message_received(act.ike, at)
                return
            self.log.append((now, act))
            net.feed(net.a, net.a.engine.liveness_check(act.ike, now))
        elif isinstance(act, DpdPeerDead):
            at = self._fresh(act.ike, now)
            if at is not None:
                self.mgr.reconfigure_peer(act.ike, self.settings, now)
                self.mgr.ike_message_received(act.ike, at)
                return
            self.log.append((now, act))
            out = net.a.engine.peer_dead(act.ike, now)
            self.log.append((now, ("engine", out)))
            net.feed(net.a, out)
        net.run()
        self._events()

    def probes(self) -> list[float]:
        return [t for t, a in self.log if isinstance(a, ProbePeer)]


def test_dead_peer_is_dropped_at_once_without_a_delete_exchange(h):
    w = Wired(h, DpdSettings(DpdMode.ALWAYS_SEND, 10, 5))
    (install,) = w.net.a.of(InstallChild)
    w.run(100)
    w.net.tamper = lambda pkt: [] if pkt.src == "b" else [pkt]  # the peer is killed at 100+
    w.run(160)
    assert w.probes() == [10.0 * k for k in range(1, 16)]
    (dead,) = [a for _, a in w.log if isinstance(a, DpdPeerDead)]
    assert dead == DpdPeerDead(w.ref, DownReason.PEER_NOT_RESPONDING, 160.0, 100.0)
    ((at, (_, out)),) = [(t, a) for t, a in w.log if isinstance(a, tuple) and a[0] == "engine"]
    assert at == 160.0
    assert out == [
        PeerDead(w.ref, "to-b", Reason.PEER_NOT_RESPONDING),
        DeleteChild(
            w.ref,
            "net",
            install.unique_id,
            ESP,
            install.spi_in,
            install.spi_out,
            h.A_ADDR,
            h.B_ADDR,
            Reason.PEER_NOT_RESPONDING,
        ),
        IkeDeleted(w.ref, "to-b", Reason.PEER_NOT_RESPONDING),
    ]
    assert str(Reason.PEER_NOT_RESPONDING) == str(DownReason.PEER_NOT_RESPONDING)
    assert str(Reason.PEER_NOT_RESPONDING) == "Peer is not responding"
    # nothing is left behind: no retransmission of the outstanding check, no delete, no timer
    assert w.net.a.engine.sessions == {} and w.net.a.engine.next_deadline() is None
    assert w.net.a.engine.counters["IKE SA declared dead by DPD"] == 1
    sent = len([p for p in w.net.sent if p.src == "a"])
    w.run(400)
    assert len([p for p in w.net.sent if p.src == "a"]) == sent
    assert not any(isinstance(a, LivenessResult) and not a.alive for _, a in w.log)
    assert w.net.a.installed() == {}
    assert w.mgr.dpd_probes(w.ref) is None


def test_peer_messages_are_evidence_no_probe_needed(h):
    """b checks a every 10 s (its own DPD): a never probes while those arrive."""
    w = Wired(h, DpdSettings(DpdMode.PROBE_IDLE_TUNNEL, 10, 5))
    w.script = [5.0 + 10 * k for k in range(10)]  # 5, 15, ... 95
    w.run(100)
    assert w.probes() == []
    evidence = [(t, a) for t, a in w.log if isinstance(a, tuple) and a[0] == "evidence"]
    # the first decision (10) learns of the message at 5 and moves the next one to 15; from
    # then on each decision falls on one of b's messages
    assert evidence == [(10.0, ("evidence", 5.0))] + [
        (5.0 + 10 * k, ("evidence", 5.0 + 10 * k)) for k in range(1, 10)
    ]
    assert w.net.a.engine.last_authenticated_rx(w.ref) == 95.0
    w.net.tamper = lambda pkt: [] if pkt.src == "b" else [pkt]
    w.script = [105.0, 115.0]  # b still tries, but nothing reaches a
    w.run(200)
    assert w.probes() == [105.0, 115.0, 125.0, 135.0, 145.0]
    (dead,) = [a for _, a in w.log if isinstance(a, DpdPeerDead)]
    # dead interval x (threshold + 1) after the last message, as the modes define
    assert dead == DpdPeerDead(w.ref, DownReason.PEER_NOT_RESPONDING, 155.0, 95.0)
    assert w.net.a.of(PeerDead) == [PeerDead(w.ref, "to-b")]
    assert w.net.a.engine.sessions == {}


def test_without_the_query_the_same_peer_is_probed(h):
    w = Wired(h, DpdSettings(DpdMode.PROBE_IDLE_TUNNEL, 10, 5), pull=False)
    w.script = [5.0 + 10 * k for k in range(10)]
    w.run(100)
    assert w.probes() == [10.0 * k for k in range(1, 11)]


def test_healthy_peer_is_never_dead(h):
    w = Wired(h, DpdSettings(DpdMode.ALWAYS_SEND, 10, 3))
    w.run(300)
    answers = [t for t, a in w.log if isinstance(a, LivenessResult) and a.alive]
    assert w.probes() == answers == [10.0 * k for k in range(1, 31)]
    assert not any(isinstance(a, DpdPeerDead) for _, a in w.log)
    assert w.net.a.engine.last_authenticated_rx(w.ref) == 300.0


# ---------------------------------------------------------------------- the query itself


def established(h: Any) -> Any:
    net = h.pair()
    net.feed(net.a, net.a.engine.initiate("to-b", "net", net.now))
    net.run()
    return net


def test_last_authenticated_rx_counts_only_integrity_checked_new_messages(h):
    net = established(h)
    (ref,) = [e.ike_sa for e in net.a.of(IkeEstablished)]
    assert net.a.engine.last_authenticated_rx(ref) == 0.0  # the IKE_AUTH response
    assert net.b.engine.last_authenticated_rx(ref) == 0.0  # the IKE_AUTH request
    net.now = 7.0
    net.feed(net.b, net.b.engine.liveness_check(ref, net.now))
    (request,) = net.queue
    net.run()
    assert net.a.engine.last_authenticated_rx(ref) == 7.0
    assert net.b.engine.last_authenticated_rx(ref) == 7.0
    # a replayed (retransmitted) request is answered from the cache but proves nothing
    net.now = 9.0
    net.queue.append(request)
    net.run()
    assert net.a.engine.counters["retransmitted request answered from cache"] == 1
    assert net.a.engine.last_authenticated_rx(ref) == 7.0
    # a forged one fails the integrity check
    net.now = 11.0
    net.feed(net.b, net.b.engine.liveness_check(ref, net.now))
    (pkt,) = net.queue
    pkt.data = pkt.data[:-1] + bytes([pkt.data[-1] ^ 1])
    net.step()
    assert net.a.engine.counters["integrity check failed"] == 1
    assert net.a.engine.last_authenticated_rx(ref) == 7.0
    # unknown and deleted SAs
    other = type(ref)(ref.spi_i ^ 1, ref.spi_r)
    assert net.a.engine.last_authenticated_rx(other) is None
    net.now = 12.0
    net.feed(net.a, net.a.engine.delete_ike(ref, net.now))
    net.run()
    assert net.a.engine.last_authenticated_rx(ref) is None


def test_last_authenticated_rx_ignores_ike_sa_init(h):
    net = h.pair()
    net.feed(net.a, net.a.engine.initiate("to-b", "net", net.now))
    net.step()  # IKE_SA_INIT request reaches b
    (sb,) = net.b.engine.sessions.values()
    assert net.b.engine.last_authenticated_rx(sb.ref) is None


def test_peer_dead_on_unknown_sa_is_an_engine_error(h):
    net = established(h)
    (ref,) = [e.ike_sa for e in net.a.of(IkeEstablished)]
    with pytest.raises(EngineError):
        net.a.engine.peer_dead(type(ref)(ref.spi_i ^ 1, ref.spi_r), net.now)


def test_peer_dead_while_our_delete_is_outstanding(h):
    net = established(h)
    (ref,) = [e.ike_sa for e in net.a.of(IkeEstablished)]
    net.tamper = lambda pkt: []
    net.feed(net.a, net.a.engine.delete_ike(ref, 1.0))
    out = net.a.engine.peer_dead(ref, 2.0)
    assert not any(isinstance(a, Send) for a in out)
    assert [type(a) for a in out] == [PeerDead, DeleteChild, IkeDeleted]
    assert out[-1] == IkeDeleted(ref, "to-b", Reason.PEER_NOT_RESPONDING)
    assert net.a.engine.sessions == {}


def test_peer_dead_before_establishment_fails_the_sa(h):
    net = h.pair()
    net.tamper = lambda pkt: []
    net.feed(net.a, net.a.engine.initiate("to-b", "net", 0.0))
    (s,) = net.a.engine.sessions.values()
    out = net.a.engine.peer_dead(s.ref, 1.0)
    assert out == [IkeFailed(s.ref, "to-b", Reason.PEER_NOT_RESPONDING)]


def test_peer_dead_after_an_ike_rekey_takes_the_moved_children(h):
    net = established(h)
    (ref,) = [e.ike_sa for e in net.a.of(IkeEstablished)]
    net.feed(net.a, net.a.engine.rekey_ike(ref, 5.0))
    net.run()
    (rekeyed,) = net.a.of(IkeRekeyed)
    (install,) = net.a.installed().values()
    out = net.a.engine.peer_dead(rekeyed.new, 6.0)
    assert out == [
        PeerDead(rekeyed.new, "to-b"),
        DeleteChild(
            rekeyed.new,
            "net",
            install.unique_id,
            ESP,
            install.spi_in,
            install.spi_out,
            h.A_ADDR,
            h.B_ADDR,
            Reason.PEER_NOT_RESPONDING,
        ),
        IkeDeleted(rekeyed.new, "to-b", Reason.PEER_NOT_RESPONDING),
    ]
    assert net.a.engine.sessions == {}
