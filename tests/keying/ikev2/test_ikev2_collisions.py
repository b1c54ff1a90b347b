"""Simultaneous rekeys (RFC 7296 2.8.1, 2.8.2, 2.25), and packet loss, duplication, reordering."""

from typing import Any

import pytest

from xfrmctl.keying.ikev2.actions import (
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
from xfrmctl.keying.message import parse_message

SEEDS = [str(i) for i in range(8)]


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


def settled(h: Any, net: Any) -> None:
    """Exactly one child pair, mirrored; one IKE SA each; every install was deleted or is live."""
    ca, cb = only_child(net.a), only_child(net.b)
    assert h.mirrored(ca, cb)
    assert len(net.a.engine.sessions) == 1 and len(net.b.engine.sessions) == 1
    (sa,) = net.a.engine.sessions.values()
    (sb,) = net.b.engine.sessions.values()
    assert sa.ref == sb.ref
    assert list(sa.children) == [ca.unique_id] and list(sb.children) == [cb.unique_id]
    assert sa.active is None and sb.active is None and not sa.queue and not sb.queue
    for side in (net.a, net.b):
        installs = {e.unique_id for e in side.of(InstallChild)}
        deletes = [e.unique_id for e in side.of(DeleteChild)]
        assert len(deletes) == len(set(deletes)), "a child deleted twice"
        assert set(deletes) | {only_child(side).unique_id} == installs, "orphaned child SA"


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("pfs", [None, "x25519"])
def test_simultaneous_child_rekey(h, seed, pfs):
    net = established(h, seed=seed, a_kw={"pfs": pfs}, b_kw={"pfs": pfs})
    old_a, old_b = only_child(net.a), only_child(net.b)
    net.feed(net.a, net.a.engine.rekey_child(old_a.unique_id, net.now))
    net.feed(net.b, net.b.engine.rekey_child(old_b.unique_id, net.now))
    net.run()
    settled(h, net)
    new_a = only_child(net.a)
    assert new_a.unique_id != old_a.unique_id
    lost = (
        net.a.engine.counters["child rekey collision lost"]
        + net.b.engine.counters["child rekey collision lost"]
    )
    won = (
        net.a.engine.counters["child rekey collision won"]
        + net.b.engine.counters["child rekey collision won"]
    )
    assert (lost, won) == (1, 1)
    # both sides installed two new SAs; the redundant one went, with the old one
    assert len(net.a.of(InstallChild)) == 3 and len(net.a.of(DeleteChild)) == 2
    reasons = sorted(d.reason.value for d in net.a.of(DeleteChild) + net.b.of(DeleteChild))
    assert reasons.count(Reason.REKEYED.value) == 2


@pytest.mark.parametrize("seed", SEEDS[:4])
@pytest.mark.parametrize("late", ["a", "b"])
def test_child_rekey_collision_with_delayed_request(h, seed, late):
    """One side's request arrives only after the other side's exchange completed."""
    net = established(h, seed=seed)
    old_a, old_b = only_child(net.a), only_child(net.b)
    held: list[Any] = []

    def hold(pkt: Any) -> list[Any]:
        msg = parse_message(pkt.data)
        if pkt.src == late and not msg.header.is_response and not held:
            held.append(pkt)
            return []
        return [pkt]

    net.tamper = hold
    net.feed(net.a, net.a.engine.rekey_child(old_a.unique_id, net.now))
    net.feed(net.b, net.b.engine.rekey_child(old_b.unique_id, net.now))
    net.run()
    net.tamper = None
    net.queue.extend(held)
    net.run()
    net.advance(net.now + 30)
    settled(h, net)


@pytest.mark.parametrize("seed", SEEDS)
def test_simultaneous_ike_rekey(h, seed):
    net = established(h, seed=seed)
    ca, cb = only_child(net.a), only_child(net.b)
    (old,) = net.a.engine.sessions.values()
    old_ref = old.ref
    net.feed(net.a, net.a.engine.rekey_ike(old_ref, net.now))
    net.feed(net.b, net.b.engine.rekey_ike(old_ref, net.now))
    net.run()
    settled(h, net)
    assert only_child(net.a) == ca and only_child(net.b) == cb
    (sa,) = net.a.engine.sessions.values()
    assert sa.ref != old_ref
    lost = (
        net.a.engine.counters["IKE rekey collision lost"]
        + net.b.engine.counters["IKE rekey collision lost"]
    )
    assert lost == 1
    for side in (net.a, net.b):
        assert side.of(DeleteChild) == []
        deleted = {d.ike_sa for d in side.of(IkeDeleted)}
        assert old_ref in deleted and sa.ref not in deleted
        assert side.of(IkeRekeyed)[-1].new == sa.ref
    # the surviving SA is fully usable
    net.feed(net.a, net.a.engine.liveness_check(sa.ref, net.now))
    net.run()
    assert net.a.of(LivenessResult)[0].alive


@pytest.mark.parametrize("seed", SEEDS[:4])
def test_ike_rekey_collides_with_child_rekey(h, seed):
    net = established(h, seed=seed)
    ca = only_child(net.a)
    (old,) = net.b.engine.sessions.values()
    net.feed(net.a, net.a.engine.rekey_child(ca.unique_id, net.now))
    net.feed(net.b, net.b.engine.rekey_ike(old.ref, net.now))
    net.run()
    net.advance(net.now + 120)
    settled(h, net)
    (sa,) = net.a.engine.sessions.values()
    assert sa.ref != old.ref
    assert only_child(net.a).unique_id != ca.unique_id


@pytest.mark.parametrize("drop_index", range(6))
def test_loss_of_any_handshake_packet_is_recovered(h, drop_index):
    net = h.pair()
    count = [0]

    def drop_nth(pkt: Any) -> list[Any]:
        count[0] += 1
        return [] if count[0] == drop_index + 1 else [pkt]

    net.tamper = drop_nth
    net.feed(net.a, net.a.engine.initiate("to-b", "net", net.now))
    net.run()
    net.advance(30.0)
    assert len(net.a.of(IkeEstablished)) == 1 and len(net.b.of(IkeEstablished)) == 1
    settled(h, net)


def test_duplicated_packets_are_harmless(h):
    net = h.pair()
    net.tamper = lambda pkt: [pkt, pkt]
    net.feed(net.a, net.a.engine.initiate("to-b", "net", net.now))
    net.run(max_rounds=200)
    old_a = only_child(net.a)
    net.feed(net.a, net.a.engine.rekey_child(old_a.unique_id, net.now))
    net.run(max_rounds=200)
    net.feed(net.b, net.b.engine.rekey_ike(next(iter(net.b.engine.sessions.values())).ref, net.now))
    net.run(max_rounds=200)
    settled(h, net)
    assert len(net.a.of(IkeEstablished)) == 1 and len(net.b.of(IkeEstablished)) == 1
    assert net.b.engine.counters["retransmitted request answered from cache"] >= 1
    assert net.a.engine.counters["unexpected response"] >= 1


def test_reordered_packets(h):
    net = established(h)
    # both ends start exchanges; deliver every round in reverse order
    orig_run = net.run

    def reversed_run(max_rounds: int = 100) -> None:
        rounds = 0
        while net.queue:
            rounds += 1
            assert rounds < max_rounds
            batch, net.queue = net.queue[::-1], []
            for pkt in batch:
                net._deliver_one(pkt)

    net.run = reversed_run
    ca, cb = only_child(net.a), only_child(net.b)
    (s,) = net.a.engine.sessions.values()
    net.feed(net.a, net.a.engine.rekey_child(ca.unique_id, net.now))
    net.feed(net.b, net.b.engine.liveness_check(s.ref, net.now))
    net.feed(net.b, net.b.engine.rekey_child(cb.unique_id, net.now))
    net.run()
    net.advance(net.now + 60)
    net.run = orig_run
    settled(h, net)


def test_initiator_gives_up_when_responder_is_silent(h):
    net = h.pair()
    net.tamper = lambda pkt: [] if pkt.src == "b" else [pkt]
    net.feed(net.a, net.a.engine.initiate("to-b", "net", net.now))
    net.run()
    net.advance(29.0)
    # b keeps the half-open SA only until its timeout
    assert net.b.engine.half_open == 1
    net.advance(31.0)
    assert net.b.engine.half_open == 0 and net.b.engine.sessions == {}
    assert net.b.engine.counters["half-open SA timed out"] == 1
    net.advance(200.0)
    (fail,) = net.a.of(IkeFailed)
    assert fail.reason is Reason.PEER_NOT_RESPONDING
    assert net.a.engine.sessions == {}
    assert net.b.events == []


def test_responder_peer_dead_during_delete(h):
    net = established(h)
    net.tamper = lambda pkt: [] if pkt.src == "a" else [pkt]
    (s,) = net.b.engine.sessions.values()
    net.feed(net.b, net.b.engine.delete_ike(s.ref, net.now))
    net.run()
    net.advance(200.0)
    (d,) = net.b.of(IkeDeleted)
    assert d.reason is Reason.LOCAL_DELETE
    assert net.b.of(PeerDead) == []
    assert net.b.installed() == {}


def lose_first_response_of_a_collision(net: Any) -> None:
    """Both rekey; a's request reaches b, b's answer to it is lost, b's own request goes on."""
    net.step_one = None
    first = net.queue.pop(0)  # a's request
    net._deliver_one(first)  # b answers it (queued last)
    answer = net.queue.pop()  # ... and that answer is lost
    assert parse_message(answer.data).header.is_response


@pytest.mark.parametrize("seed", SEEDS)
def test_child_rekey_collision_with_lost_response(h, seed):
    net = established(h, seed=seed)
    net.feed(net.a, net.a.engine.rekey_child(only_child(net.a).unique_id, net.now))
    net.feed(net.b, net.b.engine.rekey_child(only_child(net.b).unique_id, net.now))
    lose_first_response_of_a_collision(net)
    net.run()
    net.advance(net.now + 400)
    settled(h, net)


@pytest.mark.parametrize("seed", SEEDS)
def test_ike_rekey_collision_with_lost_response(h, seed):
    net = established(h, seed=seed)
    (s,) = net.a.engine.sessions.values()
    net.feed(net.a, net.a.engine.rekey_ike(s.ref, net.now))
    net.feed(net.b, net.b.engine.rekey_ike(s.ref, net.now))
    lose_first_response_of_a_collision(net)
    net.run()
    net.advance(net.now + 400)
    settled(h, net)
