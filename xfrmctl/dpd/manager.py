"""The daemon's single entry point for liveness: DPD, VPN monitoring and idle-time, one heap.

The daemon reports events (SAs installed and removed, IKE messages, probe answers, echo replies)
as they happen, which only updates state. Work happens in `on_timer(now, dump)`, called when
`next_deadline()` is due, with one batched counter dump of all SAs; only the SAs of the due timers
are looked up in it. Timer keys: `("dpd", ike)`, `("mon", vpn)`, `("idle", child)`.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from xfrmctl.dpd.actions import Action, IdleTimeout, MonState
from xfrmctl.dpd.errors import DpdError
from xfrmctl.dpd.evidence import CounterDump, Counts, Direction, TrafficLedger
from xfrmctl.dpd.monitor import MonitorState
from xfrmctl.dpd.peer import PeerState
from xfrmctl.dpd.scheduler import Scheduler
from xfrmctl.dpd.settings import DpdMode, DpdSettings, MonitorSettings, MonitorTarget

IDLE_CHECKS = 6
"""Counter looks per `idle-time` period: an idle SA goes at most idle-time/6 late."""

_DPD = "dpd"
_MON = "mon"
_IDLE = "idle"


@dataclass
class IdleState:
    child: Hashable
    idle_time: float
    active_at: float  # install time, then the latest observed traffic


@dataclass(frozen=True)
class MonitorStats:
    """Counters of one monitored VPN, for `show` and metrics."""

    state: MonState
    ident: int
    seq: int
    failures: int
    sent: int
    answered: int
    late: int
    foreign: int
    suppressed: int


class LivenessManager:
    """All liveness timers of one daemon."""

    def __init__(self, monitor_settings: MonitorSettings | None = None) -> None:
        self.monitor_settings = monitor_settings or MonitorSettings()
        self.ledger = TrafficLedger()
        self.timers: Scheduler[tuple[str, Hashable]] = Scheduler()
        self.peers: dict[Hashable, PeerState] = {}
        self.monitors: dict[str, MonitorState] = {}
        self._by_ident: dict[int, str] = {}
        self._next_ident = 1
        self.idle: dict[Hashable, IdleState] = {}
        self.foreign_replies = 0  # echo replies matching no monitored VPN

    # ------------------------------------------------------------------ IKE SAs (DPD)

    def add_peer(self, ike: Hashable, settings: DpdSettings, now: float) -> None:
        """An IKE SA with DPD configured is established (its establishment proves liveness)."""
        self.peers[ike] = PeerState(ike, settings, alive_at=now)
        self.timers.set((_DPD, ike), now + settings.interval)

    def reconfigure_peer(self, ike: Hashable, settings: DpdSettings, now: float) -> None:
        """A reload changed the gateway's DPD settings: keep the evidence, restart the round."""
        state = self.peers.get(ike)
        if state is None:
            self.add_peer(ike, settings, now)
            return
        state.settings = settings
        state.probes = 0
        self.timers.set((_DPD, ike), max(now, state.alive_at) + settings.interval)

    def remove_peer(self, ike: Hashable) -> None:
        """The IKE SA is gone (deleted, failed, dead); its SAs stay registered until removed."""
        self.ledger.forget("ike", ike)
        if self.peers.pop(ike, None) is not None:
            self.timers.cancel((_DPD, ike))

    def rekey_peer(self, old: Hashable, new: Hashable, now: float) -> None:
        """IKE SA rekey: the new SA inherits the children and proves the peer alive."""
        self.ledger.move_ike(old, new)
        state = self.peers.pop(old, None)
        if state is None:
            return
        self.timers.cancel((_DPD, old))
        state.ike = new
        state.evidence(now)
        self.peers[new] = state
        self.timers.set((_DPD, new), now + state.settings.interval)

    def ike_message_received(self, ike: Hashable, now: float) -> None:
        """Any authenticated IKE message from the peer (request or response) proves liveness.
        In the traffic-based modes the next decision is one interval after it (the daemon may
        report a message only when a decision asks, later than it came); `always-send` keeps
        its own cadence."""
        state = self.peers.get(ike)
        if state is not None and not state.dead:
            state.evidence(now)
            if state.settings.mode is not DpdMode.ALWAYS_SEND:
                self.timers.set((_DPD, ike), state.alive_at + state.settings.interval)

    def probe_answered(self, ike: Hashable, now: float) -> None:
        """The peer answered a probe (IKEv2 `LivenessResult(alive=True)`, IKEv1 R-U-THERE-ACK)."""
        self.ike_message_received(ike, now)

    def dpd_probes(self, ike: Hashable) -> int | None:
        """Unanswered probes of the current round (None: no DPD on this IKE SA)."""
        state = self.peers.get(ike)
        return None if state is None else state.probes

    # ------------------------------------------------------------------ SAs (traffic evidence)

    def sa_installed(
        self,
        key: Hashable,
        direction: Direction | str,
        now: float,
        *,
        ike: Hashable | None = None,
        vpn: str | None = None,
        child: Hashable | None = None,
        idle_time: float | None = None,
        baseline: Counts = (0, 0),
    ) -> None:
        """A kernel SA was installed; `key` is how the counter dump names it.

        `ike` feeds its traffic to that IKE SA's DPD, `vpn` (inbound SAs) to `optimized`
        monitoring, `child` groups both directions for `idle-time` (seconds, None = disabled)."""
        if idle_time is not None and child is None:
            raise DpdError(f"idle-time for SA {key!r} needs the child it belongs to")
        if idle_time is not None and not idle_time > 0:
            raise DpdError(f"idle-time must be positive, not {idle_time}")
        self.ledger.add(
            key, Direction(direction), now, ike=ike, vpn=vpn, child=child, baseline=baseline
        )
        if idle_time is not None and child is not None:
            state = self.idle.get(child)
            if state is None:
                self.idle[child] = IdleState(child, float(idle_time), now)
                self.timers.set((_IDLE, child), now + idle_time / IDLE_CHECKS)
            else:
                state.idle_time = float(idle_time)

    def sa_removed(
        self, key: Hashable, now: float | None = None, final: Counts | None = None
    ) -> None:
        """A kernel SA is gone; `final` (bytes, packets) from the kernel's delete/expire message
        keeps a last unobserved burst as evidence for the SA's owners."""
        rec = self.ledger.remove(key, now, final)
        if rec is None or rec.child is None or self.ledger.of_child(rec.child):
            return
        self.ledger.forget("child", rec.child)
        if self.idle.pop(rec.child, None) is not None:
            self.timers.cancel((_IDLE, rec.child))

    # ------------------------------------------------------------------ VPN monitoring

    def add_vpn(self, vpn: str, target: MonitorTarget, now: float) -> None:
        """Start monitoring `vpn` (state U, first echo now); again for a known VPN: new target."""
        state = self.monitors.get(vpn)
        if state is not None:
            state.target = target
            return
        ident = self._allocate_ident()
        self.monitors[vpn] = MonitorState(vpn, target, ident, changed_at=now)
        self._by_ident[ident] = vpn
        self.timers.set((_MON, vpn), now)

    def remove_vpn(self, vpn: str) -> None:
        self.ledger.forget("vpn", vpn)
        state = self.monitors.pop(vpn, None)
        if state is not None:
            del self._by_ident[state.ident]
            self.timers.cancel((_MON, vpn))

    def echo_reply(self, vpn: str | None, ident: int, seq: int, now: float) -> list[Action]:
        """An ICMP echo reply arrived; `vpn=None` looks it up by identifier."""
        name = self._by_ident.get(ident) if vpn is None else vpn
        state = self.monitors.get(name) if name is not None else None
        if state is None or state.ident != ident:
            self.foreign_replies += 1
            if state is not None:
                state.foreign += 1
            return []
        return state.reply(seq, now)

    def mon_state(self, vpn: str) -> MonState:
        """The `Mon` column of the VPN's SAs."""
        state = self.monitors.get(vpn)
        return MonState.OFF if state is None else state.state

    def monitor_stats(self, vpn: str) -> MonitorStats | None:
        s = self.monitors.get(vpn)
        if s is None:
            return None
        return MonitorStats(
            s.state,
            s.ident,
            s.seq,
            s.failures,
            s.sent,
            s.answered,
            s.late,
            s.foreign,
            s.suppressed,
        )

    def _allocate_ident(self) -> int:
        if len(self._by_ident) >= 0xFFFF:
            raise DpdError("no free ICMP identifier: 65535 VPNs are monitored already")
        while self._next_ident in self._by_ident:
            self._next_ident = self._next_ident % 0xFFFF + 1
        ident = self._next_ident
        self._next_ident = ident % 0xFFFF + 1
        return ident

    # ------------------------------------------------------------------ timers

    def next_deadline(self) -> float | None:
        return self.timers.next_deadline()

    def on_timer(self, now: float, dump: CounterDump) -> list[Action]:
        """Run every timer due at `now`; `dump` is one fresh counter dump of all SAs."""
        out: list[Action] = []
        for kind, key in self.timers.pop_due(now):
            if kind == _DPD:
                out += self._dpd(key, now, dump)
            elif kind == _MON:
                assert isinstance(key, str)
                out += self._monitor(key, now, dump)
            else:
                out += self._idle(key, now, dump)
        return out

    def _dpd(self, ike: Hashable, now: float, dump: CounterDump) -> list[Action]:
        state = self.peers.get(ike)
        if state is None:
            return []
        self.ledger.observe(self.ledger.keys_of("ike", ike), dump, now)
        (inbound, _), (outbound, _) = self.ledger.latest_pair("ike", ike)
        if inbound > state.alive_at:
            state.evidence(inbound)
        state.outbound_at = max(state.outbound_at, outbound)
        actions, due = state.decide(now)
        if due is None:
            del self.peers[ike]
        else:
            self.timers.set((_DPD, ike), due)
        return actions

    def _monitor(self, vpn: str, now: float, dump: CounterDump) -> list[Action]:
        state = self.monitors.get(vpn)
        if state is None:
            return []
        inbound = 0
        if state.target.optimized:
            self.ledger.observe(self.ledger.keys_of("vpn", vpn), dump, now)
            inbound = self.ledger.latest_of("vpn", vpn, Direction.IN)[1]
        actions = state.cycle(now, self.monitor_settings, inbound)
        self.timers.set((_MON, vpn), now + self.monitor_settings.interval)
        return actions

    def _idle(self, child: Hashable, now: float, dump: CounterDump) -> list[Action]:
        state = self.idle.get(child)
        if state is None:
            return []
        self.ledger.observe(self.ledger.keys_of("child", child), dump, now)
        state.active_at = max(state.active_at, self.ledger.last_change_of("child", child))
        if state.active_at + state.idle_time <= now:  # as its deadline was computed
            del self.idle[child]
            return [IdleTimeout(child, state.active_at, now)]
        step = state.idle_time / IDLE_CHECKS
        self.timers.set((_IDLE, child), min(now + step, state.active_at + state.idle_time))
        return []
