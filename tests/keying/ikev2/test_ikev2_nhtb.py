"""NHTB auto-learning: the tunnel-address notify in IKE_AUTH and CREATE_CHILD_SA, both ways."""

from __future__ import annotations

from collections import Counter
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xfrmctl.keying import payloads as pl
from xfrmctl.keying.constants import ExchangeType
from xfrmctl.keying.ikev2 import tunnel_address, wire
from xfrmctl.keying.ikev2.actions import IkeEstablished, InstallChild
from xfrmctl.keying.ikev2.settings import ChildConfig, ConfigError
from xfrmctl.nhtb.errors import NhtbNotifyError
from xfrmctl.nhtb.notify import XFRMCTL_TUNNEL_ADDRESS, decode_tunnel_addresses

A_TUN = ("10.255.0.1", "fd00:255::1")
B_TUN = ("10.255.0.2",)


def established(h: Any, a: tuple[str, ...] = A_TUN, b: tuple[str, ...] = B_TUN) -> Any:
    net = h.pair(a_kw={"tunnel": a}, b_kw={"tunnel": b})
    net.feed(net.a, net.a.engine.initiate("to-b", "net", net.now))
    net.run()
    assert len(net.a.of(IkeEstablished)) == 1 and len(net.b.of(IkeEstablished)) == 1
    return net


def only_child(side: Any) -> InstallChild:
    live: dict[int, InstallChild] = side.installed()
    assert len(live) == 1, live
    return next(iter(live.values()))


def sent_addresses(msg: Any) -> list[bytes]:
    return [
        p.data
        for p in msg.payloads
        if isinstance(p, pl.NotifyPayload) and p.notify_type == XFRMCTL_TUNNEL_ADDRESS
    ]


def test_both_ends_learn_each_other_at_ike_auth(h):
    net = established(h)
    (ia,) = net.a.of(InstallChild)
    (ib,) = net.b.of(InstallChild)
    assert h.mirrored(ia, ib)
    assert ia.peer_tunnel_addresses == (IPv4Address("10.255.0.2"),)
    assert ib.peer_tunnel_addresses == (IPv4Address("10.255.0.1"), IPv6Address("fd00:255::1"))
    assert tunnel_address.MALFORMED not in net.a.engine.counters
    assert tunnel_address.MALFORMED not in net.b.engine.counters


@pytest.mark.parametrize("who", ["a", "b"])
def test_addresses_kept_across_a_child_rekey(h, who):
    net = established(h)
    side = net.side(who)
    old = only_child(side).unique_id
    net.feed(side, side.engine.rekey_child(old, net.now))
    net.run()
    new_a, new_b = only_child(net.a), only_child(net.b)
    assert new_a.rekey_of is not None and new_b.rekey_of is not None
    assert h.mirrored(new_a, new_b)
    assert new_a.peer_tunnel_addresses == (IPv4Address("10.255.0.2"),)
    assert new_b.peer_tunnel_addresses == (IPv4Address("10.255.0.1"), IPv6Address("fd00:255::1"))


def test_rekey_request_and_response_carry_one_notify_per_family(h):
    net = established(h)
    old = only_child(net.a).unique_id
    net.feed(net.a, net.a.engine.rekey_child(old, net.now))
    request = h.request_in_flight(net)
    assert request.exchange is ExchangeType.CREATE_CHILD_SA
    assert sent_addresses(request) == [
        b"\x01" + bytes([10, 255, 0, 1]),
        b"\x02" + ip_address("fd00:255::1").packed,
    ]
    net.step()  # b answers
    (reply,) = [p for p in net.queue if p.src == "b"]
    sa = h.session_of(net.a)
    response = sa.crypto.unprotect(h.wire.Inbound.parse(reply.data), sa.reassembler, net.now)
    assert sent_addresses(response) == [b"\x01" + bytes([10, 255, 0, 2])]


def test_new_child_by_create_child_sa_learns_too(h):
    net = established(h)
    second = ChildConfig(
        name="second",
        local_ts=(h.TrafficSelector.from_network("10.1.5.0/24"),),
        remote_ts=(h.TrafficSelector.from_network("10.2.5.0/24"),),
        local_tunnel_addresses=(IPv4Address("10.255.0.1"),),
    )
    # b answers with its own child of those selectors (its config "net" covers them)
    net.feed(net.a, net.a.engine.sessions_of("to-b")[0].initiate_child(second, net.now))
    net.run()
    (new_a,) = [i for i in net.a.of(InstallChild) if i.child == "second"]
    first_b, new_b = net.b.of(InstallChild)
    assert h.mirrored(new_a, new_b) and first_b.rekey_of is None and new_b.rekey_of is None
    assert new_a.peer_tunnel_addresses == (IPv4Address("10.255.0.2"),)
    assert new_b.peer_tunnel_addresses == (IPv4Address("10.255.0.1"),)


