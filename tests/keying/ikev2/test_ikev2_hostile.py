"""Hostile peers against an engine that also carries a good tunnel: each attack is refused with
the notify RFC 7296 asks for (or silence), reported once with its context (an IkeFailed naming
the peer, the SPIs and the reason, which the daemon logs), counted, and the other IKE SA of the
same engine keeps working."""

import hmac
from typing import Any

import pytest

from xfrmctl.keying import auth
from xfrmctl.keying.constants import ExchangeType, ProtocolId
from xfrmctl.keying.errors import CryptoError
from xfrmctl.keying.ikev2 import wire
from xfrmctl.keying.ikev2.actions import IkeEstablished, IkeFailed, Reason, Send
from xfrmctl.keying.ikev2.engine import Ikev2Engine
from xfrmctl.keying.ikev2.identity import Identity
from xfrmctl.keying.transforms import by_name

C_ADDR = "192.0.2.3"
C_PSK = b"the hostile peer's own secret"


class Lab:
    """Engine b with two peers: the good a (tunnel up) and c, whose behaviour each test bends."""

    def __init__(self, h: Any, **c_kw: Any) -> None:
        good = h.pair()
        pb_a = good.b.engine.peers["to-a"]
        pb_c = h.psk_peer("to-c", h.B_ADDR, C_ADDR, psk=C_PSK, local_ts="10.2.0.0/16",
                          remote_ts="10.3.0.0/16")  # fmt: skip
        eb = Ikev2Engine([pb_a, pb_c], h.Rng("b-two-peers"))
        eb.raise_internal_errors = True
        self.ab = h.Net(good.a.engine, eb)
        self.ab.feed(self.ab.a, self.ab.a.engine.initiate("to-b", "net", 0.0))
        self.ab.run()
        assert len(self.ab.b.of(IkeEstablished)) == 1
        c_kw.setdefault("psk", C_PSK)
        pc = h.psk_peer("to-b", C_ADDR, h.B_ADDR, local_ts="10.3.0.0/16",
                        remote_ts="10.2.0.0/16", **c_kw)  # fmt: skip
        ec = Ikev2Engine([pc], h.Rng("c"))
        ec.raise_internal_errors = True
        self.cb = h.Net(ec, eb)  # side "a" of this net is c
        self.b = eb
        self.good_sa = next(iter(eb.sessions.values()))
        self.good_children = dict(self.good_sa.children)

    def good_tunnel_untouched(self) -> None:
        self.ab.now = self.cb.now = max(self.ab.now, self.cb.now)
        assert self.good_sa.established and self.good_sa in self.b.sessions.values()
        assert self.good_sa.children == self.good_children
        # and it still answers: a liveness check from a completes
        ref = next(iter(self.ab.a.engine.sessions.values())).ref
        self.ab.feed(self.ab.a, self.ab.a.engine.liveness_check(ref, self.ab.now))
        self.ab.run()
        assert self.ab.a.engine.counters["retransmission"] == 0
        assert len(self.ab.b.installed()) == 1


def test_wrong_psk_gets_authentication_failed(h):
    lab = Lab(h, psk=b"not what b has for c")
    lab.cb.feed(lab.cb.a, lab.cb.a.engine.initiate("to-b", "net", 0.0))
    lab.cb.run()
    (failed,) = lab.cb.b.of(IkeFailed)  # once, with the peer, its SPIs and the reason
    assert failed.peer == "to-c" and failed.reason is Reason.AUTHENTICATION_FAILED
    assert failed.ike_sa.spi_i and failed.ike_sa.spi_r
    assert "initiator 192.0.2.3" in failed.detail
    assert C_PSK.hex() not in repr(failed) and "secret" not in repr(failed)
    assert lab.b.counters["authentication failed"] == 1
    # c was told AUTHENTICATION_FAILED in the IKE_AUTH response and failed too
    (c_failed,) = lab.cb.a.of(IkeFailed)
    assert c_failed.reason is Reason.AUTHENTICATION_FAILED
    assert c_failed.detail == "the peer rejected our authentication"  # b's notify
    assert len(lab.b.sessions) == 1
    lab.good_tunnel_untouched()


