"""INFORMATIONAL and CREATE_CHILD_SA on an established IKE SA: deletes, liveness, rekeys."""

from dataclasses import replace
from typing import Any

import pytest

from xfrmctl.keying.ikev2.actions import (
    ChildFailed,
    DeleteChild,
    IkeDeleted,
    IkeEstablished,
    IkeRekeyed,
    InstallChild,
    LivenessResult,
    PeerDead,
    Reason,
)
from xfrmctl.keying.ikev2.settings import ChildConfig, Mode
from xfrmctl.keying.ikev2.ts import TrafficSelector


def established(h: Any, **kw: Any) -> Any:
    net = h.pair(**kw)
    net.feed(net.a, net.a.engine.initiate("to-b", "net", net.now))
    net.run()
    assert len(net.a.of(IkeEstablished)) == 1
    return net


def only_child(side: Any) -> InstallChild:
    live: dict[int, InstallChild] = side.installed()
    assert len(live) == 1, live
    return next(iter(live.values()))


def ike_ref(side: Any) -> Any:
    (s,) = [s for s in side.engine.sessions.values() if not s.closed]
    return s.ref


@pytest.mark.parametrize("who", ["a", "b"])
def test_delete_child(h, who):
    net = established(h)
    side = net.side(who)
    uid = only_child(side).unique_id
    net.feed(side, side.engine.delete_child(uid, net.now))
    net.run()
    assert net.a.installed() == {} and net.b.installed() == {}
    (da,) = net.a.of(DeleteChild)
    (db,) = net.b.of(DeleteChild)
    assert (da.spi_in, da.spi_out) == (db.spi_out, db.spi_in)
    mine = da if who == "a" else db
    theirs = db if who == "a" else da
    assert mine.reason is Reason.LOCAL_DELETE and theirs.reason is Reason.PEER_DELETED
    # the IKE SA stays
    assert net.a.of(IkeDeleted) == [] and len(net.a.engine.sessions) == 1


@pytest.mark.parametrize("who", ["a", "b"])
def test_delete_ike_sa_takes_children(h, who):
    net = established(h)
    side = net.side(who)
    net.feed(side, side.engine.delete_ike(ike_ref(side), net.now))
    net.run()
    for s in (net.a, net.b):
        (d,) = s.of(IkeDeleted)
        assert d.reason is (Reason.LOCAL_DELETE if s is side else Reason.PEER_DELETED)
        assert s.installed() == {}
        assert s.engine.sessions == {}
        assert s.engine.next_deadline() is None


def test_simultaneous_child_delete(h):
    net = established(h)
    ua = only_child(net.a).unique_id
    ub = only_child(net.b).unique_id
    net.feed(net.a, net.a.engine.delete_child(ua, net.now))
    net.feed(net.b, net.b.engine.delete_child(ub, net.now))
    net.run()
    assert net.a.installed() == {} and net.b.installed() == {}
    assert len(net.a.of(DeleteChild)) == 1 and len(net.b.of(DeleteChild)) == 1


@pytest.mark.parametrize("who", ["a", "b"])
def test_liveness_check(h, who):
    net = established(h)
    side = net.side(who)
    net.now = 10.0
    net.feed(side, side.engine.liveness_check(ike_ref(side), net.now))
    net.run()
    (res,) = side.of(LivenessResult)
    assert res.alive and res.at == 10.0


def test_liveness_give_up_declares_peer_dead(h):
    net = established(h)
    net.tamper = lambda pkt: [] if pkt.src == "b" else [pkt]
    net.now = 100.0
    net.feed(net.a, net.a.engine.liveness_check(ike_ref(net.a), net.now))
    net.run()
    net.advance(100.0 + 165.0)
    assert net.a.of(PeerDead) == []
    net.advance(100.0 + 165.1)
    (res,) = net.a.of(LivenessResult)
    assert not res.alive
    assert len(net.a.of(PeerDead)) == 1
    (d,) = net.a.of(IkeDeleted)
    assert d.reason is Reason.PEER_NOT_RESPONDING
    assert net.a.installed() == {}
    # b answered every retransmission from its cache without processing it twice
    assert net.b.engine.counters["retransmitted request answered from cache"] == 5


