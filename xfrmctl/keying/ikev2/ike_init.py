"""IKE_SA_INIT (RFC 7296 1.2): proposals, DH, nonces, COOKIE and INVALID_KE_PAYLOAD retries,
NAT detection (2.23) and the fragmentation / signature-hash capability notifies.

The responder part is stateless until it has chosen a proposal and the KE group fits: errors
(NO_PROPOSAL_CHOSEN, INVALID_KE_PAYLOAD, INVALID_SYNTAX) are answered without creating an SA.
"""

from __future__ import annotations

from collections.abc import Sequence

from xfrmctl.keying.auth import encode_hash_algorithms, parse_hash_algorithms
from xfrmctl.keying.constants import ExchangeType, NotifyType
from xfrmctl.keying.dh import DhKeyPair, dh_group
from xfrmctl.keying.errors import CryptoError, ParseError, UnknownTransform
from xfrmctl.keying.ikev2 import certauth, ike_auth, wire
from xfrmctl.keying.ikev2.actions import Action, Endpoint, Reason, Send
from xfrmctl.keying.ikev2.crypto import IkeCrypto
from xfrmctl.keying.ikev2.nat import behind_nat, forced_hash, nat_hash
from xfrmctl.keying.ikev2.proposals import accept_answer, select
from xfrmctl.keying.ikev2.session import Ikev2Session, Phase, SessionContext, Task, notify_error
from xfrmctl.keying.ikev2.settings import CertAuth, PeerConfig
from xfrmctl.keying.transforms import Transform

MAX_INIT_RETRIES = 3


def _signature_hashes() -> bytes:
    return encode_hash_algorithms()


def _nat_notifies(
    s: Ikev2Session, spi_r: int, local: Endpoint, remote: Endpoint
) -> list[wire.Payload]:
    if s.peer.force_encap:
        src = forced_hash(s.spi_i, spi_r, local[0], local[1], s.ctx.rng(8))
    else:
        src = nat_hash(s.spi_i, spi_r, local[0], local[1])
    dst = nat_hash(s.spi_i, spi_r, remote[0], remote[1])
    return [
        wire.notify(NotifyType.NAT_DETECTION_SOURCE_IP, src),
        wire.notify(NotifyType.NAT_DETECTION_DESTINATION_IP, dst),
    ]


def _capability_notifies(peer: PeerConfig) -> list[wire.Payload]:
    out: list[wire.Payload] = []
    if peer.fragmentation:
        out.append(wire.notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED))
    out.append(wire.notify(NotifyType.SIGNATURE_HASH_ALGORITHMS, _signature_hashes()))
    return out


def _detect_nat(
    s: Ikev2Session, msg: wire.Inbound, spi_r: int, local: Endpoint, remote: Endpoint
) -> None:
    srcs = [n.data for n in msg.notifies(NotifyType.NAT_DETECTION_SOURCE_IP)]
    dsts = [n.data for n in msg.notifies(NotifyType.NAT_DETECTION_DESTINATION_IP)]
    s.nat_remote = behind_nat(srcs, s.spi_i, spi_r, remote[0], remote[1])
    s.nat_local = behind_nat(dsts, s.spi_i, spi_r, local[0], local[1]) or s.peer.force_encap


def _peer_hashes(msg: wire.Inbound) -> tuple[int, ...]:
    n = msg.notify(NotifyType.SIGNATURE_HASH_ALGORITHMS)
    if n is None:
        return ()
    try:
        return parse_hash_algorithms(n.data)
    except ParseError:
        return ()


