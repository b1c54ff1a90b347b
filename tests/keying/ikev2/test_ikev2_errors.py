"""Every error notify the engine sends or handles, with hand-made peers."""

from dataclasses import replace
from typing import Any

import pytest

from xfrmctl.keying.constants import ExchangeType, NotifyType, ProtocolId
from xfrmctl.keying.ikev2 import wire
from xfrmctl.keying.ikev2.actions import (
    ChildFailed,
    IkeDeleted,
    IkeEstablished,
    IkeFailed,
    IkeSaRef,
    InstallChild,
    Reason,
    Send,
)
from xfrmctl.keying.ikev2.child import ChildState
from xfrmctl.keying.ikev2.engine import EngineError, Ikev2Engine
from xfrmctl.keying.ikev2.identity import Identity
from xfrmctl.keying.ikev2.session import Phase
from xfrmctl.keying.ikev2.settings import (
    MIN_LIFETIME_SECONDS,
    ChildConfig,
    ConfigError,
    EngineSettings,
    Mode,
    PskAuth,
)
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.keying.message import parse_message
from xfrmctl.keying.payloads import NotifyPayload
from xfrmctl.keying.transforms import by_name, parse_proposal

A = ("192.0.2.1", 500)
B = ("198.51.100.2", 500)


def established(h: Any, **kw: Any) -> Any:
    net = h.pair(**kw)
    net.feed(net.a, net.a.engine.initiate("to-b", "net", net.now))
    net.run()
    assert len(net.a.of(IkeEstablished)) == 1
    return net


def only_send(actions: list[Any]) -> Any:
    (send,) = actions
    assert isinstance(send, Send)
    return parse_message(send.data)


def ndata(msg: Any, kind: NotifyType) -> bytes:
    n = msg.notify(kind)
    assert n is not None
    return bytes(n.data)


def notify_types(msg: Any) -> list[int]:
    return [p.notify_type for p in msg.payloads if isinstance(p, NotifyPayload)]


# ---------------------------------------------------------------- IKE_SA_INIT, initiator side


def start(h: Any, **kw: Any) -> tuple[Ikev2Engine, wire.Inbound]:
    peer = h.psk_peer("to-b", A[0], B[0], **kw)
    eng = Ikev2Engine([peer], h.Rng("init"))
    eng.raise_internal_errors = True
    (send,) = [a for a in eng.initiate("to-b", "net", 0.0) if isinstance(a, Send)]
    return eng, wire.Inbound.parse(send.data)


def answer(
    eng: Ikev2Engine, req: wire.Inbound, payloads: list[Any], spi_r: int = 0x1234
) -> list[Any]:
    hdr = wire.Header(req.spi_i, spi_r, ExchangeType.IKE_SA_INIT, 0, response=True, initiator=False)
    return eng.receive(wire.encode_plain(hdr, payloads), A, B, 1.0)


def failure(actions: list[Any]) -> IkeFailed:
    (f,) = [a for a in actions if isinstance(a, IkeFailed)]
    return f


def test_invalid_ke_for_a_group_we_do_not_offer(h):
    eng, req = start(h)
    acts = answer(
        eng, req, [wire.notify(NotifyType.INVALID_KE_PAYLOAD, (21).to_bytes(2, "big"))], 0
    )
    assert failure(acts).reason is Reason.INVALID_KE_PAYLOAD
    assert eng.sessions == {}


def test_cookie_loop_gives_up(h):
    eng, req = start(h)
    for _ in range(3):
        acts = answer(eng, req, [wire.notify(NotifyType.COOKIE, b"c" * 16)], 0)
        (resend,) = [a for a in acts if isinstance(a, Send)]
        again = parse_message(resend.data)
        assert again.payloads[0] == wire.notify(NotifyType.COOKIE, b"c" * 16)
    acts = answer(eng, req, [wire.notify(NotifyType.COOKIE, b"c" * 16)], 0)
    assert failure(acts).reason is Reason.PEER_ERROR