@pytest.mark.parametrize("who", ["a", "b"])
@pytest.mark.parametrize("pfs", [None, "modp2048", "x25519"])
def test_child_rekey(h, who, pfs):
    net = established(h, a_kw={"pfs": pfs}, b_kw={"pfs": pfs})
    side = net.side(who)
    old_a, old_b = only_child(net.a), only_child(net.b)
    net.now = 50.0
    net.feed(side, side.engine.rekey_child(only_child(side).unique_id, net.now))
    net.run()
    new_a, new_b = only_child(net.a), only_child(net.b)
    assert h.mirrored(new_a, new_b)
    assert new_a.unique_id != old_a.unique_id and new_b.unique_id != old_b.unique_id
    assert new_a.reqid == old_a.reqid and new_b.reqid == old_b.reqid
    assert new_a.encr_key_in != old_a.encr_key_in
    assert new_a.dh_group == (None if pfs is None else {"modp2048": 14, "x25519": 31}[pfs])
    for s, old, new in ((net.a, old_a, new_a), (net.b, old_b, new_b)):
        kinds = [
            (type(e).__name__, e.unique_id)
            for e in s.events
            if isinstance(e, InstallChild | DeleteChild)
        ]
        # no traffic gap: the new SA is installed before the old one goes
        assert kinds == [
            ("InstallChild", old.unique_id),
            ("InstallChild", new.unique_id),
            ("DeleteChild", old.unique_id),
        ]
        (d,) = s.of(DeleteChild)
        assert d.reason is Reason.REKEYED
    assert (new_a.rekey_of, new_b.rekey_of) == (old_a.unique_id, old_b.unique_id)


def test_child_rekey_invalid_ke_retry(h):
    net = established(h, a_kw={"pfs": "modp2048"}, b_kw={"pfs": "ecp256", "esp": "aes256gcm16"})
    # a proposes modp2048 only; b insists on ecp256: no common PFS group
    net.feed(net.a, net.a.engine.rekey_child(only_child(net.a).unique_id, net.now))
    net.run()
    assert len(net.a.installed()) == 1  # old one kept
    assert net.b.engine.counters["child net: no proposal chosen"] == 1


def test_new_child_on_existing_ike_sa(h):
    second_a = ChildConfig(
        "voice",
        (TrafficSelector.from_network("10.1.5.0/24"),),
        (TrafficSelector.from_network("10.2.5.0/24"),),
    )
    second_b = ChildConfig(
        "voice",
        (TrafficSelector.from_network("10.2.5.0/24"),),
        (TrafficSelector.from_network("10.1.5.0/24"),),
    )
    net = h.pair()
    base_a = net.a.engine.peers["to-b"]
    base_b = net.b.engine.peers["to-a"]
    net.a.engine.peers["to-b"] = replace(base_a, children=(*base_a.children, second_a))
    net.b.engine.peers["to-a"] = replace(base_b, children=(second_b, *base_b.children))
    net.feed(net.a, net.a.engine.initiate("to-b", "net", net.now))
    net.run()
    net.feed(net.a, net.a.engine.initiate("to-b", "voice", net.now))
    net.run()
    assert len(net.a.installed()) == 2 and len(net.b.installed()) == 2
    names = sorted(c.child for c in net.b.installed().values())
    assert names == ["net", "voice"]
    assert len(net.a.of(IkeEstablished)) == 1
    # asking again for an existing child is a no-op
    assert net.a.engine.initiate("to-b", "voice", net.now) == []


@pytest.mark.parametrize("who", ["a", "b"])
def test_ike_rekey_moves_children(h, who):
    net = established(h)
    side = net.side(who)
    old_ref = ike_ref(side)
    ca, cb = only_child(net.a), only_child(net.b)
    net.now = 60.0
    net.feed(side, side.engine.rekey_ike(old_ref, net.now))
    net.run()
    for s in (net.a, net.b):
        (rk,) = s.of(IkeRekeyed)
        assert rk.old == old_ref and rk.new != old_ref
        assert rk.established.ike_sa == rk.new
        (d,) = s.of(IkeDeleted)
        assert d.ike_sa == old_ref and d.reason is Reason.REKEYED
        assert len(s.engine.sessions) == 1
        assert s.of(DeleteChild) == []
    assert only_child(net.a) == ca and only_child(net.b) == cb
    new_ref = net.a.of(IkeRekeyed)[0].new
    assert net.b.of(IkeRekeyed)[0].new == new_ref
    # the rekey initiator is the new SA's initiator
    assert net.side(who).of(IkeRekeyed)[0].established.initiator
    # the new IKE SA works: rekey the child over it, then a liveness check
    net.feed(net.a, net.a.engine.rekey_child(ca.unique_id, net.now))
    net.run()
    assert len(net.a.installed()) == 1 and only_child(net.a).unique_id != ca.unique_id
    assert net.a.of(DeleteChild)[0].ike_sa == new_ref
    net.feed(net.b, net.b.engine.liveness_check(new_ref, net.now))
    net.run()
    assert net.b.of(LivenessResult)[0].alive


