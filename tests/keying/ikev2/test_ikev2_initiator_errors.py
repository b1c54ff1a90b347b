"""How the initiator of CREATE_CHILD_SA / IKE_AUTH handles every kind of response, including
broken ones, from a scripted responder."""

from dataclasses import replace
from typing import Any

import pytest

from xfrmctl.keying.constants import NotifyType, ProtocolId
from xfrmctl.keying.ikev2 import wire
from xfrmctl.keying.ikev2.actions import (
    ChildFailed,
    DeleteChild,
    IkeEstablished,
    IkeFailed,
    IkeRekeyed,
    InstallChild,
    Reason,
)
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.keying.transforms import parse_proposal


def established(h: Any, **kw: Any) -> Any:
    net = h.pair(**kw)
    net.feed(net.a, net.a.engine.initiate("to-b", "net", net.now))
    net.run()
    assert len(net.a.of(IkeEstablished)) == 1
    return net


def start_child_rekey(h: Any, net: Any) -> InstallChild:
    old: InstallChild
    (old,) = net.a.installed().values()
    net.feed(net.a, net.a.engine.rekey_child(old.unique_id, net.now))
    return old


def esp_answer(spi: bytes = b"\x01\x02\x03\x04", text: str = "aes256gcm16") -> Any:
    return wire.sa_payload([(1, parse_proposal(text, ProtocolId.ESP), spi)])


def ts_pair(tsi: str = "10.1.0.0/16", tsr: str = "10.2.0.0/16") -> list[Any]:
    return [
        wire.ts_payload(initiator=True, selectors=[TrafficSelector.from_network(tsi)]),
        wire.ts_payload(initiator=False, selectors=[TrafficSelector.from_network(tsr)]),
    ]


@pytest.mark.parametrize(
    ("payloads", "reason"),
    [
        ([wire.notify(NotifyType.NO_PROPOSAL_CHOSEN)], Reason.NO_PROPOSAL_CHOSEN),
        ([wire.notify(NotifyType.TS_UNACCEPTABLE)], Reason.TS_UNACCEPTABLE),
        ([esp_answer(), *ts_pair()], Reason.INVALID_SYNTAX),  # no nonce
        (
            [esp_answer(text="aes128-sha1"), wire.nonce(b"R" * 32), *ts_pair()],
            Reason.NO_PROPOSAL_CHOSEN,
        ),
        ([esp_answer(b""), wire.nonce(b"R" * 32), *ts_pair()], Reason.NO_PROPOSAL_CHOSEN),
        ([wire.nonce(b"R" * 32), *ts_pair()], Reason.INVALID_SYNTAX),
    ],
)
def test_child_rekey_refusals_keep_the_old_child(h, payloads, reason):
    net = established(h)
    old = start_child_rekey(h, net)
    h.scripted_reply(net, payloads)
    (cf,) = net.a.of(ChildFailed)
    assert cf.reason is reason
    assert list(net.a.installed()) == [old.unique_id]


def test_child_answer_widening_selectors_is_refused_and_deleted(h):
    net = established(h)
    start_child_rekey(h, net)
    h.scripted_reply(net, [esp_answer(), wire.nonce(b"R" * 32), *ts_pair("0.0.0.0/0")])
    (cf,) = net.a.of(ChildFailed)
    assert cf.reason is Reason.TS_UNACCEPTABLE
    req = h.request_in_flight(net)  # a asks b to delete what b installed
    (dele,) = req.deletes()
    assert dele[0] is ProtocolId.ESP


def test_child_answer_mode_mismatch(h):
    net = established(h)
    start_child_rekey(h, net)
    h.scripted_reply(
        net,
        [
            wire.notify(NotifyType.USE_TRANSPORT_MODE),
            esp_answer(),
            wire.nonce(b"R" * 32),
            *ts_pair(),
        ],
    )
    assert net.a.of(ChildFailed)[0].reason is Reason.USE_TRANSPORT_MODE


@pytest.mark.parametrize(
    ("ke", "reason"),
    [(None, Reason.INVALID_SYNTAX), (wire.ke(31, b"\0" * 32), Reason.CRYPTO_FAILURE)],
)
def test_pfs_answer_problems(h, ke, reason):
    net = established(h, a_kw={"pfs": "x25519"}, b_kw={"pfs": "x25519"})
    start_child_rekey(h, net)
    payloads = [esp_answer(text="aes256gcm16-x25519"), wire.nonce(b"R" * 32)]
    if ke is not None:
        payloads.append(ke)
    h.scripted_reply(net, payloads + ts_pair())
    assert net.a.of(ChildFailed)[0].reason is reason