class IkeInitTask(Task):
    exchange = ExchangeType.IKE_SA_INIT
    name = "ike_init"

    def __init__(self, peer: PeerConfig) -> None:
        self.group: Transform = peer.proposals[0].dh[0]
        self.keypair: DhKeyPair | None = None
        self.cookie = b""
        self.retries = 0

    def build(self, s: Ikev2Session, now: float) -> list[wire.Payload] | None:
        if self.keypair is None:
            self.keypair = dh_group(self.group.ike_id).generate(s.ctx.rng)
        if not s.ni:
            s.ni = s.ctx.nonce()
        payloads: list[wire.Payload] = []
        if self.cookie:
            payloads.append(wire.notify(NotifyType.COOKIE, self.cookie))
        payloads += [
            wire.sa_payload([(i + 1, p, b"") for i, p in enumerate(s.peer.proposals)]),
            wire.ke(self.group.ike_id, self.keypair.public),
            wire.nonce(s.ni),
        ]
        payloads += _nat_notifies(s, 0, s.local, s.remote)
        payloads += _capability_notifies(s.peer)
        return payloads

    def _retry(self, s: Ikev2Session, now: float) -> None:
        s.window = type(s.window)()  # the retry is a new first request, message ID 0 again
        s.queue_task(self, now, front=True)

    def on_response(self, s: Ikev2Session, msg: wire.Inbound, now: float) -> None:
        cookie = msg.notify(NotifyType.COOKIE)
        if cookie is not None:
            if self.retries >= MAX_INIT_RETRIES or not 1 <= len(cookie.data) <= 64:
                s.fail(Reason.PEER_ERROR, "responder keeps demanding COOKIEs")
                return
            self.retries += 1
            self.cookie = cookie.data
            self._retry(s, now)
            return
        invalid_ke = msg.notify(NotifyType.INVALID_KE_PAYLOAD)
        if invalid_ke is not None:
            wanted = int.from_bytes(invalid_ke.data[:2], "big") if len(invalid_ke.data) == 2 else 0
            ours = [g for p in s.peer.proposals for g in p.dh]
            match = [g for g in ours if g.ike_id == wanted]
            if not match or wanted == self.group.ike_id or self.retries >= MAX_INIT_RETRIES:
                s.fail(Reason.INVALID_KE_PAYLOAD, f"responder wants DH group {wanted}")
                return
            self.retries += 1
            self.group = match[0]
            self.keypair = None
            self._retry(s, now)
            return
        error = msg.error_notify()
        if error is not None:
            s.fail(notify_error(error), "in IKE_SA_INIT response")
            return
        offered = msg.sa()
        if offered is None or len(offered) != 1 or msg.spi_r == 0:
            s.fail(Reason.INVALID_SYNTAX, "IKE_SA_INIT response without one proposal")
            return
        chosen = accept_answer(s.peer.proposals, offered[0])
        if chosen is None or chosen.dh is None:
            s.fail(Reason.NO_PROPOSAL_CHOSEN, "responder chose a proposal we did not offer")
            return
        ke = msg.ke()
        nr = msg.nonce()
        if ke is None or nr is None or ke[0] != chosen.dh.ike_id or chosen.dh != self.group:
            s.fail(Reason.INVALID_SYNTAX, "KE or nonce missing or of the wrong group")
            return
        assert self.keypair is not None
        try:
            shared = self.keypair.shared_secret(ke[1])
        except CryptoError as exc:
            s.fail(Reason.CRYPTO_FAILURE, f"invalid DH public value: {exc}")
            return
        s.spi_r = msg.spi_r
        s.nr = nr
        s.init_response = msg.raw
        s.chosen = chosen
        s.peer_fragmentation = msg.notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED) is not None
        s.peer_hashes = _peer_hashes(msg)
        _detect_nat(s, msg, s.spi_r, s.local, s.remote)
        s.crypto = IkeCrypto.derive(chosen, s.ni, s.nr, shared, spi_i=s.spi_i, spi_r=s.spi_r,
                                    initiator=True, rng=s.ctx.rng)  # fmt: skip
        s.phase = Phase.AUTH
        if s.nat_local or s.nat_remote:
            s.move_to_nat_t_port()
        s.queue_task(ike_auth.IkeAuthTask(), now, front=True)

    def on_give_up(self, s: Ikev2Session, now: float) -> None:
        s.fail(Reason.PEER_NOT_RESPONDING, "no IKE_SA_INIT response")