def test_lifetimes_drive_rekeys(h):
    net = established(h)
    (ea,) = net.a.of(IkeEstablished)
    ca = only_child(net.a)
    assert 3600 * 0.8 <= ca.lifetime.soft_seconds <= 3600 * 0.9
    assert ca.lifetime.hard_seconds == 3600
    assert 28800 * 0.8 <= ea.rekey_at <= 28800 * 0.9
    net.advance(4 * 3600.0)
    # children were rekeyed before expiring, never torn down
    assert len(net.a.installed()) == 1 and len(net.b.installed()) == 1
    assert all(d.reason is Reason.REKEYED for d in net.a.of(DeleteChild))
    assert len(net.a.of(DeleteChild)) >= 4
    net.advance(30000.0)
    assert len(net.a.of(IkeRekeyed)) >= 1 and len(net.b.of(IkeRekeyed)) >= 1
    assert len(net.a.installed()) == 1 and h.mirrored(only_child(net.a), only_child(net.b))
    assert net.a.of(PeerDead) == [] and net.b.of(PeerDead) == []


def test_kernel_expire_soft_rekeys_hard_deletes(h):
    net = established(h)
    ca = only_child(net.a)
    net.feed(net.a, net.a.engine.child_expired(ca.spi_out, False, net.now))
    net.run()
    new = only_child(net.a)
    assert new.unique_id != ca.unique_id
    net.feed(net.a, net.a.engine.child_expired(new.spi_in, True, net.now))
    net.run()
    assert net.a.installed() == {} and net.b.installed() == {}
    assert net.a.of(DeleteChild)[-1].reason is Reason.EXPIRED
    assert net.a.engine.child_expired(12345, True, net.now) == []
    assert net.a.engine.counters["expire for an unknown child SA"] == 1


def test_reauthentication_is_make_before_break(h):
    net = established(h, a_kw={"reauth": True}, b_kw={"lifetime_seconds": 36000})
    old_ref = ike_ref(net.a)
    (sa,) = net.a.engine.sessions.values()
    net.advance(sa.rekey_at - 1)
    old_a, old_b = only_child(net.a), only_child(net.b)
    mark_a, mark_b = len(net.a.events), len(net.b.events)
    net.advance(sa.rekey_at + 10)
    assert net.a.engine.counters["reauthentication started"] == 1
    assert len(net.a.of(IkeEstablished)) == 2 and len(net.b.of(IkeEstablished)) == 2
    new_ref = net.a.of(IkeEstablished)[1].ike_sa
    assert new_ref != old_ref
    for s, old, mark in ((net.a, old_a, mark_a), (net.b, old_b, mark_b)):
        (gone,) = s.of(IkeDeleted)
        assert gone.ike_sa == old_ref
        assert gone.reason is (Reason.REAUTH if s is net.a else Reason.PEER_DELETED)
        new = only_child(s)
        assert new.ike_sa == new_ref and new.reqid == old.reqid
        kinds = [
            (type(e).__name__, e.unique_id)
            for e in s.events[mark:]
            if isinstance(e, InstallChild | DeleteChild)
        ]
        # the new child is up before the old one goes
        assert kinds == [("InstallChild", new.unique_id), ("DeleteChild", old.unique_id)]
    assert h.mirrored(only_child(net.a), only_child(net.b))
    assert len(net.a.engine.sessions) == 1 and len(net.b.engine.sessions) == 1


def test_tfc_padding_allowed_only_when_configured_and_accepted(h):
    net = h.pair()
    for side, peer in ((net.a, "to-b"), (net.b, "to-a")):
        conf = side.engine.peers[peer]
        side.engine.peers[peer] = replace(
            conf, children=(replace(conf.children[0], tfc_padding=True),)
        )
    net.feed(net.a, net.a.engine.initiate("to-b", "net", net.now))
    net.run()
    assert only_child(net.a).tfc_padding and only_child(net.b).tfc_padding