def test_wrong_identity_gets_authentication_failed(h):
    lab = Lab(h, local_id=Identity.parse("mallory.example"))
    lab.cb.feed(lab.cb.a, lab.cb.a.engine.initiate("to-b", "net", 0.0))
    lab.cb.run()
    (failed,) = lab.cb.b.of(IkeFailed)
    assert failed.reason is Reason.NO_MATCHING_PEER and "mallory.example" in failed.detail
    assert lab.b.counters["no peer configuration for the identity"] == 1
    (c_failed,) = lab.cb.a.of(IkeFailed)
    assert c_failed.detail == "the peer rejected our authentication"  # b's notify
    assert len(lab.b.sessions) == 1
    lab.good_tunnel_untouched()


def test_replayed_requests_are_answered_from_cache_or_dropped(h):
    lab = Lab(h)
    lab.cb.feed(lab.cb.a, lab.cb.a.engine.initiate("to-b", "net", 0.0))
    lab.cb.run()
    assert len(lab.b.sessions) == 2
    from_c = [p for p in lab.cb.sent if p.src == "a"]
    before = len(lab.cb.b.events)
    # the last request again: the cached response, byte for byte, and nothing else happens
    last = from_c[-1]
    (again,) = lab.b.receive(last.data, last.dest, last.source, 1.0)
    answers = [p.data for p in lab.cb.sent if p.src == "b"]
    assert isinstance(again, Send) and again.data == answers[-1]
    assert lab.b.counters["retransmitted request answered from cache"] == 1
    # the IKE_SA_INIT again: its SA is up, so no new state and no event
    # the IKE_SA_INIT again: like any IKE_SA_INIT, only a half-open SA under the limits, which
    # expires, and no event
    first = from_c[0]
    lab.b.receive(first.data, first.dest, first.source, 1.0)
    assert len(lab.cb.b.events) == before and lab.b.half_open == 1
    lab.b.on_timer(1.0 + lab.b.settings.half_open_timeout + 0.1)
    assert lab.b.half_open == 0 and len(lab.b.sessions) == 2
    lab.good_tunnel_untouched()


def test_old_request_outside_the_window_is_dropped(h):
    lab = Lab(h)
    lab.cb.feed(lab.cb.a, lab.cb.a.engine.initiate("to-b", "net", 0.0))
    lab.cb.run()
    sc = next(iter(lab.cb.a.engine.sessions.values()))
    for _ in range(2):  # two liveness checks: message IDs 2 and 3
        lab.cb.feed(lab.cb.a, lab.cb.a.engine.liveness_check(sc.ref, 1.0))
        lab.cb.run()
    old = [p for p in lab.cb.sent if p.src == "a"][-2]  # message ID 2, now behind the window
    assert lab.b.receive(old.data, old.dest, old.source, 2.0) == []
    assert lab.b.counters["request outside the message-ID window"] == 1
    lab.good_tunnel_untouched()


def test_invalid_lengths_are_dropped_silently(h):
    lab = Lab(h)
    lab.cb.feed(lab.cb.a, lab.cb.a.engine.initiate("to-b", "net", 0.0))
    init = lab.cb.queue[0].data
    for bad in (init[:20], init + b"\0" * 4, init[:-1]):
        assert lab.b.receive(bad, (h.B_ADDR, 500), (C_ADDR, 500), 0.0) == []
    assert lab.b.counters["invalid syntax"] == 3
    assert lab.b.half_open == 0 and len(lab.b.sessions) == 1
    lab.good_tunnel_untouched()


