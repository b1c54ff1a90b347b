"""Hostile IKEv1 peers against an engine that also carries a good tunnel: each attack is refused
(or dropped where RFC 2408 leaves nothing safe to answer before keys exist), reported once with
its context (an IkeFailed naming the peer, the cookies and the reason), counted, and the other
ISAKMP SA and phase-2 SA of the same engine keep working."""

from typing import Any

from xfrmctl.keying.ikev1.engine import Ikev1Engine
from xfrmctl.keying.ikev1.wire import Message
from xfrmctl.keying.ikev2.actions import IkeEstablished, IkeFailed, PeerDead, Reason, Send
from xfrmctl.keying.ikev2.identity import Identity
from xfrmctl.keying.ikev2.settings import PskAuth

C_ADDR = "192.0.2.3"
C_PSK = b"the hostile peer's own secret"


class Lab:
    """Engine b with the good peer a (tunnel up) and a peer c whose behaviour each test bends."""

    def __init__(self, v1: Any, **c_kw: Any) -> None:
        good = v1.pair()
        pb_a = good.b.engine.peers["to-a"]
        pb_c = v1.peer("to-c", v1.B_ADDR, C_ADDR, auth=PskAuth(C_PSK), local_ts="10.2.0.0/16",
                       remote_ts="10.3.0.0/16")  # fmt: skip
        eb = Ikev1Engine([pb_a, pb_c], v1.Rng("b-two-peers"))
        eb.raise_internal_errors = True
        self.ab = v1.Net(good.a.engine, eb)
        self.ab.feed(self.ab.a, self.ab.a.engine.initiate("to-b", "vpn", self.ab.now))
        self.ab.run()
        assert len(self.ab.b.of(IkeEstablished)) == 1
        c_kw.setdefault("auth", PskAuth(C_PSK))
        pc = v1.peer("to-b", C_ADDR, v1.B_ADDR, local_ts="10.3.0.0/16", remote_ts="10.2.0.0/16",
                     **c_kw)  # fmt: skip
        ec = Ikev1Engine([pc], v1.Rng("c"))
        ec.raise_internal_errors = True
        self.cb = v1.Net(ec, eb)  # side "a" of this net is c
        self.cb.now = self.ab.now
        self.b = eb
        self.good_sa = next(s for s in eb.sas.values() if s.established)
        self.good_children = {k: (c.spi_in, c.spi_out) for k, c in eb.children.items()}

    def c_up(self) -> None:
        self.cb.feed(self.cb.a, self.cb.a.engine.initiate("to-b", "vpn", self.cb.now))
        self.cb.run()
        assert len(self.cb.b.of(IkeEstablished)) == 1

    def good_tunnel_untouched(self) -> None:
        now = self.ab.now = self.cb.now = max(self.ab.now, self.cb.now)
        assert self.good_sa.established
        kept = {k: (c.spi_in, c.spi_out) for k, c in self.b.children.items() if c.peer == "to-a"}
        assert kept == self.good_children
        # a DPD exchange over the good SA still completes
        a_sa = next(s for s in self.ab.a.engine.sas.values() if s.established)
        self.ab.feed(self.ab.a, self.ab.a.engine.liveness_check(a_sa.ref, now))
        self.ab.run()
        assert self.ab.a.engine.counters["phase-1 message retransmitted"] == 0
        assert not self.ab.a.of(PeerDead)


def test_wrong_psk_fails_once_and_leaves_the_other_tunnel(v1):
    lab = Lab(v1, auth=PskAuth(b"not what b has for c"))
    lab.cb.feed(lab.cb.a, lab.cb.a.engine.initiate("to-b", "vpn", lab.cb.now))
    lab.cb.run()
    # main mode message 5 does not decrypt with b's key: nothing can be said to c before
    # keys agree (an unprotected notify would be forgeable); the SA fails when it times out
    lab.cb.advance(lab.cb.now + 200)
    failed = [e for e in lab.cb.b.of(IkeFailed) if e.peer == "to-c"]
    assert [f.reason for f in failed] == [Reason.AUTHENTICATION_FAILED]
    assert failed[0].ike_sa.spi_i and failed[0].ike_sa.spi_r
    assert C_PSK.hex() not in repr(failed[0])
    undecryptable = [k for k in lab.b.counters if k.startswith("dropped: ISAKMP: payload")]
    assert undecryptable and lab.b.counters["half-open phase 1 timed out"] == 1
    assert not lab.cb.a.of(IkeEstablished)
    lab.good_tunnel_untouched()


