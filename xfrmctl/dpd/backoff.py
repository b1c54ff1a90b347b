"""Reconnect backoff: how long to wait before renegotiating a tunnel that went down again.

Exponential growth with jitter from an injected random source (so peers that lost the same hub do
not return in lockstep), capped; a success resets it. Tests inject a seeded source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from xfrmctl.dpd.errors import DpdError


@dataclass
class Backoff:
    """Attempt n (from 0) waits `min(cap, initial * factor**n)` scaled into
    `[1 - jitter, 1]` of itself by `random()` (a float in [0, 1))."""

    random: Callable[[], float] = field(repr=False)
    initial: float = 1.0
    factor: float = 2.0
    cap: float = 300.0
    jitter: float = 0.5
    attempts: int = 0

    def __post_init__(self) -> None:
        if not self.initial > 0 or not self.cap >= self.initial:
            raise DpdError(f"backoff needs 0 < initial <= cap, got {self.initial}, {self.cap}")
        if self.factor < 1:
            raise DpdError(f"backoff factor must be at least 1, not {self.factor}")
        if not 0 <= self.jitter <= 1:
            raise DpdError(f"backoff jitter must be within [0, 1], not {self.jitter}")

    def ceiling(self) -> float:
        """The un-jittered delay of the next attempt."""
        if self.attempts >= 64:
            return self.cap
        return float(min(self.cap, self.initial * self.factor**self.attempts))

    def next_delay(self) -> float:
        """The delay before the next attempt; counts the attempt."""
        ceiling = self.ceiling()
        draw = self.random()
        if not 0 <= draw < 1:
            raise DpdError(f"random source returned {draw}, outside [0, 1)")
        self.attempts += 1
        return ceiling * (1 - self.jitter * (1 - draw))

    def retry_at(self, now: float) -> float:
        return now + self.next_delay()

    def reset(self) -> None:
        """The tunnel came up: the next failure starts from `initial` again."""
        self.attempts = 0
