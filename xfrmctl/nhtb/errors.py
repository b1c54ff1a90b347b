"""Typed errors of next-hop tunnel binding, so callers can tell bad input from bugs."""

from __future__ import annotations


class NhtbError(ValueError):
    """Bad NHTB input: a malformed entry, a conflicting binding, a bad route."""


class NhtbNotifyError(NhtbError):
    """A peer's tunnel-address notify that cannot be decoded (hostile or malformed data)."""