def test_peer_sending_nothing_learns_nothing(h):
    """A peer without the extension (strongSwan, Libreswan, an SRX) sends no notify."""
    net = established(h, b=())
    (ia,) = net.a.of(InstallChild)
    (ib,) = net.b.of(InstallChild)
    assert ia.peer_tunnel_addresses == ()
    assert ib.peer_tunnel_addresses == (IPv4Address("10.255.0.1"), IPv6Address("fd00:255::1"))
    assert tunnel_address.MALFORMED not in net.a.engine.counters


GARBAGE = [
    pytest.param([b""], id="empty"),
    pytest.param([b"\x01\x0a\xff\x00"], id="short-ipv4"),
    pytest.param([b"\x01\x0a\xff\x00\x02\x00"], id="long-ipv4"),
    pytest.param([b"\x03" + bytes(4)], id="unknown-family"),
    pytest.param([b"\x01\x7f\x00\x00\x01"], id="loopback"),
    pytest.param([b"\x01\xe0\x00\x00\x05"], id="multicast"),
    pytest.param([b"\x02" + bytes(16)], id="unspecified-ipv6"),
    pytest.param([b"\x01\x0a\xff\x00\x02", b"\x02\x00"], id="good-then-bad"),
]


@pytest.mark.parametrize("datas", GARBAGE)
def test_garbage_notify_is_counted_and_ignored(h, monkeypatch, datas):
    """b sends malformed values: a still completes IKE_AUTH and a rekey, and learns nothing."""

    def garbage(config: ChildConfig) -> list[Any]:
        if not config.local_tunnel_addresses:
            return []
        return [pl.NotifyPayload(XFRMCTL_TUNNEL_ADDRESS, d) for d in datas]

    monkeypatch.setattr(tunnel_address, "notifies", garbage)
    net = established(h, a=(), b=B_TUN)
    ia, ib = only_child(net.a), only_child(net.b)
    assert h.mirrored(ia, ib)
    assert ia.peer_tunnel_addresses == () and ib.peer_tunnel_addresses == ()
    assert net.a.engine.counters[tunnel_address.MALFORMED] == 1
    net.feed(net.a, net.a.engine.rekey_child(ia.unique_id, net.now))
    net.run()
    na, nb = only_child(net.a), only_child(net.b)
    assert na.rekey_of == ia.unique_id and h.mirrored(na, nb)
    assert na.peer_tunnel_addresses == ()
    assert net.a.engine.counters[tunnel_address.MALFORMED] == 2
    assert tunnel_address.MALFORMED not in net.b.engine.counters


@pytest.mark.parametrize(
    "addresses, why",
    [
        (("10.255.0.1", "10.255.0.9"), "one tunnel address per address family"),
        (("127.0.0.1",), "tunnel address 127.0.0.1 is not a unicast address"),
        (("ff02::1",), "tunnel address ff02::1 is not a unicast address"),
    ],
)
def test_child_config_refuses_unusable_tunnel_addresses(addresses, why):
    with pytest.raises(ConfigError) as err:
        ChildConfig("net", local_tunnel_addresses=tuple(ip_address(a) for a in addresses))
    assert str(err.value) == f"child net: {why}"


def test_ipv6_link_local_is_announced(h):
    net = established(h, a=("fe80::1",), b=())
    (ib,) = net.b.of(InstallChild)
    assert ib.peer_tunnel_addresses == (IPv6Address("fe80::1"),)


_VALUE = st.one_of(
    st.binary(max_size=20),
    st.builds(lambda b: b"\x01" + b, st.binary(min_size=4, max_size=4)),
    st.builds(lambda b: b"\x02" + b, st.binary(min_size=16, max_size=16)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_VALUE, max_size=3))
def test_any_notify_value_is_learned_exactly_or_counted(datas):
    """Whatever the peer puts in the notifies: the codec's answer, or () and one count."""
    payloads = tuple(pl.NotifyPayload(XFRMCTL_TUNNEL_ADDRESS, d) for d in datas)
    msg = wire.Inbound(cast(Any, None), b"", payloads)
    counts: Counter[str] = Counter()

    def count(reason: str) -> None:
        counts[reason] += 1

    got = tunnel_address.learned(msg, count)
    try:
        want = decode_tunnel_addresses(datas)
    except NhtbNotifyError:
        assert got == () and counts == Counter({tunnel_address.MALFORMED: 1})
    else:
        assert got == want and not counts
