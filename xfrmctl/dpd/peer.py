"""DPD decisions for one IKE SA (RFC 3706 timing, Junos modes).

A decision runs every `interval` while the peer is silent, or `interval` after the last evidence
that it is alive (any IKE message from it, an answered probe, inbound ESP bytes). "Fresh" evidence
means evidence within the last `interval`. Per mode, with no probe outstanding:

* `optimized`: probe if the evidence is stale and outbound traffic was seen in the last interval;
* `probe-idle-tunnel`: probe if the evidence is stale, whatever the outbound traffic;
* `always-send`: probe at every decision, evidence or not.

Once a probe is outstanding the peer is probed again every interval until fresh evidence arrives
(which resets the count); a decision that finds `threshold` probes unanswered declares it dead.
In the traffic-based modes the first probe goes out one interval after the last evidence, so a
peer silent since `t` is dead at exactly `t + (threshold + 1) * interval`. In `always-send` probes
keep their own cadence: dead `threshold * interval` after the first unanswered probe, between
`threshold * interval` and `(threshold + 1) * interval` after the last evidence.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from xfrmctl.dpd.actions import Action, DownReason, PeerDead, ProbePeer
from xfrmctl.dpd.settings import DpdMode, DpdSettings


@dataclass
class PeerState:
    ike: Hashable
    settings: DpdSettings
    alive_at: float  # latest evidence of the peer being alive
    probes: int = 0  # unanswered probes of the current round
    outbound_at: float = float("-inf")  # latest observed outbound traffic
    dead: bool = False

    def evidence(self, at: float) -> None:
        """The peer proved alive at `at`: the count of unanswered probes starts over."""
        self.alive_at = max(self.alive_at, at)
        self.probes = 0

    def decide(self, now: float) -> tuple[list[Action], float | None]:
        """Actions due at `now` and the time of the next decision (None once dead)."""
        interval = self.settings.interval
        # compared as the deadline was computed (alive_at + interval): at that deadline the
        # evidence is stale even where `now - interval` would round just below `alive_at`
        fresh = self.alive_at + interval > now
        if self.probes and fresh:
            self.probes = 0
        if self.probes:
            if self.probes >= self.settings.threshold:
                self.dead = True
                return [
                    PeerDead(self.ike, DownReason.PEER_NOT_RESPONDING, now, self.alive_at)
                ], None
            return [self._probe(now)], now + interval
        mode = self.settings.mode
        if mode is not DpdMode.ALWAYS_SEND:
            if fresh:
                return [], self.alive_at + interval
            if mode is DpdMode.OPTIMIZED and not self.outbound_at + interval > now:
                return [], now + interval  # idle tunnel: nothing to verify
        return [self._probe(now)], now + interval

    def _probe(self, now: float) -> ProbePeer:
        self.probes += 1
        return ProbePeer(self.ike, self.probes, now)
