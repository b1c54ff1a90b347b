"""Request retransmission with exponential backoff and give-up (RFC 7296 2.1).

Only the initiator of an exchange retransmits; a responder answers retransmitted requests from its
response cache (`msgid.py`). The schedule follows strongSwan's defaults so operators who know
`charon.retransmit_*` see the same timing: timeout_n = base * factor**n, `tries` retransmissions,
then one last timeout before the peer is declared unreachable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True)
class RetransmitPolicy:
    """Timing of retransmissions; the defaults are strongSwan's."""

    base: float = 4.0
    factor: float = 1.8
    tries: int = 5
    limit: float | None = None  # cap on one timeout, None for no cap

    def __post_init__(self) -> None:
        if self.base <= 0 or self.factor < 1.0 or self.tries < 0:
            raise ValueError("retransmit base must be > 0, factor >= 1, tries >= 0")

    def timeout(self, attempt: int) -> float:
        """How long to wait after the attempt-th transmission (0 = the first send)."""
        value: float = self.base * self.factor**attempt
        if self.limit is not None:
            value = min(value, self.limit)
        return value

    def give_up_after(self) -> float:
        """Total time from the first send until the peer is declared unreachable."""
        return sum(self.timeout(n) for n in range(self.tries + 1))


class TimerVerdict(Enum):
    NOTHING = "nothing"
    RESEND = "resend"
    GIVE_UP = "give-up"


@dataclass
class Retransmitter:
    """The one outstanding request of an IKE SA and when to send it again."""

    policy: RetransmitPolicy
    datagrams: tuple[bytes, ...] = field(default=(), repr=False)
    attempt: int = 0
    deadline: float | None = None

    @property
    def active(self) -> bool:
        return self.deadline is not None

    def start(self, datagrams: tuple[bytes, ...], now: float) -> None:
        self.datagrams = datagrams
        self.attempt = 0
        self.deadline = now + self.policy.timeout(0)

    def replace(self, datagrams: tuple[bytes, ...]) -> None:
        """Swap what is retransmitted (e.g. re-fragmented) without touching the schedule."""
        self.datagrams = datagrams

    def stop(self) -> None:
        self.datagrams = ()
        self.attempt = 0
        self.deadline = None

    def on_timer(self, now: float) -> TimerVerdict:
        if self.deadline is None or now < self.deadline:
            return TimerVerdict.NOTHING
        if self.attempt >= self.policy.tries:
            self.stop()
            return TimerVerdict.GIVE_UP
        self.attempt += 1
        self.deadline = now + self.policy.timeout(self.attempt)
        return TimerVerdict.RESEND