def test_wrong_identity_is_refused(v1):
    lab = Lab(v1, local_id=Identity.parse("mallory.example"))
    lab.cb.feed(lab.cb.a, lab.cb.a.engine.initiate("to-b", "vpn", lab.cb.now))
    lab.cb.run()
    failed = [e for e in lab.cb.b.of(IkeFailed) if e.peer == "to-c"]
    assert len(failed) == 1 and "mallory.example" in failed[0].detail
    assert not lab.cb.b.of(IkeEstablished)
    lab.good_tunnel_untouched()


def test_replayed_and_reordered_messages_change_nothing(v1):
    lab = Lab(v1)
    lab.c_up()
    events = len(lab.cb.b.events)
    from_c = [p for p in lab.cb.sent if p.src == "a"]
    # every message c sent, again and in reverse order
    for pkt in reversed(from_c):
        for act in lab.b.receive(pkt.data, pkt.dest, pkt.source, lab.cb.now + 1):
            assert isinstance(act, Send)  # at most a cached answer, never an event
    assert len(lab.cb.b.events) == events
    assert len([s for s in lab.b.sas.values() if s.established]) == 2
    lab.good_tunnel_untouched()


def test_invalid_lengths_are_dropped_and_counted(v1):
    lab = Lab(v1)
    lab.cb.feed(lab.cb.a, lab.cb.a.engine.initiate("to-b", "vpn", lab.cb.now))
    mm1 = lab.cb.queue[0].data
    too_long = mm1[:24] + (len(mm1) + 4).to_bytes(4, "big") + mm1[28:]
    for bad in (mm1[:20], too_long, mm1[:-1]):
        assert lab.b.receive(bad, (v1.B_ADDR, 500), (C_ADDR, 500), lab.cb.now) == []
    assert sum(n for k, n in lab.b.counters.items() if k.startswith("dropped: ISAKMP")) == 3
    assert len(lab.b.sas) == 1
    lab.good_tunnel_untouched()


def test_unexpected_exchange_types_are_dropped(v1):
    lab = Lab(v1)
    lab.cb.feed(lab.cb.a, lab.cb.a.engine.initiate("to-b", "vpn", lab.cb.now))
    mm1 = bytearray(lab.cb.queue[0].data)
    mm1[18] = 33  # an exchange RFC 2408 does not define, on a new SA
    assert lab.b.receive(bytes(mm1), (v1.B_ADDR, 500), (C_ADDR, 500), lab.cb.now) == []
    assert lab.b.counters["unknown ISAKMP SA"] == 1
    assert len(lab.b.sas) == 1
    lab.good_tunnel_untouched()


def test_peer_that_never_authenticates_expires_half_open(v1):
    lab = Lab(v1)
    lab.cb.feed(lab.cb.a, lab.cb.a.engine.initiate("to-b", "vpn", lab.cb.now))
    for _ in range(4):  # MM1 .. MM4, then c stops before its authentication (MM5)
        batch, lab.cb.queue = lab.cb.queue, []
        for pkt in batch:
            lab.cb._deliver_one(pkt)
    lab.cb.queue.clear()
    lab.cb.tamper = lambda pkt: []
    assert len(lab.b.sas) == 2
    lab.cb.advance(lab.cb.now + 35.0)
    assert len(lab.b.sas) == 1
    assert lab.b.counters["half-open phase 1 timed out"] == 1
    lab.good_tunnel_untouched()


def test_delete_for_a_phase2_sa_the_peer_does_not_own(v1):
    lab = Lab(v1)
    lab.c_up()
    (a_child,) = [c for c in lab.b.children.values() if c.peer == "to-a"]
    c_sa = next(s for s in lab.cb.a.engine.sas.values() if s.established)
    # c names the SPI of a's phase-2 SA, as a would in its own delete
    lab.cb.feed(lab.cb.a, c_sa.delete_child_spi(a_child.spi_out))
    lab.cb.run()
    assert lab.b.counters["delete for an unknown phase-2 SA"] == 1
    assert len([c for c in lab.b.children.values() if c.peer == "to-c"]) == 1
    lab.good_tunnel_untouched()


def test_messages_decode_only_through_the_parser(v1):
    lab = Lab(v1)
    lab.c_up()
    for pkt in lab.cb.sent:
        Message.decode(pkt.data)
