"""IKE_SA_INIT and IKE_AUTH negotiation outcomes, engine against engine."""

from dataclasses import replace
from typing import Any

import pytest

from xfrmctl.keying.ikev2.actions import (
    ChildFailed,
    DeleteChild,
    IkeDeleted,
    IkeEstablished,
    IkeFailed,
    InstallChild,
    Reason,
)
from xfrmctl.keying.ikev2.engine import Ikev2Engine
from xfrmctl.keying.ikev2.identity import Identity
from xfrmctl.keying.ikev2.settings import EngineSettings, Mode
from xfrmctl.keying.message import parse_message
from xfrmctl.keying.payloads import NotifyPayload, SkfPayload


def up(net: Any, who: str = "a", child: str = "net") -> None:
    side = net.side(who)
    peer = "to-b" if who == "a" else "to-a"
    net.feed(side, side.engine.initiate(peer, child, net.now))
    net.run()


def test_responder_role_swapped(h):
    net = h.pair()
    up(net, "b")
    (ea,) = net.a.of(IkeEstablished)
    (eb,) = net.b.of(IkeEstablished)
    assert eb.initiator and not ea.initiator
    (ca,) = net.a.of(InstallChild)
    (cb,) = net.b.of(InstallChild)
    assert h.mirrored(ca, cb)
    assert cb.initiator and not ca.initiator


def test_invalid_ke_payload_retry_with_requested_group(h):
    net = h.pair(
        a_kw={"ike": "aes256gcm16-prfsha256-x25519-ecp256"},
        b_kw={"ike": "aes256gcm16-prfsha256-ecp256"},
    )
    up(net)
    (ea,) = net.a.of(IkeEstablished)
    assert ea.dh_group.name == "ecp256"
    assert net.b.engine.counters["invalid KE payload"] == 1
    assert len(net.a.of(InstallChild)) == 1


def test_no_proposal_chosen(h):
    net = h.pair(
        a_kw={"ike": "aes256gcm16-prfsha256-x25519"}, b_kw={"ike": "aes128-sha256-modp2048"}
    )
    up(net)
    (fail,) = net.a.of(IkeFailed)
    assert fail.reason is Reason.NO_PROPOSAL_CHOSEN
    assert net.b.events == []
    assert net.b.engine.sessions == {}
    assert net.a.engine.sessions == {}
    assert net.b.engine.counters["no proposal chosen"] == 1


def test_cookie_demanded_above_threshold(h):
    net = h.pair(settings_b=EngineSettings(cookie_threshold=0))
    up(net)
    assert len(net.a.of(IkeEstablished)) == 1
    assert net.b.engine.counters["COOKIE demanded"] == 1
    first = parse_message(net.sent[0].data)
    second = parse_message(net.sent[2].data)
    assert first.notify(16390) is None
    assert second.notify(16390) is not None  # COOKIE echoed first
    assert isinstance(second.payloads[0], NotifyPayload)
    assert second.payloads[0].notify_type == 16390


def test_half_open_limit_drops_and_initiator_gives_up(h):
    net = h.pair(settings_b=EngineSettings(half_open_limit=0))
    up(net)
    assert net.a.of(IkeFailed) == []
    net.advance(165.0)
    assert net.a.of(IkeFailed) == []
    net.advance(165.1)
    (fail,) = net.a.of(IkeFailed)
    assert fail.reason is Reason.PEER_NOT_RESPONDING
    assert net.b.engine.counters["half-open limit reached"] == 6
    assert net.a.engine.counters["retransmission"] == 5
    assert net.b.engine.sessions == {}
    assert net.a.engine.next_deadline() is None


def test_no_matching_peer_configuration(h):
    net = h.pair(b_kw={"remote": "192.0.2.99"})
    up(net)
    (fail,) = net.a.of(IkeFailed)
    assert fail.reason is Reason.NO_PROPOSAL_CHOSEN
    assert net.b.engine.counters["no matching peer configuration"] == 1


