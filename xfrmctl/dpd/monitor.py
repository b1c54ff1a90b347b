"""VPN monitoring for one VPN: ICMP echo cycles, `optimized` suppression, the U/D state.

Every `interval` a cycle first judges the previous one: inbound ESP traffic (with `optimized`)
or the matching reply counts as success; an echo still unanswered counts one failure. `threshold`
consecutive failures take the VPN down. The cycle then sends a new echo unless `optimized` traffic
made it unnecessary. A matching reply is judged at once, so a down VPN is up again as soon as one
reply arrives. Replies for an older sequence (late), repeated ones and replies with another
identifier (foreign) change nothing and are counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from xfrmctl.dpd.actions import Action, DownReason, MonitorDown, MonitorUp, MonState, SendEcho
from xfrmctl.dpd.settings import MonitorSettings, MonitorTarget


@dataclass
class MonitorState:
    vpn: str
    target: MonitorTarget
    ident: int
    state: MonState = MonState.UP
    seq: int = 0  # sequence of the latest echo sent
    awaiting: int | None = None  # sequence still waiting for its reply
    failures: int = 0  # consecutive failed cycles
    seen_stamp: int = 0  # ledger stamp of the inbound traffic the previous cycle saw
    sent: int = 0
    answered: int = 0
    late: int = 0
    foreign: int = 0
    suppressed: int = 0  # cycles that `optimized` traffic made unnecessary
    changed_at: float | None = None  # when the U/D state last changed

    def cycle(self, now: float, settings: MonitorSettings, inbound_stamp: int) -> list[Action]:
        """One probe cycle; `inbound_stamp` is the ledger stamp of the VPN's latest inbound
        traffic (0 without `optimized`)."""
        out: list[Action] = []
        evidence = self.target.optimized and inbound_stamp > self.seen_stamp
        self.seen_stamp = max(self.seen_stamp, inbound_stamp)
        if evidence:
            self.awaiting = None
            self.suppressed += 1
            out += self._success(now)
        elif self.awaiting is not None:
            self.awaiting = None
            self.failures += 1
            if self.failures >= settings.threshold and self.state is MonState.UP:
                self.state = MonState.DOWN
                self.changed_at = now
                out.append(MonitorDown(self.vpn, DownReason.VPN_MONITOR, now))
        if not evidence:
            self.seq = (self.seq + 1) & 0xFFFF
            self.awaiting = self.seq
            self.sent += 1
            t = self.target
            out.append(SendEcho(self.vpn, t.src, t.dst, self.ident, self.seq, t.device))
        return out

    def reply(self, seq: int, now: float) -> list[Action]:
        if self.awaiting is None or seq != self.awaiting:
            self.late += 1
            return []
        self.awaiting = None
        self.answered += 1
        return self._success(now)

    def _success(self, now: float) -> list[Action]:
        self.failures = 0
        if self.state is MonState.DOWN:
            self.state = MonState.UP
            self.changed_at = now
            return [MonitorUp(self.vpn, now)]
        return []
