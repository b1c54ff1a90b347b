"""The IKEv2 test harness: two engines on the in-memory `Net` of `tests/keying/netsim.py`.

`Net` carries datagrams between engine "a" and engine "b"; a `tamper` hook can drop, duplicate,
reorder or rewrite them, and an optional NAT in front of "a" rewrites its address and port.
"""

from __future__ import annotations

import ipaddress
import sys
import types
from typing import Any

import pytest

from tests.keying.netsim import NAT_PUBLIC, Net, Rng, Side, mirrored
from xfrmctl.keying.constants import ProtocolId
from xfrmctl.keying.ikev2 import wire
from xfrmctl.keying.ikev2.actions import (
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


__all__ = [
    "A_ADDR",
    "B_ADDR",
    "NAT_PUBLIC",
    "Identity",
    "Net",
    "Rng",
    "mirrored",
    "pair",
    "psk_peer",
]


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