def test_error_notify_in_init_response(h):
    eng, req = start(h)
    acts = answer(eng, req, [wire.notify(NotifyType.TEMPORARY_FAILURE)], 0)
    assert failure(acts).reason is Reason.TEMPORARY_FAILURE


def good_sa(proposal: str = "aes256gcm16-prfsha256-x25519") -> Any:
    return wire.sa_payload([(1, parse_proposal(proposal), b"")])


def test_response_with_unoffered_proposal(h):
    eng, req = start(h)
    acts = answer(
        eng, req, [good_sa("aes128-sha1-modp2048"), wire.ke(14, b"\1" * 256), wire.nonce(b"n" * 32)]
    )
    assert failure(acts).reason is Reason.NO_PROPOSAL_CHOSEN


def test_response_without_sa(h):
    eng, req = start(h)
    acts = answer(eng, req, [wire.nonce(b"n" * 32)])
    assert failure(acts).reason is Reason.INVALID_SYNTAX


def test_response_with_ke_of_other_group(h):
    eng, req = start(h, ike="aes256gcm16-prfsha256-x25519-ecp256")
    acts = answer(
        eng,
        req,
        [good_sa("aes256gcm16-prfsha256-ecp256"), wire.ke(19, b"\1" * 64), wire.nonce(b"n" * 32)],
    )
    assert failure(acts).reason is Reason.INVALID_SYNTAX


def test_response_with_invalid_dh_value(h):
    eng, req = start(h)
    acts = answer(eng, req, [good_sa(), wire.ke(31, b"\0" * 32), wire.nonce(b"n" * 32)])
    assert failure(acts).reason is Reason.CRYPTO_FAILURE


def test_unexpected_and_unknown_packets_are_counted(h):
    eng, req = start(h)
    hdr = wire.Header(req.spi_i, 5, ExchangeType.INFORMATIONAL, 3, response=True, initiator=False)
    assert eng.receive(wire.encode_plain(hdr, []), A, B, 1.0) == []
    hdr = wire.Header(99, 5, ExchangeType.INFORMATIONAL, 0, response=False, initiator=True)
    assert eng.receive(wire.encode_plain(hdr, []), A, B, 1.0) == []
    assert eng.counters["unknown IKE SPI"] == 1
    assert eng.counters["unexpected response"] == 1


# ---------------------------------------------------------------- IKE_SA_INIT, responder side


def init_request(h: Any, payloads: list[Any], spi_i: int = 0xABCD) -> bytes:
    hdr = wire.Header(spi_i, 0, ExchangeType.IKE_SA_INIT, 0, response=False, initiator=True)
    return wire.encode_plain(hdr, payloads)


def b_engine(h: Any, **kw: Any) -> Ikev2Engine:
    peer = h.psk_peer("to-a", B[0], A[0], local_ts="10.2.0.0/16", remote_ts="10.1.0.0/16", **kw)
    eng = Ikev2Engine([peer], h.Rng("resp"))
    eng.raise_internal_errors = True
    return eng


@pytest.mark.parametrize(
    ("payloads", "notify"),
    [
        ([wire.nonce(b"n" * 32)], NotifyType.INVALID_SYNTAX),
        ([good_sa(), wire.ke(31, b"\x09" + b"\0" * 31), wire.nonce(b"n" * 32)], None),
        ([good_sa(), wire.ke(31, b"\0" * 32), wire.nonce(b"n" * 32)], NotifyType.INVALID_SYNTAX),
        (
            [good_sa("aes128-sha1-modp2048"), wire.ke(14, b"\2" * 256), wire.nonce(b"n" * 32)],
            NotifyType.NO_PROPOSAL_CHOSEN,
        ),
        (
            [
                good_sa("aes256gcm16-prfsha256-ecp256-x25519"),
                wire.ke(19, b"\2" * 64),
                wire.nonce(b"n" * 32),
            ],
            NotifyType.INVALID_KE_PAYLOAD,
        ),
    ],
)
def test_responder_init_errors(h, payloads, notify):
    eng = b_engine(h)
    (send,) = eng.receive(init_request(h, payloads), B, A, 0.0)
    assert isinstance(send, Send)
    msg = parse_message(send.data)
    if notify is None:
        assert eng.half_open == 1
        return
    assert notify_types(msg) == [notify]
    assert int.from_bytes(msg.header.spi_r, "big") == 0
    assert eng.sessions == {} and eng.half_open == 0
    if notify is NotifyType.INVALID_KE_PAYLOAD:
        assert ndata(msg, notify) == (31).to_bytes(2, "big")


