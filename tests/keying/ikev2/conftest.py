"""Two IKEv2 engines wired together in memory with a fake clock (aioquic/h11 style).

`Net` carries datagrams between engine "a" and engine "b"; a `tamper` hook can drop, duplicate,
reorder or rewrite them, and an optional NAT in front of "a" rewrites its address and port.
"""

from __future__ import annotations

import hashlib
import ipaddress
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from xfrmctl.keying.constants import ProtocolId
from xfrmctl.keying.ikev2 import wire
from xfrmctl.keying.ikev2.actions import (
    Action,
    DeleteChild,
    InstallChild,
    Send,
)
from xfrmctl.keying.ikev2.engine import Ikev2Engine
from xfrmctl.keying.ikev2.identity import Identity
from xfrmctl.keying.ikev2.settings import (
    ChildConfig,
    EngineSettings,
    PeerConfig,
    PskAuth,
)
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.keying.transforms import by_name, parse_proposal

A_ADDR = "192.0.2.1"
B_ADDR = "198.51.100.2"
NAT_PUBLIC = "203.0.113.9"


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
    engine: Ikev2Engine
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
    def __init__(self, a: Ikev2Engine, b: Ikev2Engine, *, nat_a: bool = False) -> None:
        self.a = Side("a", a)
        self.b = Side("b", b)
        self.now = 0.0
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
                pkts = self.tamper(pkt) if self.tamper else [pkt]
                self.queue.extend(pkts)
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
            batch, self.queue = self.queue, []
            for pkt in batch:
                self._deliver_one(pkt)

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


def psk_peer(
    name: str,
    local: str,
    remote: str | None,
    *,
    psk: bytes = b"correct horse battery staple",
    ike: str = "aes256gcm16-prfsha256-x25519",
    esp: str = "aes256gcm16",
    local_ts: str = "10.1.0.0/16",
    remote_ts: str = "10.2.0.0/16",
    child_name: str = "net",
    pfs: str | None = None,
    tunnel: tuple[str, ...] = (),
    **kw,
) -> PeerConfig:
    child = ChildConfig(
        name=child_name,
        local_ts=(TrafficSelector.from_network(local_ts),),
        remote_ts=(TrafficSelector.from_network(remote_ts),),
        proposals=tuple(parse_proposal(p, ProtocolId.ESP) for p in esp.split(",")),
        pfs_group=by_name(pfs) if pfs else None,
        if_id=7,
        local_tunnel_addresses=tuple(ipaddress.ip_address(t) for t in tunnel),
    )
    children = kw.pop("children", (child,))
    return PeerConfig(
        name=name,
        local_address=local,
        remote_address=remote,
        auth=PskAuth(psk),
        proposals=tuple(parse_proposal(p) for p in ike.split(",")),
        children=children,
        **kw,
    )


def pair(
    *,
    a_kw: dict[str, Any] | None = None,
    b_kw: dict[str, Any] | None = None,
    settings_b: EngineSettings | None = None,
    nat_a: bool = False,
    seed: str = "",
) -> Net:
    """Engine a (192.0.2.1, nets 10.1/16) and engine b (198.51.100.2, nets 10.2/16)."""
    a_kw = dict(a_kw or {})
    b_kw = dict(b_kw or {})
    b_kw.setdefault("local_ts", "10.2.0.0/16")
    b_kw.setdefault("remote_ts", "10.1.0.0/16")
    pa = psk_peer("to-b", A_ADDR, B_ADDR, **a_kw)
    pb = psk_peer("to-a", B_ADDR, b_kw.pop("remote", A_ADDR), **b_kw)
    ea = Ikev2Engine([pa], Rng("a" + seed))
    eb = Ikev2Engine([pb], Rng("b" + seed), settings=settings_b)
    ea.raise_internal_errors = True
    eb.raise_internal_errors = True
    return Net(ea, eb, nat_a=nat_a)


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


__all__ = ["A_ADDR", "B_ADDR", "Identity", "Net", "Rng", "mirrored", "pair", "psk_peer"]


@pytest.fixture
def h() -> types.ModuleType:
    """This module: tests reach the harness as `h.pair()`, `h.mirrored(...)`, `h.A_ADDR`."""
    return sys.modules[__name__]


def session_of(side: Side) -> Any:
    (s,) = [s for s in side.engine.sessions.values() if not s.closed]
    return s


def inject(net: Net, who: str, exchange: Any, payloads: list[Any]) -> Any:
    """Send a hand-made request over `who`'s established IKE SA; return the decrypted response.

    The receiving side's actions other than Send land in its events as usual.
    """
    side = net.side(who)
    other = net.b if who == "a" else net.a
    s = session_of(side)
    mid = s.window.allocate()
    datagrams = s.encode(exchange, mid, response=False, payloads=payloads)
    replies: list[bytes] = []
    for d in datagrams:
        for act in other.engine.receive(d, s.remote, s.local, net.now):
            if isinstance(act, Send):
                replies.append(act.data)
            else:
                other.events.append(act)
    s.window.response_done()
    if not replies:
        return None
    msg = wire.Inbound.parse(replies[0])
    return s.crypto.unprotect(msg, s.reassembler, net.now)


def scripted_reply(net: Net, payloads: list[Any]) -> None:
    """Answer the single request in flight from a to b with hand-made payloads, as b."""
    (pkt,) = [p for p in net.queue if p.src == "a"]
    net.queue.remove(pkt)
    sb = session_of(net.b)
    msg = wire.Inbound.parse(pkt.data)
    hdr = wire.Header(sb.spi_i, sb.spi_r, msg.exchange, msg.mid, response=True,
                      initiator=sb.initiator)  # fmt: skip
    (data,) = sb.crypto.protect(hdr, payloads, fragment_size=None)
    if sb.window.classify_request(msg.mid).value == "new":
        sb.window.request_answered(msg.mid, (data,))  # b "answered" it: keep its window in step
    net.feed(net.a, net.a.engine.receive(data, pkt.source, pkt.dest, net.now))


def request_in_flight(net: Net) -> Any:
    """The decrypted request a has in flight to b (left in the queue)."""
    (pkt,) = [p for p in net.queue if p.src == "a"]
    sb = session_of(net.b)
    return sb.crypto.unprotect(wire.Inbound.parse(pkt.data), sb.reassembler, net.now)