def test_unexpected_exchange_types_are_refused(h):
    lab = Lab(h)
    lab.cb.feed(lab.cb.a, lab.cb.a.engine.initiate("to-b", "net", 0.0))
    lab.cb.run()
    # an IKE_AUTH on the established SA: dropped and counted, the SA stays
    r = h.inject(lab.cb, "a", ExchangeType.IKE_AUTH, [wire.nonce(b"n" * 32)])
    assert r is None
    assert lab.b.counters["unexpected IKE_AUTH request"] == 1
    # an exchange type IKEv2 does not define: a parse error, dropped without an answer
    sc = next(iter(lab.cb.a.engine.sessions.values()))
    raw = bytearray(sc.encode(ExchangeType.INFORMATIONAL, 9, response=False, payloads=[])[0])
    raw[18] = 99
    assert lab.b.receive(bytes(raw), sc.remote, sc.local, 1.0) == []
    assert lab.b.counters["invalid syntax"] == 1
    assert len(lab.b.sessions) == 2
    lab.good_tunnel_untouched()


def test_peer_that_never_authenticates_expires_half_open(h):
    lab = Lab(h)
    lab.cb.feed(lab.cb.a, lab.cb.a.engine.initiate("to-b", "net", 0.0))
    lab.cb.step()  # IKE_SA_INIT to b
    lab.cb.queue.clear()  # c never sends its IKE_AUTH
    assert lab.b.half_open == 1
    timeout = lab.b.settings.half_open_timeout
    assert lab.b.on_timer(timeout - 0.1) == []
    assert lab.b.half_open == 1
    assert lab.b.on_timer(timeout + 0.1) == []  # silently: RFC 7296 has nothing to send
    assert lab.b.half_open == 0 and len(lab.b.sessions) == 1
    assert lab.b.counters["half-open SA timed out"] == 1
    lab.good_tunnel_untouched()


def test_responder_that_never_authenticates_gives_up(h):
    # b initiates to c; c answers IKE_SA_INIT and then never answers IKE_AUTH
    lab = Lab(h)
    lab.cb.feed(lab.cb.b, lab.b.initiate("to-c", "net", 0.0))
    lab.cb.step()  # IKE_SA_INIT to c
    lab.cb.step()  # c's answer to b, whose IKE_AUTH request is now in flight
    lab.cb.queue.clear()
    lab.cb.tamper = lambda pkt: []  # c never answers again
    sb_ref = next(s for s in lab.b.sessions.values() if s.peer.name == "to-c").ref
    lab.cb.advance(600.0)
    failed = [e for e in lab.cb.b.of(IkeFailed) if e.peer == "to-c"]
    assert [f.reason for f in failed] == [Reason.PEER_NOT_RESPONDING]
    assert failed[0].ike_sa.spi_i == sb_ref.spi_i
    lab.good_tunnel_untouched()


def test_delete_for_a_child_the_peer_does_not_own(h):
    lab = Lab(h)
    lab.cb.feed(lab.cb.a, lab.cb.a.engine.initiate("to-b", "net", 0.0))
    lab.cb.run()
    (a_child,) = lab.good_children.values()
    # c names the SPI of a's child (what a would put in its own delete)
    r = h.inject(lab.cb, "a", ExchangeType.INFORMATIONAL,
                 [wire.delete(ProtocolId.ESP, [a_child.spi_out.to_bytes(4, "big")])])  # fmt: skip
    assert r is not None and r.payloads == ()  # an empty answer (RFC 7296 1.4.1)
    assert lab.b.counters["delete for an unknown child SA"] == 1
    assert len(lab.cb.b.installed()) == 1  # c's own child stays too
    lab.good_tunnel_untouched()


def test_psk_auth_is_compared_in_constant_time(h, monkeypatch):
    """The AUTH value goes through hmac.compare_digest, also in a real exchange."""
    compared: list[int] = []
    real = hmac.compare_digest

    def spy(x: bytes, y: bytes) -> bool:
        compared.append(len(x))
        return real(x, y)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    prf_t = by_name("prfsha256")
    good = auth.psk_auth_data(prf_t, b"k", b"octets")
    auth.verify_psk(prf_t, b"k", b"octets", good)
    with pytest.raises(CryptoError):
        auth.verify_psk(prf_t, b"k", b"octets", bytes(32))
    assert compared == [32, 32]
    Lab(h)  # both ends of a PSK handshake verify through it
    assert len(compared) == 4