def test_unsupported_critical_payload_and_major_version(h):
    eng = b_engine(h)
    good = init_request(h, [good_sa(), wire.nonce(b"n" * 32)])
    # append an unknown critical payload after the nonce
    body = bytearray(good)
    nonce_off = len(body) - (4 + 32)
    body[nonce_off] = 200  # nonce's next payload -> unknown type 200
    body += bytes([0, 0x80, 0, 4])
    body[24:28] = len(body).to_bytes(4, "big")
    msg = only_send(eng.receive(bytes(body), B, A, 0.0))
    assert notify_types(msg) == [NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD]
    assert ndata(msg, NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD) == bytes([200])
    v3 = bytearray(good)
    v3[17] = 0x30
    assert notify_types(only_send(eng.receive(bytes(v3), B, A, 0.0))) == [
        NotifyType.INVALID_MAJOR_VERSION
    ]
    # a response with a bad version is not answered
    v3[19] = 0x20
    assert eng.receive(bytes(v3), B, A, 0.0) == []
    assert eng.sessions == {}


def test_responder_retransmitted_init_answered_from_cache(h):
    net = h.pair()
    acts = net.a.engine.initiate("to-b", "net", 0.0)
    (send,) = [a for a in acts if isinstance(a, Send)]
    first = net.b.engine.receive(send.data, B, A, 0.0)
    again = net.b.engine.receive(send.data, B, A, 1.0)
    assert [a.data for a in first] == [a.data for a in again]
    assert net.b.engine.half_open == 1


# ---------------------------------------------------------------- CREATE_CHILD_SA responder


def child_payloads(
    h: Any,
    net: Any,
    *,
    rekey_spi: bytes | None = None,
    ke: Any = None,
    esp: str = "aes256gcm16",
    pfs: str | None = None,
    tsi: str = "10.1.0.0/16",
    tsr: str = "10.2.0.0/16",
) -> list[Any]:
    prop = parse_proposal(esp + (f"-{pfs}" if pfs else ""), ProtocolId.ESP)
    out: list[Any] = []
    if rekey_spi is not None:
        out.append(wire.notify(NotifyType.REKEY_SA, protocol=ProtocolId.ESP, spi=rekey_spi))
    out += [wire.sa_payload([(1, prop, b"\x11\x22\x33\x44")]), wire.nonce(b"N" * 32)]
    if ke is not None:
        out.append(ke)
    out += [
        wire.ts_payload(initiator=True, selectors=[TrafficSelector.from_network(tsi)]),
        wire.ts_payload(initiator=False, selectors=[TrafficSelector.from_network(tsr)]),
    ]
    return out


