"""What the IKEv1 and IKEv2 engines share when they route a datagram or a command to a peer:
address matching, the default wall clock, and the error for a command naming nothing known."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable
from datetime import UTC, datetime


class EngineError(ValueError):
    """A command that names something the engine does not know."""


@functools.lru_cache(maxsize=4096)
def same_address(a: str, b: str) -> bool:
    """Equal IP addresses whatever their spelling (names compare as text). Cached: every
    IKE_SA_INIT compares the same few configured and local addresses."""
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


@functools.lru_cache(maxsize=4096)
def local_matches(configured: str, actual: str) -> bool:
    """A configured local address (empty, %any or unspecified: any) against the one a datagram
    arrived on."""
    if configured in ("", "%any"):
        return True
    try:
        if ipaddress.ip_address(configured).is_unspecified:
            return True
    except ValueError:
        return False
    return same_address(configured, actual)


def posix_utc(now: float) -> datetime:
    """Engine time taken as POSIX seconds, as UTC (certificate validity)."""
    return datetime.fromtimestamp(now, UTC)


def check_unique_names(names: Iterable[str]) -> None:
    seen = list(names)
    if len(seen) != len(set(seen)):
        raise EngineError("duplicate peer names")
