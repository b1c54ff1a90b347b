"""Rekeys, deletes, expiry and DPD: phase 1 and phase 2 live independently (spec §3.5)."""

from dataclasses import replace

from xfrmctl.keying.ikev1.constants import (
    NATT_PORT,
    VID_NATT_DRAFT_03,
    VID_RFC3947,
    Exchange,
    PayloadType,
)
from xfrmctl.keying.ikev1.wire import Message, encode_chain, encode_message
from xfrmctl.keying.ikev2.actions import (
    ChildFailed,
    DeleteChild,
    IkeDeleted,
    IkeEstablished,
    IkeFailed,
    IkeRekeyed,
    InstallChild,
    LivenessResult,
    PeerDead,
    Reason,
)
from xfrmctl.keying.ikev2.identity import Identity
from xfrmctl.keying.ikev2.settings import PskAuth


def up(v1, **kw):
    net = v1.pair(**kw)
    net.feed(net.a, net.a.engine.initiate("to-b", "vpn", net.now))
    net.run()
    assert len(net.a.of(InstallChild)) == 1
    return net


def test_soft_expiry_rekeys_and_the_old_pair_is_deleted_on_both_sides(v1):
    net = up(v1)
    (old_a,) = net.a.of(InstallChild)
    net.feed(net.a, net.a.engine.child_expired(old_a.spi_in, False, net.now))
    net.run()
    (new_a,) = net.a.installed().values()
    (new_b,) = net.b.installed().values()
    assert v1.mirrored(new_a, new_b)
    assert new_a.rekey_of == old_a.unique_id and new_a.reqid == old_a.reqid
    assert new_a.spi_in != old_a.spi_in
    (del_a,) = net.a.of(DeleteChild)
    (del_b,) = net.b.of(DeleteChild)
    assert del_a.reason is Reason.REKEYED and del_a.spi_in == old_a.spi_in
    assert del_b.reason is Reason.PEER_DELETED and del_b.spi_out == old_a.spi_in
    # a second soft expiry of the replaced SA does not rekey again
    assert net.a.engine.child_expired(old_a.spi_out, False, net.now) == []


def test_both_sides_rekey_at_once(v1):
    net = up(v1)
    (old_a,) = net.a.of(InstallChild)
    (old_b,) = net.b.of(InstallChild)
    net.feed(net.a, net.a.engine.child_expired(old_a.spi_in, False, net.now))
    net.feed(net.b, net.b.engine.child_expired(old_b.spi_in, False, net.now))
    net.run()
    live_a, live_b = net.a.installed(), net.b.installed()
    assert old_a.unique_id not in live_a and old_b.unique_id not in live_b
    assert len(live_a) == len(live_b) >= 1
    for x in live_a.values():
        assert any(v1.mirrored(x, y) for y in live_b.values())
    assert not net.a.of(ChildFailed) and not net.b.of(ChildFailed)


def test_phase1_rekey_keeps_phase2_and_later_rekeys_use_the_new_isakmp_sa(v1):
    net = up(v1)
    (est,) = net.a.of(IkeEstablished)
    net.advance(est.rekey_at + 1)
    rekeyed = net.a.of(IkeRekeyed) + net.b.of(IkeRekeyed)
    assert rekeyed and rekeyed[0].old == est.ike_sa
    if net.a.of(IkeRekeyed):  # the peer learns of the old SA's end through a DELETE
        assert [d.reason for d in net.b.of(IkeDeleted)] == [Reason.PEER_DELETED]
        assert not net.a.of(IkeDeleted)
    assert not net.a.of(DeleteChild) and not net.b.of(DeleteChild)
    assert len(net.a.installed()) == 1
    new_ref = rekeyed[0].new
    (child,) = net.a.installed().values()
    net.feed(net.a, net.a.engine.child_expired(child.spi_in, False, net.now))
    net.run()
    (fresh,) = net.a.installed().values()
    assert fresh.ike_sa in {r.new for r in rekeyed} and fresh.rekey_of == child.unique_id
    assert new_ref in {r.new for r in rekeyed}