def test_create_child_errors(h):
    net = established(h)
    inject = h.inject
    # TS_UNACCEPTABLE
    r = inject(net, "a", ExchangeType.CREATE_CHILD_SA, child_payloads(h, net, tsi="172.16.0.0/12"))
    assert notify_types(r) == [NotifyType.TS_UNACCEPTABLE]
    # NO_PROPOSAL_CHOSEN
    r = inject(net, "a", ExchangeType.CREATE_CHILD_SA, child_payloads(h, net, esp="aes128-sha1"))
    assert notify_types(r) == [NotifyType.NO_PROPOSAL_CHOSEN]
    # PFS demanded by the peer, not configured here
    r = inject(
        net,
        "a",
        ExchangeType.CREATE_CHILD_SA,
        child_payloads(h, net, pfs="x25519", ke=wire.ke(31, b"\x09" * 32)),
    )
    assert notify_types(r) == [NotifyType.NO_PROPOSAL_CHOSEN]
    # rekey of an SA b does not have
    r = inject(
        net, "a", ExchangeType.CREATE_CHILD_SA, child_payloads(h, net, rekey_spi=b"\0\0\0\1")
    )
    assert notify_types(r) == [NotifyType.CHILD_SA_NOT_FOUND]
    assert r.notify(NotifyType.CHILD_SA_NOT_FOUND).spi == b"\0\0\0\1"
    # no nonce
    r = inject(
        net,
        "a",
        ExchangeType.CREATE_CHILD_SA,
        [wire.sa_payload([(1, parse_proposal("aes256gcm16", ProtocolId.ESP), b"1234")])],
    )
    assert notify_types(r) == [NotifyType.INVALID_SYNTAX]
    # no SA/TS
    r = inject(net, "a", ExchangeType.CREATE_CHILD_SA, [wire.nonce(b"N" * 32)])
    assert notify_types(r) == [NotifyType.INVALID_SYNTAX]
    assert len(net.b.installed()) == 1  # nothing new was installed


def test_create_child_invalid_ke_with_pfs(h):
    net = established(h, a_kw={"pfs": "ecp256"}, b_kw={"pfs": "ecp256"})
    r = h.inject(
        net,
        "a",
        ExchangeType.CREATE_CHILD_SA,
        child_payloads(h, net, pfs="ecp256-x25519", ke=wire.ke(31, b"\x09" * 32)),
    )
    assert notify_types(r) == [NotifyType.INVALID_KE_PAYLOAD]
    assert ndata(r, NotifyType.INVALID_KE_PAYLOAD) == (19).to_bytes(2, "big")


def test_child_rekey_initiator_retries_after_invalid_ke(h):
    net = established(
        h, a_kw={"pfs": "x25519", "esp": "aes256gcm16-x25519-ecp256"}, b_kw={"pfs": "ecp256"}
    )
    (s,) = net.a.engine.sessions.values()
    uid = next(iter(s.children))
    net.feed(net.a, net.a.engine.rekey_child(uid, net.now))
    net.run()
    new = list(net.a.installed().values())
    assert len(new) == 1 and new[0].unique_id != uid and new[0].dh_group == 19
    assert net.b.engine.counters["child net: no proposal chosen"] == 0


def test_rekey_of_child_being_deleted_gets_temporary_failure(h):
    net = established(h)
    (sb,) = net.b.engine.sessions.values()
    (child_b,) = sb.children.values()
    child_b.state = ChildState.DELETING
    r = h.inject(
        net,
        "a",
        ExchangeType.CREATE_CHILD_SA,
        child_payloads(h, net, rekey_spi=child_b.spi_out.to_bytes(4, "big")),
    )
    assert notify_types(r) == [NotifyType.TEMPORARY_FAILURE]


