"""Two IKE engines (either version) wired together in memory with a fake clock (aioquic/h11
style), shared by the IKEv1 and IKEv2 test harnesses and the fuzzers.

`Net` carries datagrams between engine "a" and engine "b"; a `tamper` hook can drop, duplicate,
reorder or rewrite them, and an optional NAT in front of "a" rewrites its address and port.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from xfrmctl.keying.ikev2.actions import Action, DeleteChild, Endpoint, InstallChild, Send

NAT_PUBLIC = "203.0.113.9"


class Engine(Protocol):
    def receive(
        self, datagram: bytes, local: Endpoint, remote: Endpoint, now: float
    ) -> list[Action]: ...
    def on_timer(self, now: float) -> list[Action]: ...
    def next_deadline(self) -> float | None: ...


class Rng:
    """Deterministic randomness: SHA-256 counter stream from a seed."""

    def __init__(self, seed: str) -> None:
        self.seed = seed.encode()
        self.counter = 0

    def __call__(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            self.counter += 1
            out += hashlib.sha256(self.seed + self.counter.to_bytes(8, "big")).digest()
        return out[:n]


@dataclass
class Packet:
    src: str  # "a" or "b"
    data: bytes
    source: tuple[str, int]
    dest: tuple[str, int]


@dataclass
class Side:
    name: str
    engine: Any  # Ikev1Engine or Ikev2Engine
    events: list[Action] = field(default_factory=list)

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def installed(self) -> dict[int, InstallChild]:
        """Child SAs currently installed (InstallChild minus DeleteChild), by unique id."""
        live: dict[int, InstallChild] = {}
        for e in self.events:
            if isinstance(e, InstallChild):
                live[e.unique_id] = e
            elif isinstance(e, DeleteChild):
                live.pop(e.unique_id, None)
        return live


class Net:
    def __init__(self, a: Engine, b: Engine, *, nat_a: bool = False, now: float = 0.0) -> None:
        self.a = Side("a", a)
        self.b = Side("b", b)
        self.now = now
        self.queue: list[Packet] = []
        self.sent: list[Packet] = []
        self.tamper: Callable[[Packet], list[Packet]] | None = None
        self.nat_a = nat_a
        self._nat_map: dict[tuple[str, int], tuple[str, int]] = {}

    def side(self, name: str) -> Side:
        return self.a if name == "a" else self.b

    def feed(self, side: Side, actions: list[Action]) -> None:
        for act in actions:
            if isinstance(act, Send):
                src, dst = act.local, act.remote
                if side.name == "a" and self.nat_a:
                    if src not in self._nat_map:
                        self._nat_map[src] = (NAT_PUBLIC, 40000 + len(self._nat_map))
                    src = self._nat_map[src]
                pkt = Packet(side.name, act.data, src, dst)
                self.sent.append(pkt)
                self.queue.extend(self.tamper(pkt) if self.tamper else [pkt])
            else:
                side.events.append(act)

    def _deliver_one(self, pkt: Packet) -> None:
        target = self.b if pkt.src == "a" else self.a
        dest = pkt.dest
        if target.name == "a" and self.nat_a:
            back = {v: k for k, v in self._nat_map.items()}
            if dest not in back:
                return  # no NAT mapping: dropped by the NAT
            dest = back[dest]
        self.feed(target, target.engine.receive(pkt.data, dest, pkt.source, self.now))

    def run(self, max_rounds: int = 100) -> None:
        """Deliver until nothing is in flight."""
        rounds = 0
        while self.queue:
            rounds += 1
            assert rounds < max_rounds, "negotiation does not settle"
            self.step()

    def step(self) -> int:
        """Deliver only what is in flight now (one round); returns how many."""
        batch, self.queue = self.queue, []
        for pkt in batch:
            self._deliver_one(pkt)
        return len(batch)

    def advance(self, until: float) -> None:
        """Move the clock, firing timers of both engines in order and delivering traffic."""
        while True:
            deadlines = [
                d for d in (self.a.engine.next_deadline(), self.b.engine.next_deadline()) if d
            ]
            nxt = min(deadlines) if deadlines else None
            if nxt is None or nxt > until:
                break
            self.now = max(self.now, nxt)
            for side in (self.a, self.b):
                self.feed(side, side.engine.on_timer(self.now))
            self.run()
        self.now = until


def mirrored(x: InstallChild, y: InstallChild) -> bool:
    """Two ends of one child SA: each one's outbound is the other's inbound."""
    return (
        x.spi_in == y.spi_out
        and x.spi_out == y.spi_in
        and x.encr_key_in == y.encr_key_out
        and x.encr_key_out == y.encr_key_in
        and x.integ_key_in == y.integ_key_out
        and x.integ_key_out == y.integ_key_in
        and x.encr == y.encr
        and x.integ == y.integ
        and x.local_ts == y.remote_ts
        and x.remote_ts == y.local_ts
    )
