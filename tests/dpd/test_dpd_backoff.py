"""Reconnect backoff: exponential, jittered from the injected source, capped, reset."""

from __future__ import annotations

import random

import pytest

from xfrmctl.dpd import Backoff, DpdError


def test_without_jitter_doubles_up_to_the_cap() -> None:
    b = Backoff(lambda: 0.5, initial=1, factor=2, cap=10, jitter=0)
    assert [b.next_delay() for _ in range(6)] == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    assert b.attempts == 6


def test_jitter_scales_into_the_lower_band() -> None:
    draws = iter([0.0, 0.5, 0.999])
    b = Backoff(lambda: next(draws), initial=4, factor=2, cap=300, jitter=0.5)
    assert b.next_delay() == 2.0  # 4 * (1 - 0.5)
    assert b.next_delay() == 6.0  # 8 * (1 - 0.25)
    assert b.next_delay() == pytest.approx(16 * (1 - 0.5 * 0.001))


def test_reset_starts_over_and_retry_at_adds_now() -> None:
    b = Backoff(lambda: 0.0, initial=1, cap=60, jitter=0)
    b.next_delay()
    b.next_delay()
    b.reset()
    assert b.retry_at(100.0) == 101.0


def test_seeded_source_stays_within_bounds_and_never_overflows() -> None:
    rng = random.Random(7)
    b = Backoff(rng.random, initial=1, factor=3, cap=120, jitter=0.3)
    delays = [b.next_delay() for _ in range(200)]
    assert all(0.7 <= d <= 120 for d in delays)
    assert all(120 * 0.7 <= d <= 120 for d in delays[10:])


def test_bad_settings_and_bad_source() -> None:
    with pytest.raises(DpdError):
        Backoff(lambda: 0.0, initial=0)
    with pytest.raises(DpdError):
        Backoff(lambda: 0.0, initial=10, cap=5)
    with pytest.raises(DpdError):
        Backoff(lambda: 0.0, factor=0.5)
    with pytest.raises(DpdError):
        Backoff(lambda: 0.0, jitter=1.5)
    with pytest.raises(DpdError, match="outside"):
        Backoff(lambda: 1.0).next_delay()


def test_repr_hides_nothing_secret_but_the_source() -> None:
    assert "random=" not in repr(Backoff(lambda: 0.0))