def test_phase1_expiry_leaves_phase2_installed_and_a_rekey_starts_a_new_phase1(v1):
    net = up(v1, a_kw={"rekey_margin": 0.0, "rekey_jitter": 0.0},
             b_kw={"rekey_margin": 0.0, "rekey_jitter": 0.0})  # fmt: skip
    net.tamper = lambda pkt: []  # the peers cannot talk while phase 1 expires
    net.advance(net.now + 1801)
    net.tamper = None
    assert net.a.of(IkeDeleted) or net.a.of(IkeRekeyed) or net.a.of(IkeFailed)
    assert not net.a.of(DeleteChild) and len(net.a.installed()) == 1
    assert not [s for s in net.a.engine.sas.values() if s.established]
    (child,) = net.a.installed().values()
    net.feed(net.a, net.a.engine.child_expired(child.spi_in, False, net.now))
    net.run()
    assert len([e for e in net.a.of(IkeEstablished)]) == 2
    (fresh,) = net.a.installed().values()
    assert fresh.rekey_of == child.unique_id


def test_delete_child_reaches_the_peer(v1):
    net = up(v1)
    (c,) = net.a.of(InstallChild)
    net.feed(net.a, net.a.engine.delete_child(c.unique_id, net.now))
    net.run()
    assert net.a.of(DeleteChild)[0].reason is Reason.LOCAL_DELETE
    (d,) = net.b.of(DeleteChild)
    assert d.reason is Reason.PEER_DELETED and not net.b.installed()


def test_delete_ike_keeps_phase2(v1):
    net = up(v1)
    (est,) = net.a.of(IkeEstablished)
    net.feed(net.a, net.a.engine.delete_ike(est.ike_sa, net.now))
    net.run()
    assert net.a.of(IkeDeleted)[0].reason is Reason.LOCAL_DELETE
    assert net.b.of(IkeDeleted)[0].reason is Reason.PEER_DELETED
    assert len(net.a.installed()) == 1 and len(net.b.installed()) == 1


def test_dpd_alive_and_dead(v1):
    net = up(v1)
    (est,) = net.a.of(IkeEstablished)
    net.feed(net.a, net.a.engine.liveness_check(est.ike_sa, net.now))
    net.run()
    (alive,) = net.a.of(LivenessResult)
    assert alive.alive and alive.at == net.now
    net.tamper = lambda pkt: []
    net.feed(net.a, net.a.engine.liveness_check(est.ike_sa, net.now))
    net.advance(net.now + 200)
    results = net.a.of(LivenessResult)
    assert [r.alive for r in results] == [True, False]
    assert net.a.of(PeerDead) and not net.a.installed()
    assert net.a.of(DeleteChild)[0].reason is Reason.PEER_NOT_RESPONDING


def test_responder_lifetime_is_honoured(v1):
    net = up(v1, a_kw={"child_lifetime": 3600}, b_kw={"child_lifetime": 1200})
    (ca,) = net.a.of(InstallChild)
    (cb,) = net.b.of(InstallChild)
    assert ca.lifetime.hard_seconds == cb.lifetime.hard_seconds == 1200
    assert net.a.engine.counters["responder lifetime honoured"] == 1


def test_nat_floats_to_4500_and_encapsulates(v1):
    b_kw = {"remote": v1.NAT_PUBLIC, "remote_id": Identity.parse(v1.A_ADDR)}
    net = up(v1, nat_a=True, b_kw=b_kw)
    (est,) = net.a.of(IkeEstablished)
    assert est.nat_local and not est.nat_remote
    (eb,) = net.b.of(IkeEstablished)
    assert eb.nat_remote and not eb.nat_local
    (ca,) = net.a.of(InstallChild)
    (cb,) = net.b.of(InstallChild)
    assert ca.encap == (NATT_PORT, NATT_PORT)
    assert cb.encap == (NATT_PORT, 40001) and cb.remote == v1.NAT_PUBLIC
    from_a = [p for p in net.sent if p.src == "a"]
    assert [p.dest[1] for p in from_a] == [500, 500, NATT_PORT, NATT_PORT, NATT_PORT]
    assert [p.source[1] for p in net.sent if p.src == "b"] == [500, 500, NATT_PORT, NATT_PORT]


def test_forced_encapsulation_without_nat(v1):
    net = up(v1, a_kw={"force_encap": True})
    (ca,) = net.a.of(InstallChild)
    (cb,) = net.b.of(InstallChild)
    assert ca.encap == cb.encap == (NATT_PORT, NATT_PORT)


