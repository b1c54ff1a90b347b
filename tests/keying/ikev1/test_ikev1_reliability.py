"""Lost and duplicated datagrams: retransmission, duplicate answers, give-up."""

import pytest

from xfrmctl.keying.ikev1.settings import ExchangeMode
from xfrmctl.keying.ikev2.actions import (
    ChildFailed,
    IkeEstablished,
    IkeFailed,
    InstallChild,
    Reason,
)


def _drop_nth(n):
    seen = {"count": 0}

    def tamper(pkt):
        seen["count"] += 1
        return [] if seen["count"] == n + 1 else [pkt]

    return tamper


@pytest.mark.parametrize("mode", [ExchangeMode.MAIN, ExchangeMode.AGGRESSIVE])
@pytest.mark.parametrize("lost", range(9))
def test_any_single_lost_message_is_recovered(v1, mode, lost):
    net = v1.pair(a_kw={"mode": mode}, b_kw={"mode": mode})
    net.tamper = _drop_nth(lost)
    net.feed(net.a, net.a.engine.initiate("to-b", "vpn", net.now))
    net.run()
    net.advance(net.now + 60)
    assert len(net.a.of(IkeEstablished)) == 1 and len(net.b.of(IkeEstablished)) == 1
    ca, cb = list(net.a.installed().values()), list(net.b.installed().values())
    assert len(ca) == 1 and len(cb) == 1 and v1.mirrored(ca[0], cb[0])
    assert not net.a.of(IkeFailed) and not net.b.of(IkeFailed)


def test_every_message_duplicated_gives_one_sa_each(v1):
    net = v1.pair()
    net.tamper = lambda pkt: [pkt, pkt]
    net.feed(net.a, net.a.engine.initiate("to-b", "vpn", net.now))
    net.run()
    assert len(net.a.of(IkeEstablished)) == 1 and len(net.b.of(IkeEstablished)) == 1
    assert len(net.a.of(InstallChild)) == 1 and len(net.b.of(InstallChild)) == 1
    assert net.b.engine.counters["retransmitted phase-1 message answered"] >= 2


def test_silent_peer_gives_up_after_the_retransmit_schedule(v1):
    net = v1.pair()
    net.tamper = lambda pkt: []
    net.feed(net.a, net.a.engine.initiate("to-b", "vpn", net.now))
    start = net.now
    net.advance(start + 200)
    (failed,) = net.a.of(IkeFailed)
    assert failed.reason is Reason.PEER_NOT_RESPONDING
    (child,) = net.a.of(ChildFailed)
    assert child.child == "vpn"
    # 1 send + 5 retransmissions (4, 7.2, 12.96, 23.3, 42 s), then give-up
    assert len(net.sent) == 6
    assert net.a.engine.next_deadline() is None


def test_half_open_responder_is_dropped(v1):
    net = v1.pair()
    net.tamper = lambda pkt: [pkt] if pkt.src == "a" and len(net.sent) == 1 else []
    net.feed(net.a, net.a.engine.initiate("to-b", "vpn", net.now))
    net.run()
    assert len(net.b.engine.sas) == 1
    net.advance(net.now + 31)
    assert not net.b.engine.sas