def test_temporary_failure_retries_later(h):
    net = established(h)
    old = start_child_rekey(h, net)
    h.scripted_reply(net, [wire.notify(NotifyType.TEMPORARY_FAILURE)])
    assert list(net.a.installed()) == [old.unique_id]
    net.advance(net.now + 10)
    (new,) = net.a.installed().values()
    assert new.unique_id != old.unique_id


def test_child_sa_not_found_drops_our_child(h):
    net = established(h)
    old = start_child_rekey(h, net)
    h.scripted_reply(net, [wire.notify(NotifyType.CHILD_SA_NOT_FOUND)])
    (d,) = net.a.of(DeleteChild)
    assert d.unique_id == old.unique_id and d.reason is Reason.CHILD_SA_NOT_FOUND


def start_ike_rekey(net: Any) -> Any:
    (s,) = net.a.engine.sessions.values()
    net.feed(net.a, net.a.engine.rekey_ike(s.ref, net.now))
    return s


def ike_answer(text: str = "aes256gcm16-prfsha256-x25519", spi: bytes = b"\7" * 8) -> Any:
    return wire.sa_payload([(1, parse_proposal(text), spi)])


@pytest.mark.parametrize(
    ("payloads", "counter"),
    [
        ([wire.notify(NotifyType.TEMPORARY_FAILURE)], "IKE rekey: peer busy (TEMPORARY_FAILURE)"),
        ([wire.notify(NotifyType.NO_PROPOSAL_CHOSEN)], "IKE rekey refused by the peer"),
        ([ike_answer(), wire.nonce(b"R" * 32)], "IKE rekey response incomplete"),
        (
            [ike_answer("aes128-sha256-modp2048"), wire.nonce(b"R" * 32), wire.ke(14, b"\2" * 256)],
            "IKE rekey response does not match our proposal",
        ),
        (
            [ike_answer(spi=b""), wire.nonce(b"R" * 32), wire.ke(31, b"\x09" * 32)],
            "IKE rekey response does not match our proposal",
        ),
        (
            [ike_answer(), wire.nonce(b"R" * 32), wire.ke(31, b"\0" * 32)],
            "IKE rekey: invalid DH public value",
        ),
    ],
)
def test_ike_rekey_failures_keep_the_sa_and_retry(h, payloads, counter):
    net = established(h)
    s = start_ike_rekey(net)
    h.scripted_reply(net, payloads)
    assert net.a.engine.counters[counter] == 1
    assert list(net.a.engine.sessions.values()) == [s] and s.established
    assert s.rekey_at is not None and 30.0 <= s.rekey_at - net.now <= 60.0


def test_ike_rekey_invalid_ke_retry(h):
    net = established(
        h,
        a_kw={"ike": "aes256gcm16-prfsha256-x25519-ecp256"},
        b_kw={"ike": "aes256gcm16-prfsha256-x25519-ecp256"},
    )
    (sb,) = net.b.engine.sessions.values()
    assert sb.chosen.dh.name == "x25519"
    # b now prefers ecp256: a's x25519 KE in the rekey is answered with INVALID_KE_PAYLOAD
    sb.peer = replace(sb.peer, proposals=(parse_proposal("aes256gcm16-prfsha256-ecp256-x25519"),))
    start_ike_rekey(net)
    net.run()
    assert net.b.engine.counters["IKE rekey: invalid KE payload"] == 1
    (sa,) = net.a.engine.sessions.values()
    assert sa.chosen.dh.name == "ecp256"
    assert len(net.a.of(IkeRekeyed)) == 1


@pytest.mark.parametrize(
    ("payloads", "reason"),
    [
        ([wire.notify(NotifyType.INVALID_SYNTAX)], Reason.INVALID_SYNTAX),
        ([wire.nonce(b"x" * 32)], Reason.INVALID_SYNTAX),
    ],
)
def test_ike_auth_response_without_identity(h, payloads, reason):
    net = h.pair()
    net.feed(net.a, net.a.engine.initiate("to-b", "net", net.now))
    net.step()  # IKE_SA_INIT request to b
    net.step()  # b's answer to a; a sends IKE_AUTH
    h.scripted_reply(net, payloads)
    (f,) = net.a.of(IkeFailed)
    assert f.reason is reason