def stateless_reply(
    msg: wire.Inbound, payloads: Sequence[wire.Payload], local: Endpoint, remote: Endpoint
) -> Send:
    header = wire.Header(
        spi_i=msg.spi_i,
        spi_r=0,
        exchange=ExchangeType.IKE_SA_INIT,
        mid=0,
        response=True,
        initiator=False,
    )
    return Send(wire.encode_plain(header, payloads), local, remote)


def respond(
    ctx: SessionContext,
    candidates: tuple[PeerConfig, ...],
    msg: wire.Inbound,
    *,
    local: Endpoint,
    remote: Endpoint,
    now: float,
) -> tuple[Ikev2Session | None, list[Action]]:
    """Answer an IKE_SA_INIT request; a session only when the exchange succeeds."""
    peer = candidates[0]
    offered = msg.sa()
    ke = msg.ke()
    ni = msg.nonce()
    if offered is None or ke is None or ni is None:
        ctx.count("IKE_SA_INIT without SA, KE or nonce")
        err = [wire.notify(NotifyType.INVALID_SYNTAX)]
        return None, [stateless_reply(msg, err, local, remote)]
    chosen = select(peer.proposals, offered)
    if chosen is None or chosen.dh is None:
        ctx.count("no proposal chosen")
        err = [wire.notify(NotifyType.NO_PROPOSAL_CHOSEN)]
        return None, [stateless_reply(msg, err, local, remote)]
    if ke[0] != chosen.dh.ike_id:
        ctx.count("invalid KE payload")
        data = chosen.dh.ike_id.to_bytes(2, "big")
        err = [wire.notify(NotifyType.INVALID_KE_PAYLOAD, data)]
        return None, [stateless_reply(msg, err, local, remote)]
    try:
        keypair = dh_group(chosen.dh.ike_id).generate(ctx.rng)
        shared = keypair.shared_secret(ke[1])
    except (CryptoError, UnknownTransform):
        ctx.count("invalid DH public value")
        err = [wire.notify(NotifyType.INVALID_SYNTAX)]
        return None, [stateless_reply(msg, err, local, remote)]
    s = Ikev2Session(
        ctx,
        peer,
        initiator=False,
        spi_i=msg.spi_i,
        spi_r=ctx.new_ike_spi(),
        local=local,
        remote=remote,
        now=now,
        candidates=candidates,
    )
    s.ni = ni
    s.nr = ctx.nonce()
    s.chosen = chosen
    s.init_request = msg.raw
    s.peer_fragmentation = msg.notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED) is not None
    s.peer_hashes = _peer_hashes(msg)
    _detect_nat(s, msg, 0, local, remote)
    payloads: list[wire.Payload] = [
        wire.sa_payload([(chosen.number, chosen.as_proposal(), b"")]),
        wire.ke(chosen.dh.ike_id, keypair.public),
        wire.nonce(s.nr),
    ]
    payloads += _nat_notifies(s, s.spi_r, local, remote)
    if s.peer_fragmentation and peer.fragmentation:
        payloads.append(wire.notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED))
    payloads.append(wire.notify(NotifyType.SIGNATURE_HASH_ALGORITHMS, _signature_hashes()))
    if isinstance(peer.auth, CertAuth) and peer.send_certreq:
        certreq = certauth.certreq_payload(peer.auth)
        if certreq is not None:
            payloads.append(certreq)
    datagrams = s.encode(ExchangeType.IKE_SA_INIT, 0, response=True, payloads=payloads)
    s.init_response = datagrams[0]
    s.window.request_answered(0, datagrams)
    s.crypto = IkeCrypto.derive(chosen, s.ni, s.nr, shared, spi_i=s.spi_i, spi_r=s.spi_r,
                                initiator=False, rng=ctx.rng)  # fmt: skip
    s.phase = Phase.AUTH
    s.half_open_until = now + ctx.settings.half_open_timeout
    s.send(datagrams)
    return s, s.drain()