def test_nat_detected_moves_to_4500_and_encapsulates(h):
    net = h.pair(nat_a=True, b_kw={"remote": None})
    up(net)
    (ea,) = net.a.of(IkeEstablished)
    (eb,) = net.b.of(IkeEstablished)
    assert ea.nat_local and not ea.nat_remote
    assert eb.nat_remote and not eb.nat_local
    assert ea.local[1] == 4500 and ea.remote == (h.B_ADDR, 4500)
    assert eb.remote == (h.NAT_PUBLIC, 40001)
    (ca,) = net.a.of(InstallChild)
    (cb,) = net.b.of(InstallChild)
    assert ca.encap == (4500, 4500)
    assert cb.encap == (4500, 40001)
    assert [p.dest[1] for p in net.sent[:2]] == [500, 40000]
    assert all(p.dest[1] in (4500, 40001) for p in net.sent[2:])


def test_no_nat_stays_on_500(h):
    net = h.pair()
    up(net)
    assert all(p.dest[1] == 500 and p.source[1] == 500 for p in net.sent)


def test_forced_encapsulation(h):
    net = h.pair(a_kw={"force_encap": True})
    up(net)
    (ea,) = net.a.of(IkeEstablished)
    (eb,) = net.b.of(IkeEstablished)
    assert ea.nat_local and eb.nat_remote
    assert net.a.of(InstallChild)[0].encap == (4500, 4500)


def test_authentication_failed_both_ways(h):
    net = h.pair(b_kw={"psk": b"another secret entirely"})
    up(net)
    (fa,) = net.a.of(IkeFailed)
    (fb,) = net.b.of(IkeFailed)
    assert fa.reason is Reason.AUTHENTICATION_FAILED
    assert fb.reason is Reason.AUTHENTICATION_FAILED
    assert net.a.of(InstallChild) == [] and net.b.of(InstallChild) == []
    assert net.a.engine.sessions == {} and net.b.engine.sessions == {}


def test_initiator_rejects_responder_identity(h):
    net = h.pair(
        a_kw={"remote_id": Identity.parse("*.example.net")},
        b_kw={"local_id": Identity.parse("gw.example.org")},
    )
    up(net)
    (fa,) = net.a.of(IkeFailed)
    assert fa.reason is Reason.IDENTITY_MISMATCH
    # the responder had established, then learns it was refused
    assert len(net.b.of(IkeEstablished)) == 1
    (db,) = net.b.of(IkeDeleted)
    assert db.reason is Reason.AUTHENTICATION_FAILED
    assert net.b.installed() == {}
    assert net.b.engine.sessions == {}


def test_fqdn_identities(h):
    net = h.pair(
        a_kw={"local_id": Identity.parse("@a.example"), "remote_id": Identity.parse("*.example")},
        b_kw={"local_id": Identity.parse("b.example"), "remote_id": Identity.parse("a.example")},
    )
    up(net)
    (ea,) = net.a.of(IkeEstablished)
    assert ea.remote_id == "b.example" and ea.remote_id_type == "fqdn"
    assert net.b.of(IkeEstablished)[0].remote_id == "a.example"


def test_responder_picks_config_by_identity(h):
    net = h.pair()
    other = h.psk_peer(
        "to-a-other", h.B_ADDR, h.A_ADDR, psk=b"x" * 20, remote_id=Identity.parse("nobody.example")
    )
    eb = Ikev2Engine([other, net.b.engine.peers["to-a"]], h.Rng("b2"))
    net.b.engine = eb
    up(net)
    (eb_up,) = net.b.of(IkeEstablished)
    assert eb_up.peer == "to-a"


def test_ts_unacceptable_keeps_ike_sa(h):
    net = h.pair(b_kw={"remote_ts": "10.9.0.0/16"})
    up(net)
    assert len(net.a.of(IkeEstablished)) == 1
    (cf,) = net.a.of(ChildFailed)
    assert cf.reason is Reason.TS_UNACCEPTABLE
    assert net.a.of(InstallChild) == [] and net.b.of(InstallChild) == []
    assert net.b.engine.counters["no child configuration fits the selectors"] == 1
    (cfb,) = net.b.of(ChildFailed)
    assert cfb.reason is Reason.TS_UNACCEPTABLE and cfb.child == ""


def test_child_no_proposal_chosen(h):
    net = h.pair(a_kw={"esp": "aes256gcm16"}, b_kw={"esp": "aes128-sha256"})
    up(net)
    assert len(net.a.of(IkeEstablished)) == 1
    (cf,) = net.a.of(ChildFailed)
    assert cf.reason is Reason.NO_PROPOSAL_CHOSEN
    (cfb,) = net.b.of(ChildFailed)
    assert cfb.reason is Reason.NO_PROPOSAL_CHOSEN and cfb.child == "net"


