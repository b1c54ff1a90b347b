"""The one error type of the liveness package: bad settings or a misuse by the caller."""

from __future__ import annotations


class DpdError(ValueError):
    """Invalid DPD / VPN-monitor / idle / backoff settings, or an inconsistent registration."""
