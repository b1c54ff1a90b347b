"""Two IKEv1 engines wired together in memory with a fake clock.

`Net` carries datagrams between engine "a" (192.0.2.1, nets 10.1/16) and engine "b"
(198.51.100.2, nets 10.2/16); `tamper` can drop, duplicate or rewrite them; an optional NAT in
front of "a" rewrites its address and port.
"""

from __future__ import annotations

import hashlib
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from xfrmctl.keying.constants import ProtocolId
from xfrmctl.keying.ikev1.engine import Ikev1Engine
from xfrmctl.keying.ikev1.settings import ExchangeMode, Ikev1PeerConfig, Phase1Proposal
from xfrmctl.keying.ikev2.actions import Action, DeleteChild, InstallChild, Send
from xfrmctl.keying.ikev2.settings import Auth, ChildConfig, PskAuth
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.keying.transforms import by_name, parse_proposal

A_ADDR = "192.0.2.1"
B_ADDR = "198.51.100.2"
NAT_PUBLIC = "203.0.113.9"
PSK = b"seed-000 shared secret"


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
    src: str
    data: bytes
    source: tuple[str, int]
    dest: tuple[str, int]


@dataclass
class Side:
    name: str
    engine: Ikev1Engine
    events: list[Action] = field(default_factory=list)

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def installed(self) -> dict[int, InstallChild]:
        live: dict[int, InstallChild] = {}
        for e in self.events:
            if isinstance(e, InstallChild):
                live[e.unique_id] = e
            elif isinstance(e, DeleteChild):
                live.pop(e.unique_id, None)
        return live


class Net:
    def __init__(self, a: Ikev1Engine, b: Ikev1Engine, *, nat_a: bool = False) -> None:
        self.a = Side("a", a)
        self.b = Side("b", b)
        self.now = 1000.0
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

    def _deliver(self, pkt: Packet) -> None:
        target = self.b if pkt.src == "a" else self.a
        dest = pkt.dest
        if target.name == "a" and self.nat_a:
            back = {v: k for k, v in self._nat_map.items()}
            if dest not in back:
                return
            dest = back[dest]
        self.feed(target, target.engine.receive(pkt.data, dest, pkt.source, self.now))

    def run(self, max_rounds: int = 100) -> None:
        rounds = 0
        while self.queue:
            rounds += 1
            assert rounds < max_rounds, "negotiation does not settle"
            batch, self.queue = self.queue, []
            for pkt in batch:
                self._deliver(pkt)

    def advance(self, until: float) -> None:
        while True:
            ds = [d for d in (self.a.engine.next_deadline(), self.b.engine.next_deadline()) if d]
            nxt = min(ds) if ds else None
            if nxt is None or nxt > until:
                break
            self.now = max(self.now, nxt)
            for side in (self.a, self.b):
                self.feed(side, side.engine.on_timer(self.now))
            self.run()
        self.now = until


def peer(
    name: str,
    local: str,
    remote: str | None,
    *,
    auth: Auth | None = None,
    ike: str = "3des-sha1-modp1024",
    ike_lifetime: int = 1800,
    esp: str = "3des-sha1",
    local_ts: str = "10.1.0.0/16",
    remote_ts: str = "10.2.0.0/16",
    pfs: str | None = None,
    child_lifetime: int = 3600,
    mode: ExchangeMode = ExchangeMode.MAIN,
    **kw: Any,
) -> Ikev1PeerConfig:
    child = ChildConfig(
        name="vpn",
        local_ts=(TrafficSelector.from_network(local_ts),),
        remote_ts=(TrafficSelector.from_network(remote_ts),),
        proposals=tuple(parse_proposal(p, ProtocolId.ESP) for p in esp.split(",")),
        pfs_group=by_name(pfs) if pfs else None,
        lifetime_seconds=child_lifetime,
        if_id=7,
    )
    return Ikev1PeerConfig(
        name=name,
        local_address=local,
        remote_address=remote,
        auth=auth or PskAuth(PSK),
        proposals=tuple(Phase1Proposal.parse(p, ike_lifetime) for p in ike.split(",")),
        mode=mode,
        children=kw.pop("children", (child,)),
        **kw,
    )


def pair(
    *, a_kw: dict[str, Any] | None = None, b_kw: dict[str, Any] | None = None,
    nat_a: bool = False, seed: str = "",
) -> Net:  # fmt: skip
    a_kw = dict(a_kw or {})
    b_kw = dict(b_kw or {})
    b_kw.setdefault("local_ts", "10.2.0.0/16")
    b_kw.setdefault("remote_ts", "10.1.0.0/16")
    pa = peer("to-b", A_ADDR, B_ADDR, **a_kw)
    pb = peer("to-a", B_ADDR, b_kw.pop("remote", A_ADDR), **b_kw)
    ea = Ikev1Engine([pa], Rng("a" + seed))
    eb = Ikev1Engine([pb], Rng("b" + seed))
    ea.raise_internal_errors = True
    eb.raise_internal_errors = True
    return Net(ea, eb, nat_a=nat_a)


def mirrored(x: InstallChild, y: InstallChild) -> bool:
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


@pytest.fixture
def v1() -> types.ModuleType:
    """This module: tests reach the harness as `v1.pair()`, `v1.mirrored(...)`."""
    return sys.modules[__name__]