def test_narrowing_to_responder_policy(h):
    net = h.pair(
        a_kw={"local_ts": "10.0.0.0/8", "remote_ts": "0.0.0.0/0"}, b_kw={"remote_ts": "10.1.2.0/24"}
    )
    up(net)
    (ca,) = net.a.of(InstallChild)
    (cb,) = net.b.of(InstallChild)
    assert [str(t) for t in ca.local_ts] == ["10.1.2.0/24"]
    assert [str(t) for t in ca.remote_ts] == ["10.2.0.0/16"]
    assert h.mirrored(ca, cb)


def test_transport_mode_refused_by_tunnel_responder(h):
    net = h.pair()
    peer = net.a.engine.peers["to-b"]
    child = replace(peer.children[0], mode=Mode.TRANSPORT)
    net.a.engine.peers["to-b"] = replace(peer, children=(child,))
    up(net)
    (cf,) = net.a.of(ChildFailed)
    assert cf.reason is Reason.USE_TRANSPORT_MODE
    # the responder's tunnel-mode child is deleted again: nothing stays installed
    assert net.b.installed() == {}
    assert len(net.b.of(DeleteChild)) == 1
    assert net.b.engine.counters["USE_TRANSPORT_MODE refused for a tunnel child"] == 1


def test_transport_mode_both_sides(h):
    net = h.pair()
    for side, name in ((net.a, "to-b"), (net.b, "to-a")):
        peer = side.engine.peers[name]
        child = replace(peer.children[0], mode=Mode.TRANSPORT)
        side.engine.peers[name] = replace(peer, children=(child,))
    up(net)
    (ca,) = net.a.of(InstallChild)
    (cb,) = net.b.of(InstallChild)
    assert ca.mode == cb.mode == "transport"


def test_fragmented_ike_auth(h):
    ident = Identity.parse("C=CH, O=" + "x" * 600 + ", CN=a")
    net = h.pair(
        a_kw={"fragment_size": 576, "local_id": ident},
        b_kw={"fragment_size": 576, "remote_id": Identity.any(), "local_ts": "10.2.0.0/16"},
    )
    up(net)
    assert len(net.a.of(IkeEstablished)) == 1 and len(net.b.of(IkeEstablished)) == 1
    skf = [p for p in net.sent if isinstance(parse_message(p.data).payloads[-1], SkfPayload)]
    assert len(skf) >= 2
    assert all(len(p.data) <= 576 - 48 for p in skf)


@pytest.mark.parametrize(
    "esp", ["aes128-sha256", "aes256-sha512", "chacha20poly1305", "aes128gcm8"]
)
@pytest.mark.parametrize(
    "ike", ["aes128-sha256-modp2048", "aes256-sha384-ecp384", "chacha20poly1305-prfsha512-x448"]
)
def test_algorithm_matrix(h, ike, esp):
    net = h.pair(a_kw={"ike": ike, "esp": esp}, b_kw={"ike": ike, "esp": esp})
    up(net)
    (ca,) = net.a.of(InstallChild)
    (cb,) = net.b.of(InstallChild)
    assert h.mirrored(ca, cb)
    assert net.a.of(IkeEstablished)[0].encr.name == ike.split("-")[0]


def test_ipv6_peers_and_selectors(h):
    a6, b6 = "2001:db8::1", "2001:db8:ffff::2"
    pa = h.psk_peer("to-b", a6, b6, local_ts="2001:db8:1::/48", remote_ts="2001:db8:2::/48")
    pb = h.psk_peer("to-a", b6, a6, local_ts="2001:db8:2::/48", remote_ts="2001:db8:1::/48")
    net = h.Net(Ikev2Engine([pa], h.Rng("a6")), Ikev2Engine([pb], h.Rng("b6")))
    up(net)
    (ea,) = net.a.of(IkeEstablished)
    assert ea.remote == (b6, 500) and ea.remote_id == b6 and ea.remote_id_type == "ipv6_addr"
    (ca,) = net.a.of(InstallChild)
    (cb,) = net.b.of(InstallChild)
    assert h.mirrored(ca, cb)
    assert [str(t) for t in ca.remote_ts] == ["2001:db8:2::/48"]
