"""What the IKEv1 and IKEv2 engines share when they route a datagram or a command to a peer:
address matching, the default wall clock, and the error for a command naming nothing known."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar


class EngineError(ValueError):
    """A command that names something the engine does not know."""


@functools.lru_cache(maxsize=16384)
def canonical(address: str) -> str:
    """One spelling per IP address (names stay as they are): the key peers are found by.
    Cached per address, so a hub with thousands of gateways parses each one once."""
    try:
        return ipaddress.ip_address(address).compressed
    except ValueError:
        return address


def same_address(a: str, b: str) -> bool:
    """Equal IP addresses whatever their spelling (names compare as text)."""
    return canonical(a) == canonical(b)


@functools.lru_cache(maxsize=1024)
def _any_local(configured: str) -> bool:
    if configured in ("", "%any"):
        return True
    try:
        return ipaddress.ip_address(configured).is_unspecified
    except ValueError:
        return False


def local_matches(configured: str, actual: str) -> bool:
    """A configured local address (empty, %any or unspecified: any) against the one a datagram
    arrived on."""
    return _any_local(configured) or same_address(configured, actual)


class Addressed(Protocol):
    @property
    def remote_address(self) -> str | None: ...

    @property
    def local_address(self) -> str: ...


P = TypeVar("P", bound=Addressed)
_ANY = "*"  # the local-address key of gateways that accept any local address


class PeerTable(MutableMapping[str, P]):
    """An engine's gateways by name, also found by (remote address, local address) — dynamic
    ones (no remote address) by local address — so a datagram finds its candidate gateways,
    in configured order, without a walk over every gateway (a hub has thousands). The address
    index is rebuilt on the first lookup after a change."""

    def __init__(self, peers: Mapping[str, P] | None = None) -> None:
        self._peers: dict[str, P] = dict(peers or {})
        self._index: _Index[P] | None = None

    def __getitem__(self, name: str) -> P:
        return self._peers[name]

    def __setitem__(self, name: str, peer: P) -> None:
        self._peers[name] = peer
        self._index = None

    def __delitem__(self, name: str) -> None:
        del self._peers[name]
        self._index = None

    def __iter__(self) -> Iterator[str]:
        return iter(self._peers)

    def __len__(self) -> int:
        return len(self._peers)

    def _built(self) -> _Index[P]:
        if self._index is None:
            self._index = _Index(self._peers.values())
        return self._index

    def candidates(self, remote: str, local: str) -> list[P]:
        """The gateways configured for `remote`, then the dynamic ones, that accept `local`."""
        index = self._built()
        r, loc = canonical(remote), canonical(local)
        exact = index.exact.get((r, loc), []) + index.exact.get((r, _ANY), [])
        dynamic = index.dynamic.get(loc, []) + index.dynamic.get(_ANY, [])
        return [p for _, p in sorted(exact)] + [p for _, p in sorted(dynamic)]

    def configured(self, remote: str) -> bool:
        """A gateway names `remote` as its address."""
        return canonical(remote) in self._built().remotes

    def admits(self, remote: str) -> bool:
        """A gateway could be `remote`'s: one names it, or one is dynamic."""
        return bool(self._built().dynamic) or self.configured(remote)


class _Index(Generic[P]):
    def __init__(self, peers: Iterable[P]) -> None:
        self.exact: dict[tuple[str, str], list[tuple[int, P]]] = {}
        self.remotes: set[str] = set()
        self.dynamic: dict[str, list[tuple[int, P]]] = {}
        for position, p in enumerate(peers):
            local = _ANY if _any_local(p.local_address) else canonical(p.local_address)
            if p.remote_address is None:
                self.dynamic.setdefault(local, []).append((position, p))
            else:
                remote = canonical(p.remote_address)
                self.remotes.add(remote)
                self.exact.setdefault((remote, local), []).append((position, p))


def posix_utc(now: float) -> datetime:
    """Engine time taken as POSIX seconds, as UTC (certificate validity)."""
    return datetime.fromtimestamp(now, UTC)


def check_unique_names(names: Iterable[str]) -> None:
    seen = list(names)
    if len(seen) != len(set(seen)):
        raise EngineError("duplicate peer names")