def test_ike_rekey_responder_errors(h):
    net = established(h)
    inject = h.inject

    def ike(text: str, spi: bytes = b"\x01" * 8) -> Any:
        return wire.sa_payload([(1, parse_proposal(text), spi)])

    r = inject(
        net,
        "a",
        ExchangeType.CREATE_CHILD_SA,
        [ike("aes128-sha1-modp2048"), wire.nonce(b"N" * 32), wire.ke(14, b"\2" * 256)],
    )
    assert notify_types(r) == [NotifyType.NO_PROPOSAL_CHOSEN]
    r = inject(
        net,
        "a",
        ExchangeType.CREATE_CHILD_SA,
        [ike("aes256gcm16-prfsha256-x25519"), wire.nonce(b"N" * 32), wire.ke(19, b"\2" * 64)],
    )
    assert notify_types(r) == [NotifyType.INVALID_KE_PAYLOAD]
    r = inject(
        net,
        "a",
        ExchangeType.CREATE_CHILD_SA,
        [
            ike("aes256gcm16-prfsha256-x25519", b""),
            wire.nonce(b"N" * 32),
            wire.ke(31, b"\x09" * 32),
        ],
    )
    assert notify_types(r) == [NotifyType.INVALID_SYNTAX]
    r = inject(
        net,
        "a",
        ExchangeType.CREATE_CHILD_SA,
        [ike("aes256gcm16-prfsha256-x25519"), wire.ke(31, b"\x09" * 32)],
    )
    assert notify_types(r) == [NotifyType.INVALID_SYNTAX]
    r = inject(
        net,
        "a",
        ExchangeType.CREATE_CHILD_SA,
        [ike("aes256gcm16-prfsha256-x25519"), wire.nonce(b"N" * 32), wire.ke(31, b"\0" * 32)],
    )
    assert notify_types(r) == [NotifyType.NO_PROPOSAL_CHOSEN]
    assert len(net.b.engine.sessions) == 1


def test_ike_rekey_while_child_exchange_active_is_temporary_failure(h):
    net = established(h)
    (sb,) = net.b.engine.sessions.values()
    uid = next(iter(sb.children))
    # b starts a child rekey but its request is not delivered yet
    acts = net.b.engine.rekey_child(uid, net.now)
    assert any(isinstance(a, Send) for a in acts)
    r = h.inject(
        net,
        "a",
        ExchangeType.CREATE_CHILD_SA,
        [
            wire.sa_payload([(1, parse_proposal("aes256gcm16-prfsha256-x25519"), b"\1" * 8)]),
            wire.nonce(b"N" * 32),
            wire.ke(31, b"\x09" * 32),
        ],
    )
    assert notify_types(r) == [NotifyType.TEMPORARY_FAILURE]


def test_informational_from_peer(h):
    net = established(h)
    # delete of an unknown child: counted, empty answer
    r = h.inject(net, "a", ExchangeType.INFORMATIONAL, [wire.delete(ProtocolId.ESP, [b"\0\0\0\7"])])
    assert r.payloads == ()
    assert net.b.engine.counters["delete for an unknown child SA"] == 1
    # AUTHENTICATION_FAILED from the initiator tears the SA down
    h.inject(net, "a", ExchangeType.INFORMATIONAL, [wire.notify(NotifyType.AUTHENTICATION_FAILED)])
    assert net.b.engine.sessions == {}
    assert net.b.installed() == {}


def test_requests_before_establishment_are_dropped(h):
    net = h.pair()
    acts = net.a.engine.initiate("to-b", "net", 0.0)
    net.feed(net.a, acts)
    net.step()  # b answered IKE_SA_INIT; a has not seen it yet
    (sb,) = net.b.engine.sessions.values()
    # an INFORMATIONAL from a "peer" that knows the SPIs but not the keys
    hdr = wire.Header(
        sb.spi_i, sb.spi_r, ExchangeType.INFORMATIONAL, 1, response=False, initiator=True
    )
    assert net.b.engine.receive(wire.encode_plain(hdr, []), B, A, 0.5) == []
    assert (
        net.b.engine.counters["dropped: ParseError"] == 1
        or net.b.engine.counters["invalid syntax in protected payload"] == 1
        or net.b.engine.counters["request outside the message-ID window"] == 1
    )