def test_no_common_proposal_fails_phase1(v1):
    net = v1.pair(a_kw={"ike": "aes128-sha256-modp2048"})
    net.feed(net.a, net.a.engine.initiate("to-b", "vpn", net.now))
    net.run()
    (f,) = net.a.of(IkeFailed)
    assert f.reason is Reason.NO_PROPOSAL_CHOSEN
    assert net.b.engine.counters["phase 1: no proposal chosen"] == 1


def test_wrong_psk_fails_authentication(v1):
    net = v1.pair(a_kw={"auth": PskAuth(b"not the secret")})
    net.feed(net.a, net.a.engine.initiate("to-b", "vpn", net.now))
    net.run()
    net.advance(net.now + 200)
    assert not net.a.of(IkeEstablished) and not net.b.of(IkeEstablished)
    assert net.a.of(IkeFailed)[0].reason is Reason.PEER_NOT_RESPONDING
    assert net.b.of(IkeFailed)[0].reason is Reason.AUTHENTICATION_FAILED


def test_proxy_id_mismatch_fails_phase2_only(v1):
    net = v1.pair(b_kw={"remote_ts": "10.9.0.0/16"})
    net.feed(net.a, net.a.engine.initiate("to-b", "vpn", net.now))
    net.run()
    assert len(net.a.of(IkeEstablished)) == 1
    (f,) = net.a.of(ChildFailed)
    assert f.reason is Reason.TS_UNACCEPTABLE
    assert not net.a.of(InstallChild) and not net.b.of(InstallChild)


def test_both_sides_rekey_phase1_at_once(v1):
    net = up(v1)
    (ea,) = net.a.of(IkeEstablished)
    (eb,) = net.b.of(IkeEstablished)
    net.feed(net.a, net.a.engine.rekey_ike(ea.ike_sa, net.now))
    net.feed(net.b, net.b.engine.rekey_ike(eb.ike_sa, net.now))
    net.run()
    assert len(net.a.of(IkeRekeyed)) == 1 and len(net.b.of(IkeRekeyed)) == 1
    assert not net.a.of(DeleteChild) and len(net.a.installed()) == 1
    live_a = [s for s in net.a.engine.sas.values() if s.established]
    assert ea.ike_sa not in {s.ref for s in live_a} and live_a
    (c,) = net.a.installed().values()
    net.feed(net.a, net.a.engine.child_expired(c.spi_in, False, net.now))
    net.run()
    (fresh_a,) = net.a.installed().values()
    (fresh_b,) = net.b.installed().values()
    assert v1.mirrored(fresh_a, fresh_b)


def test_nat_traversal_with_a_draft_only_peer(v1):
    """An initiator whose offer lacks the RFC 3947 vendor ID gets the draft-03 dialect."""

    def strip_rfc_vid(pkt):
        msg = Message.decode(pkt.data)
        if msg.header.exchange != Exchange.MAIN or msg.header.encrypted or pkt.src != "a":
            return [pkt]
        kept = [p for p in msg.payloads if p.body != VID_RFC3947]
        h = msg.header
        data = encode_message(h.spi_i, h.spi_r, h.exchange, h.flags, h.message_id,
                              body=encode_chain(kept), first=kept[0].type)  # fmt: skip
        return [replace(pkt, data=data)]

    b_kw = {"remote": v1.NAT_PUBLIC, "remote_id": Identity.parse(v1.A_ADDR)}
    net = v1.pair(nat_a=True, b_kw=b_kw)
    net.tamper = strip_rfc_vid
    net.feed(net.a, net.a.engine.initiate("to-b", "vpn", net.now))
    net.run()
    (ca,) = net.a.of(InstallChild)
    (cb,) = net.b.of(InstallChild)
    assert v1.mirrored(ca, cb) and ca.encap == (NATT_PORT, NATT_PORT)
    (sa_b,) = net.b.engine.sas.values()
    assert sa_b.natt_draft and sa_b.natt_vid == VID_NATT_DRAFT_03
    nat_d_types = {p.type for pkt in net.sent[:4] for p in Message.decode(pkt.data).payloads}
    assert PayloadType.NAT_D_DRAFT in nat_d_types and PayloadType.NAT_D not in nat_d_types