def test_transport_mode_refuses_tfc_padding(h):
    net = h.pair()
    for side, peer in ((net.a, "to-b"), (net.b, "to-a")):
        conf = side.engine.peers[peer]
        child = replace(conf.children[0], tfc_padding=True, mode=Mode.TRANSPORT)
        side.engine.peers[peer] = replace(conf, children=(child,))
    net.feed(net.a, net.a.engine.initiate("to-b", "net", net.now))
    net.run()
    assert not only_child(net.a).tfc_padding and not only_child(net.b).tfc_padding


def test_ike_hard_expiry_deletes_with_the_peer(h):
    net = established(h)
    # every IKE rekey attempt is refused: the SA reaches its hard lifetime
    (sb,) = net.b.engine.sessions.values()
    sb.peer = replace(sb.peer, proposals=(h.parse_proposal("aes128-sha256-modp2048"),))
    net.b.engine.peers["to-a"] = replace(net.b.engine.peers["to-a"], lifetime_seconds=10**6)
    sb.rekey_at = None
    sb.expire_at = None
    net.advance(28800 + 1)
    assert net.a.engine.counters["IKE rekey refused by the peer"] >= 1
    for side in (net.a, net.b):
        (d,) = side.of(IkeDeleted)
        assert d.reason is (Reason.EXPIRED if side is net.a else Reason.PEER_DELETED)
        assert side.installed() == {} and side.engine.sessions == {}


def test_child_deleted_by_the_peer_before_our_create_response_arrives(h):
    """b answers a's CREATE_CHILD_SA (the response is lost), then deletes that child; a learns
    of the child only from the retransmitted answer and must not install what b has deleted."""
    net = established(h)
    (ref,) = [e.ike_sa for e in net.a.of(IkeEstablished)]
    second = ChildConfig(
        name="second",
        local_ts=(TrafficSelector.from_network("10.1.5.0/24"),),
        remote_ts=(TrafficSelector.from_network("10.2.5.0/24"),),
    )
    (sa,) = net.a.engine.sessions.values()
    net.feed(net.a, sa.initiate_child(second, net.now))
    net.step()  # b creates the child and answers
    net.queue.clear()  # the answer is lost
    (first_b, new_b) = net.b.of(InstallChild)
    net.feed(net.b, net.b.engine.delete_child(new_b.unique_id, net.now))
    net.run()  # a does not know the child yet
    assert net.a.engine.counters["delete for an unknown child SA"] == 1
    net.advance(net.now + 5.0)  # a retransmits, b answers from its cache
    assert net.b.engine.counters["retransmitted request answered from cache"] == 1
    assert net.a.of(ChildFailed) == [
        ChildFailed(ref, "second", Reason.PEER_DELETED, "deleted by the peer meanwhile")
    ]
    assert net.a.engine.counters["child SA deleted by the peer before its creation completed"] == 1
    ((only_a,), (only_b,)) = (net.a.installed().values(), net.b.installed().values())
    assert only_b == first_b and h.mirrored(only_a, only_b)


def test_rekey_of_a_child_whose_create_response_is_still_missing_is_retried(h):
    """b answers a's CREATE_CHILD_SA (the response is lost) and at once rekeys that child; a,
    not knowing it yet, asks b to retry (TEMPORARY_FAILURE) instead of CHILD_SA_NOT_FOUND."""
    net = established(h)
    second = ChildConfig(
        name="second",
        local_ts=(TrafficSelector.from_network("10.1.5.0/24"),),
        remote_ts=(TrafficSelector.from_network("10.2.5.0/24"),),
    )
    (sa,) = net.a.engine.sessions.values()
    net.feed(net.a, sa.initiate_child(second, net.now))
    net.step()
    net.queue.clear()
    (_, new_b) = net.b.of(InstallChild)
    net.feed(net.b, net.b.engine.rekey_child(new_b.unique_id, net.now))
    net.run()
    assert net.a.engine.counters["rekey of a child SA not known yet"] == 1
    net.advance(net.now + 10.0)  # a retransmits and installs; b retries its rekey
    assert [d.reason for d in net.a.of(DeleteChild)] == [Reason.REKEYED]
    assert [d.reason for d in net.b.of(DeleteChild)] == [Reason.REKEYED]
    live_a, live_b = net.a.installed(), net.b.installed()
    assert len(live_a) == len(live_b) == 2
    for x in live_a.values():
        assert any(h.mirrored(x, y) for y in live_b.values())
    rekeyed = [x for x in live_b.values() if x.rekey_of == new_b.unique_id]
    assert len(rekeyed) == 1