def test_commands_on_unknown_things(h):
    net = established(h)
    with pytest.raises(EngineError):
        net.a.engine.initiate("nope", None, 0.0)
    with pytest.raises(EngineError):
        net.a.engine.rekey_child(999, 0.0)
    with pytest.raises(EngineError):
        net.a.engine.liveness_check(IkeSaRef(1, 2), 0.0)
    with pytest.raises(EngineError):
        Ikev2Engine([net.a.engine.peers["to-b"]] * 2, h.Rng("x"))
    # initiating an existing child or the IKE SA alone is a no-op
    assert net.a.engine.initiate("to-b", "net", 0.0) == []
    assert net.a.engine.initiate("to-b", None, 0.0) == []
    # a responder-only peer cannot initiate
    dyn = h.psk_peer("dyn", B[0], None)
    with pytest.raises(EngineError):
        Ikev2Engine([dyn], h.Rng("y")).initiate("dyn", "net", 0.0)


def test_acquire_puts_packet_selectors_first(h):
    net = h.pair()
    pkt_l = TrafficSelector.from_network("10.1.2.3", 6, 1234)
    pkt_r = TrafficSelector.from_network("10.2.3.4", 6, 80)
    net.feed(net.a, net.a.engine.acquire("to-b", "net", 0.0, local_ts=pkt_l, remote_ts=pkt_r))
    net.run()
    (ca,) = net.a.of(InstallChild)
    assert [str(t) for t in ca.local_ts] == ["10.1.0.0/16"]
    # a second acquire while the SA is up does nothing
    assert net.a.engine.acquire("to-b", "net", 1.0, local_ts=pkt_l, remote_ts=pkt_r) == []


def test_initial_contact_replaces_old_sa(h):
    net = established(h)
    old_ref = next(iter(net.b.engine.sessions.values())).ref
    # a reboots: a fresh engine with the same configuration connects again
    net.a.engine = Ikev2Engine(list(net.a.engine.peers.values()), h.Rng("a-reboot"))
    net.a.events.clear()
    net.feed(net.a, net.a.engine.initiate("to-b", "net", 5.0))
    net.run()
    (gone,) = net.b.of(IkeDeleted)
    assert gone.ike_sa == old_ref and gone.reason is Reason.REPLACED
    assert len(net.b.engine.sessions) == 1
    assert len(net.b.installed()) == 1 and h.mirrored(
        *net.a.installed().values(), *net.b.installed().values()
    )


def test_child_failed_in_create_child_sa_reported(h):
    net = established(h)
    extra = ChildConfig(
        "dmz",
        (TrafficSelector.from_network("10.1.9.0/24"),),
        (TrafficSelector.from_network("172.16.0.0/24"),),
    )
    peer = net.a.engine.peers["to-b"]
    net.a.engine.peers["to-b"] = replace(peer, children=(*peer.children, extra))
    (s,) = net.a.engine.sessions.values()
    s.peer = net.a.engine.peers["to-b"]
    net.feed(net.a, net.a.engine.initiate("to-b", "dmz", 1.0))
    net.run()
    (cf,) = net.a.of(ChildFailed)
    assert cf.child == "dmz" and cf.reason is Reason.TS_UNACCEPTABLE


def test_settings_reject_nonsense(h):
    with pytest.raises(ConfigError):
        PskAuth(b"")
    with pytest.raises(ConfigError):
        ChildConfig("")
    with pytest.raises(ConfigError):
        ChildConfig("x", lifetime_seconds=MIN_LIFETIME_SECONDS - 1)
    with pytest.raises(ConfigError):
        ChildConfig("x", rekey_margin=0.6, rekey_jitter=0.5)
    with pytest.raises(ConfigError):
        h.psk_peer("p", A[0], B[0], lifetime_seconds=MIN_LIFETIME_SECONDS - 1)
    with pytest.raises(ConfigError):
        h.psk_peer("p", A[0], B[0], fragment_size=100)
    peer = h.psk_peer("p", A[0], B[0])
    with pytest.raises(ConfigError):
        peer.child("nope")
    assert by_name("x25519").ike_id == 31
    assert EngineSettings().half_open_limit == 1000


def auth_request_in_flight(h: Any) -> Any:
    """A pair where a's IKE_AUTH request is in flight (b answered IKE_SA_INIT)."""
    net = h.pair()
    net.feed(net.a, net.a.engine.initiate("to-b", "net", 0.0))
    net.step()
    net.step()
    return net


def b_answers(h: Any, net: Any, payloads: list[Any]) -> Any:
    """Replace a's in-flight IKE_AUTH by a hand-made one (same SA, same message ID)."""
    (pkt,) = [p for p in net.queue if p.src == "a"]
    net.queue.remove(pkt)
    sa = h.session_of(net.a)
    msg = wire.Inbound.parse(pkt.data)
    hdr = wire.Header(sa.spi_i, sa.spi_r, msg.exchange, msg.mid, response=False, initiator=True)
    (data,) = sa.crypto.protect(hdr, payloads, fragment_size=None)
    replies = []
    for act in net.b.engine.receive(data, pkt.dest, pkt.source, net.now):
        if isinstance(act, Send):
            replies.append(act)
        else:
            net.b.events.append(act)
    (reply,) = replies
    return sa.crypto.unprotect(wire.Inbound.parse(reply.data), sa.reassembler, net.now)


def test_ike_auth_without_auth_payload(h):
    net = auth_request_in_flight(h)
    r = b_answers(h, net, [wire.id_payload(initiator=True, identity=Identity.parse(A[0]))])
    assert notify_types(r) == [NotifyType.INVALID_SYNTAX]
    assert net.b.of(IkeFailed)[0].reason is Reason.INVALID_SYNTAX
    assert net.b.engine.sessions == {}


def test_ike_auth_identity_without_configuration(h):
    net = auth_request_in_flight(h)
    r = b_answers(
        h,
        net,
        [
            wire.id_payload(initiator=True, identity=Identity.parse("who.example")),
            wire.auth(2, b"\0" * 32),
        ],
    )
    assert notify_types(r) == [NotifyType.AUTHENTICATION_FAILED]
    assert net.b.of(IkeFailed)[0].reason is Reason.NO_MATCHING_PEER


def test_child_request_refusals_in_create_child_sa(h):
    net = established(h)
    # transport mode configured here, tunnel requested
    (sb,) = net.b.engine.sessions.values()
    child = replace(sb.peer.children[0], mode=Mode.TRANSPORT)
    sb.peer = replace(sb.peer, children=(child,))
    r = h.inject(net, "a", ExchangeType.CREATE_CHILD_SA, child_payloads(h, net))
    assert notify_types(r) == [NotifyType.NO_PROPOSAL_CHOSEN]
    assert net.b.of(ChildFailed)[-1].detail == "child net needs transport mode"
    sb.peer = replace(sb.peer, children=(replace(child, mode=Mode.TUNNEL),))
    # an ESP proposal without a 4-byte SPI
    payloads = child_payloads(h, net)
    payloads[0] = wire.sa_payload([(1, parse_proposal("aes256gcm16", ProtocolId.ESP), b"")])
    r = h.inject(net, "a", ExchangeType.CREATE_CHILD_SA, payloads)
    assert notify_types(r) == [NotifyType.INVALID_SYNTAX]


def test_pfs_child_with_invalid_dh_value(h):
    net = established(h, a_kw={"pfs": "x25519"}, b_kw={"pfs": "x25519"})
    r = h.inject(
        net,
        "a",
        ExchangeType.CREATE_CHILD_SA,
        child_payloads(h, net, pfs="x25519", ke=wire.ke(31, b"\0" * 32)),
    )
    assert notify_types(r) == [NotifyType.NO_PROPOSAL_CHOSEN]
    assert net.b.of(ChildFailed)[-1].detail == "invalid DH public value"


def test_create_child_on_a_rekeyed_ike_sa_is_temporary_failure(h):
    net = established(h)
    (sb,) = net.b.engine.sessions.values()
    sb.phase = Phase.REKEYED
    r = h.inject(net, "a", ExchangeType.CREATE_CHILD_SA, child_payloads(h, net))
    assert notify_types(r) == [NotifyType.TEMPORARY_FAILURE]
