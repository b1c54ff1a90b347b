"""One ISAKMP SA: main or aggressive mode (both roles), its quick modes and informationals.

Retransmission: whoever sent a message that expects an answer retransmits it; a peer's
retransmission (byte-identical to the message we last answered) gets our last answer again without
touching any state, so the CBC IV chains stay in step.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from xfrmctl.keying.cipher import CbcCipher
from xfrmctl.keying.dh import DhKeyPair, dh_group
from xfrmctl.keying.errors import CryptoError, ParseError
from xfrmctl.keying.ikev1 import crypto, ids, proposals
from xfrmctl.keying.ikev1.constants import (
    NATT_PORT,
    VID_DPD,
    VID_NATT_DRAFT_02,
    VID_NATT_DRAFT_02N,
    VID_NATT_DRAFT_03,
    VID_RFC3947,
    AuthMethod,
    CertEncoding,
    Encapsulation,
    Exchange,
    Flag,
    LifeType,
    Notify,
    P2Attr,
    PayloadType,
    Protocol,
)
from xfrmctl.keying.ikev1.proposals import NoProposalChosen
from xfrmctl.keying.ikev1.quick import QuickMode, child_keys
from xfrmctl.keying.ikev1.settings import ExchangeMode, Ikev1PeerConfig, Phase1Proposal
from xfrmctl.keying.ikev1.sigauth import LocalCert, rsa_sign, rsa_verify
from xfrmctl.keying.ikev1.wire import (
    Attribute,
    DeleteBody,
    IdBody,
    Message,
    NotifyBody,
    Payload,
    SaBody,
    decode_attributes,
    encode_attributes,
    encode_chain,
    encode_message,
    split_cert,
)
from xfrmctl.keying.ikev2.actions import (
    Action,
    ChildFailed,
    Endpoint,
    IkeDeleted,
    IkeEstablished,
    IkeFailed,
    IkeSaRef,
    LivenessResult,
    PeerDead,
    Reason,
    Send,
)
from xfrmctl.keying.ikev2.identity import Identity
from xfrmctl.keying.ikev2.retransmit import Retransmitter, TimerVerdict
from xfrmctl.keying.ikev2.settings import CertAuth, ChildConfig, PskAuth
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.keying.transforms import ALL_TRANSFORMS, Transform, TransformType

if TYPE_CHECKING:
    from xfrmctl.keying.ikev1.engine import Ikev1Engine

NONCE_SIZE = 32
HALF_OPEN_TIMEOUT = 30.0


class State(StrEnum):
    I_MM1 = "main mode: SA sent"
    I_MM2 = "main mode: KE sent"
    I_MM3 = "main mode: ID sent"
    R_MM1 = "main mode: SA answered"
    R_MM2 = "main mode: KE answered"
    I_AM1 = "aggressive mode: first message sent"
    R_AM1 = "aggressive mode: answered"
    ESTABLISHED = "established"
    DELETED = "deleted"


class Phase1Failure(Exception):
    """Ends a phase-1 negotiation; `notify` is sent to the peer when keys allow it."""

    def __init__(self, reason: Reason, detail: str, notify: Notify | None = None) -> None:
        super().__init__(detail)
        self.reason = reason
        self.notify = notify


_NATT_DRAFTS = (VID_NATT_DRAFT_03, VID_NATT_DRAFT_02, VID_NATT_DRAFT_02N)

_NOTIFY_REASON = {
    Notify.NO_PROPOSAL_CHOSEN: Reason.NO_PROPOSAL_CHOSEN,
    Notify.AUTHENTICATION_FAILED: Reason.AUTHENTICATION_FAILED,
    Notify.INVALID_HASH_INFORMATION: Reason.AUTHENTICATION_FAILED,
    Notify.INVALID_ID_INFORMATION: Reason.TS_UNACCEPTABLE,
}


def _integ_for(prf: Transform) -> Transform | None:
    return next(
        (t for t in ALL_TRANSFORMS if t.type == TransformType.INTEG and t.hash == prf.hash), None
    )


class IsakmpSa:
    def __init__(  # noqa: PLR0917
        self,
        engine: Ikev1Engine,
        peer: Ikev1PeerConfig | None,
        initiator: bool,
        cky_i: bytes,
        local: Endpoint,
        remote: Endpoint,
        now: float,
    ) -> None:
        self.engine = engine
        self.peer = peer
        self.initiator = initiator
        self.cky_i = cky_i
        self.cky_r = bytes(8)
        self.local = local
        self.remote = remote
        self.created = now
        self.state: State = State.I_MM1
        self.mode = peer.mode if peer else ExchangeMode.MAIN
        self.chosen: Phase1Proposal | None = None
        self.sai_b = b""
        self.dh: DhKeyPair | None = None
        self.g_i = b""
        self.g_r = b""
        self.gxy = b""
        self.ni = b""
        self.nr = b""
        self.keys: crypto.Phase1Keys | None = None
        self.cipher: CbcCipher | None = None
        self.iv = b""
        self.last_block = b""
        self.p2_ivs: dict[int, bytes] = {}
        self.retrans = Retransmitter(peer.retransmit) if peer else Retransmitter(
            engine.default_retransmit
        )  # fmt: skip
        self.last_in = b""
        self.last_out = b""
        self.peer_natt = False
        self.natt_vid = VID_RFC3947
        self.peer_dpd = False
        self.nat_local = False
        self.nat_remote = False
        self.remote_id: Identity | None = None
        self.quick: dict[int, QuickMode] = {}
        self.pending: list[tuple[ChildConfig, int | None]] = []  # quick modes awaiting phase 1
        self.dpd_seq = int.from_bytes(engine.rng(2), "big") + 1
        self.dpd_waiting: set[int] = set()
        self.dpd_retrans = Retransmitter(self.retrans.policy)
        self.established_at = 0.0
        self.rekey_at: float | None = None
        self.expire_at: float | None = None
        self.rekey_of: IsakmpSa | None = None
        self.successor: IsakmpSa | None = None
        self.peer_cert_der: bytes | None = None
        self.undecryptable = False
        self.authenticated_rx: float | None = None  # DPD evidence: last message that verified

    # ------------------------------------------------------------------ identity

    @property
    def ref(self) -> IkeSaRef:
        return IkeSaRef(int.from_bytes(self.cky_i, "big"), int.from_bytes(self.cky_r, "big"))

    @property
    def peer_name(self) -> str:
        return self.peer.name if self.peer else ""

    @property
    def established(self) -> bool:
        return self.state is State.ESTABLISHED

    @property
    def method(self) -> AuthMethod:
        assert self.peer is not None
        return AuthMethod.RSA_SIG if isinstance(self.peer.auth, CertAuth) else AuthMethod.PSK

    @property
    def hash_t(self) -> Transform:
        assert self.chosen is not None
        return self.chosen.hash

    @property
    def natted(self) -> bool:
        return self.nat_local or self.nat_remote

    def next_deadline(self) -> float | None:
        times = [self.retrans.deadline, self.dpd_retrans.deadline, self.rekey_at, self.expire_at]
        times += [q.retrans.deadline for q in self.quick.values()]
        if not self.established and self.state is not State.DELETED:
            times.append(self.created + HALF_OPEN_TIMEOUT * (1 if not self.initiator else 1e9))
        real = [t for t in times if t is not None]
        return min(real) if real else None

    # ------------------------------------------------------------------ sending

    def _message(
        self, exchange: Exchange, msgid: int, payloads: list[Payload], *, encrypt: bool
    ) -> bytes:
        chain = encode_chain(payloads)
        first = payloads[0].type if payloads else 0
        if not encrypt:
            return encode_message(self.cky_i, self.cky_r, exchange, 0, msgid, body=chain,
                                  first=first)  # fmt: skip
        assert self.cipher is not None
        iv = self._iv_for(msgid)
        ct = crypto.encrypt(self.cipher, iv, chain)
        self._set_iv(msgid, ct[-self.cipher.block_size :])
        return encode_message(self.cky_i, self.cky_r, exchange, Flag.ENCRYPTION, msgid,
                              body=ct, first=first)  # fmt: skip

    def _iv_for(self, msgid: int) -> bytes:
        if msgid == 0:
            return self.iv
        if msgid in self.p2_ivs:
            return self.p2_ivs[msgid]
        return crypto.phase2_iv(self.hash_t, len(self.last_block), self.last_block, msgid)

    def _set_iv(self, msgid: int, block: bytes) -> None:
        if msgid == 0:
            self.iv = block
        elif msgid in self.quick:
            self.p2_ivs[msgid] = block

    def _send(self, data: bytes) -> Send:
        return Send(data, self.local, self.remote)

    def _send_expecting(self, data: bytes, now: float) -> list[Action]:
        self.last_out = data
        self.retrans.start((data,), now)
        return [self._send(data)]

    def _reply_final(self, data: bytes) -> list[Action]:
        self.last_out = data
        self.retrans.stop()
        return [self._send(data)]

    def _vendor_ids(self) -> list[Payload]:
        """The initiator offers RFC 3947 and the drafts strongSwan knows; the responder answers
        with the one variant it picked from the initiator's offer."""
        assert self.peer is not None
        out = []
        if self.peer.nat_traversal and self.initiator:
            out += [Payload(PayloadType.VENDOR_ID, v) for v in (VID_RFC3947, *_NATT_DRAFTS)]
        elif self.peer.nat_traversal and self.peer_natt:
            out.append(Payload(PayloadType.VENDOR_ID, self.natt_vid))
        if self.peer.dpd:
            out.append(Payload(PayloadType.VENDOR_ID, VID_DPD))
        return out

    def _read_vendor_ids(self, msg: Message) -> None:
        vids = [p.body for p in msg.all(PayloadType.VENDOR_ID)]
        self.peer_dpd = VID_DPD in vids
        drafts = [v for v in _NATT_DRAFTS if v in vids]
        if VID_RFC3947 in vids:
            self.peer_natt, self.natt_vid = True, VID_RFC3947
        elif drafts:
            self.peer_natt, self.natt_vid = True, drafts[0]
        if self.peer is not None and not self.peer.nat_traversal:
            self.peer_natt = False

    @property
    def natt_draft(self) -> bool:
        return self.peer_natt and self.natt_vid != VID_RFC3947

    @property
    def _nat_d_type(self) -> PayloadType:
        return PayloadType.NAT_D_DRAFT if self.natt_draft else PayloadType.NAT_D

    def _nat_d(self) -> list[Payload]:
        if not self.peer_natt:
            return []
        assert self.peer is not None
        h = self.hash_t
        remote = crypto.nat_d(h, self.cky_i, self.cky_r, self.remote[0], self.remote[1])
        if self.peer.force_encap:
            local = self.engine.rng(len(remote))
        else:
            local = crypto.nat_d(h, self.cky_i, self.cky_r, self.local[0], self.local[1])
        return [Payload(self._nat_d_type, remote), Payload(self._nat_d_type, local)]

    def _check_nat_d(self, msg: Message) -> None:
        hashes = [p.body for p in msg.all(self._nat_d_type)]
        if not self.peer_natt or len(hashes) < 2:
            return
        h = self.hash_t
        mine = crypto.nat_d(h, self.cky_i, self.cky_r, self.local[0], self.local[1])
        theirs = crypto.nat_d(h, self.cky_i, self.cky_r, self.remote[0], self.remote[1])
        self.nat_local = hashes[0] != mine
        self.nat_remote = theirs not in hashes[1:]
        assert self.peer is not None
        if self.peer.force_encap:
            self.nat_local = True

    def _float(self) -> None:
        if self.natted and self.local[1] != NATT_PORT and self.peer_natt:
            self.local = (self.local[0], NATT_PORT)
            self.remote = (self.remote[0], NATT_PORT)

    # ------------------------------------------------------------------ phase 1: initiator

    def start(self, now: float) -> list[Action]:
        assert self.peer is not None
        offer = proposals.phase1_offer(self.peer.proposals, self.method)
        sa = Payload(PayloadType.SA, offer.encode())
        self.sai_b = sa.body
        if self.mode is ExchangeMode.MAIN:
            self.state = State.I_MM1
            payloads = [sa, *self._vendor_ids()]
        else:
            self.state = State.I_AM1
            group = self.peer.proposals[0].dh
            self.dh = dh_group(group.ike_id).generate(self.engine.rng)
            self.g_i = self.dh.public
            self.ni = self.engine.rng(NONCE_SIZE)
            self._own_id_body = ids.identity_body(self._own_identity())
            payloads = [sa, Payload(PayloadType.KE, self.g_i),
                        Payload(PayloadType.NONCE, self.ni),
                        Payload(PayloadType.ID, self._own_id_body.encode()),
                        *self._certreq(), *self._vendor_ids()]  # fmt: skip
        exch = Exchange.MAIN if self.mode is ExchangeMode.MAIN else Exchange.AGGRESSIVE
        return self._send_expecting(self._message(exch, 0, payloads, encrypt=False), now)

    def _own_identity(self) -> Identity:
        assert self.peer is not None
        if self.peer.local_id is None and isinstance(self.peer.auth, CertAuth):
            return self._local_cert().identity()
        return self.peer.own_id

    def _local_cert(self) -> LocalCert:
        assert self.peer is not None and isinstance(self.peer.auth, CertAuth)
        return self.engine.local_cert(self.peer.auth)

    def _certreq(self) -> list[Payload]:
        assert self.peer is not None
        if not isinstance(self.peer.auth, CertAuth) or not self.peer.send_certreq:
            return []
        return [Payload(PayloadType.CERTREQ, bytes([CertEncoding.X509_SIGNATURE]))]

    # ------------------------------------------------------------------ phase 1: keys and auth

    def _derive(self, peer_public: bytes) -> None:
        assert self.dh is not None and self.chosen is not None and self.peer is not None
        try:
            self.gxy = self.dh.shared_secret(peer_public)
        except CryptoError as exc:
            raise Phase1Failure(
                Reason.CRYPTO_FAILURE, str(exc), Notify.INVALID_KEY_INFORMATION
            ) from None
        h = self.chosen.hash
        if isinstance(self.peer.auth, PskAuth):
            skeyid = crypto.skeyid_psk(h, self.peer.auth.psk, self.ni, self.nr)
        else:
            skeyid = crypto.skeyid_sig(h, self.ni, self.nr, self.gxy)
        self.keys = crypto.derive_phase1(h, self.chosen.encryption, skeyid, self.gxy, self.cky_i,
                                         self.cky_r)  # fmt: skip
        self.cipher = CbcCipher(self.chosen.encryption, self.keys.enc_key)
        self.iv = crypto.initial_iv(h, self.cipher.block_size, self.g_i, self.g_r)

    def _auth_hash(self, *, of_initiator: bool, id_b: bytes) -> bytes:
        assert self.keys is not None
        if of_initiator:
            return crypto.phase1_hash(self.hash_t, self.keys.skeyid, self.g_i, self.g_r,
                                      self.cky_i, self.cky_r, self.sai_b, id_b)  # fmt: skip
        return crypto.phase1_hash(self.hash_t, self.keys.skeyid, self.g_r, self.g_i, self.cky_r,
                                  self.cky_i, self.sai_b, id_b)  # fmt: skip

    def _auth_payloads(self, id_b: bytes) -> list[Payload]:
        h = self._auth_hash(of_initiator=self.initiator, id_b=id_b)
        if self.method is AuthMethod.PSK:
            return [Payload(PayloadType.HASH, h)]
        lc = self._local_cert()
        return [Payload(PayloadType.CERT, bytes([CertEncoding.X509_SIGNATURE]) + lc.der),
                Payload(PayloadType.SIG, rsa_sign(lc.key, h))]  # fmt: skip

    def _verify_auth(self, msg: Message, id_payload: Payload, now: float) -> None:
        assert self.peer is not None
        body = IdBody.decode(id_payload.body)
        peer_id = ids.body_identity(body)
        if not self.peer.expected_remote_id.matches(peer_id):
            raise Phase1Failure(Reason.IDENTITY_MISMATCH, f"peer identity {peer_id} not accepted",
                                Notify.INVALID_ID_INFORMATION)  # fmt: skip
        expected = self._auth_hash(of_initiator=not self.initiator, id_b=id_payload.body)
        if self.method is AuthMethod.PSK:
            got = msg.need(PayloadType.HASH).body
            if not hmac.compare_digest(got, expected):
                raise Phase1Failure(Reason.AUTHENTICATION_FAILED, "HASH does not verify",
                                    Notify.INVALID_HASH_INFORMATION)  # fmt: skip
        else:
            cert_p = msg.first(PayloadType.CERT)
            sig = msg.need(PayloadType.SIG).body
            if cert_p is None:
                raise Phase1Failure(Reason.AUTHENTICATION_FAILED, "no peer certificate",
                                    Notify.INVALID_CERTIFICATE)  # fmt: skip
            enc, der = split_cert(cert_p.body)
            try:
                if enc != CertEncoding.X509_SIGNATURE:
                    raise CryptoError(f"certificate encoding {enc} not supported")
                key = self._local_cert().verify_peer(der, peer_id, self.engine.wall_clock(now))
                rsa_verify(key, expected, sig)
            except CryptoError as exc:
                raise Phase1Failure(Reason.AUTHENTICATION_FAILED, str(exc),
                                    Notify.AUTHENTICATION_FAILED) from None  # fmt: skip
            self.peer_cert_der = der
        self.remote_id = peer_id

    def _established(self, now: float) -> list[Action]:
        assert self.peer is not None and self.chosen is not None and self.keys is not None
        self.state = State.ESTABLISHED
        self.last_block = self.iv
        self.established_at = now
        self.authenticated_rx = now
        life = self.chosen.lifetime_seconds
        u = int.from_bytes(self.engine.rng(2), "big") / 65535
        self.rekey_at = now + life * (1 - self.peer.rekey_margin - self.peer.rekey_jitter * u)
        self.expire_at = now + life
        self.engine.count("phase 1 established")
        est = IkeEstablished(
            ike_sa=self.ref, peer=self.peer.name, initiator=self.initiator,
            exchange_type="Main" if self.mode is ExchangeMode.MAIN else "Aggressive",
            local=self.local,
            remote=self.remote, local_id=str(self._own_identity()),
            remote_id=str(self.remote_id), local_id_type=self._own_identity().kind,
            remote_id_type=self.remote_id.kind if self.remote_id else "any",
            auth_method="pre-shared-keys" if self.method is AuthMethod.PSK else "rsa-signatures",
            encr=self.chosen.encryption, integ=_integ_for(self.chosen.hash),
            prf=self.chosen.hash, dh_group=self.chosen.dh, lifetime_seconds=life,
            rekey_at=self.rekey_at, nat_local=self.nat_local, nat_remote=self.nat_remote,
            fragmentation=False, established_at=now,
        )  # fmt: skip
        out: list[Action] = []
        old = self.rekey_of
        if old is not None and old.state is not State.DELETED:
            from xfrmctl.keying.ikev2.actions import IkeRekeyed  # noqa: PLC0415

            out.append(IkeRekeyed(old.ref, self.ref, self.peer.name, est))
            out += old.delete(now, Reason.REKEYED, report=False)
            old.successor = self
        else:
            out.append(est)
        pending, self.pending = self.pending, []
        for child, rekey_of in pending:
            out += self.start_quick(child, now, rekey_of=rekey_of)
        return out

    # ------------------------------------------------------------------ receive

    def receive(self, msg: Message, raw: bytes, local: Endpoint, remote: Endpoint,
                now: float) -> list[Action]:  # fmt: skip
        try:
            return self._receive(msg, raw, local, remote, now)
        except Phase1Failure as exc:
            return self._fail(exc, now)

    def _receive(self, msg: Message, raw: bytes, local: Endpoint, remote: Endpoint,
                 now: float) -> list[Action]:  # fmt: skip
        exch = msg.header.exchange
        if exch in (Exchange.MAIN, Exchange.AGGRESSIVE):
            if raw == self.last_in and self.last_out:
                self.engine.count("retransmitted phase-1 message answered")
                return [Send(self.last_out, self.local, self.remote)]
            if self.established:
                self.engine.count("phase-1 message on an established SA")
                return []
            if not self.initiator:
                self.local, self.remote = local, remote
            sent = self.last_out
            out = self._phase1(msg, now)
            if self.last_out is not sent:  # only a message we answered gets the answer again
                self.last_in = raw
            return out
        if not self.established:
            if exch == Exchange.INFORMATIONAL and not msg.header.encrypted:
                return self._plain_informational(msg, now)
            self.engine.count("message before phase 1 completed")
            return []
        if exch == Exchange.QUICK:
            return self._quick(msg, raw, local, remote, now)
        if exch == Exchange.INFORMATIONAL:
            return self._informational(msg, local, remote, now)
        self.engine.count("unsupported exchange type")
        return []

    def _decrypt(self, msg: Message) -> tuple[Message, bytes]:
        """Plaintext view and the IV the next message continues with (not yet stored)."""
        if not msg.header.encrypted:
            return msg, b""
        if self.cipher is None:
            raise ParseError("ISAKMP: encrypted message before keys exist", notify=None)
        iv = self._iv_for(msg.header.message_id)
        try:
            plain = crypto.decrypt(self.cipher, iv, msg.body)
        except CryptoError as exc:
            raise ParseError(f"ISAKMP: {exc}", notify=None) from None
        return msg.with_plaintext(plain), msg.body[-self.cipher.block_size :]

    def _phase1(self, msg: Message, now: float) -> list[Action]:
        st = self.state
        if st is State.I_MM1 and msg.header.exchange == Exchange.MAIN:
            return self._i_mm1(msg, now)
        if st is State.I_MM2 and msg.header.exchange == Exchange.MAIN:
            return self._i_mm2(msg, now)
        if st is State.I_MM3 and msg.header.exchange == Exchange.MAIN:
            return self._i_mm3(msg, now)
        if st is State.R_MM1 and msg.header.exchange == Exchange.MAIN:
            return self._r_mm2(msg, now)
        if st is State.R_MM2 and msg.header.exchange == Exchange.MAIN:
            return self._r_mm3(msg, now)
        if st is State.I_AM1 and msg.header.exchange == Exchange.AGGRESSIVE:
            return self._i_am1(msg, now)
        if st is State.R_AM1 and msg.header.exchange == Exchange.AGGRESSIVE:
            return self._r_am2(msg, now)
        self.engine.count("unexpected phase-1 message")
        return []

    def _i_mm1(self, msg: Message, now: float) -> list[Action]:
        assert self.peer is not None
        self.cky_r = msg.header.spi_r
        self.engine.register_responder_cookie(self)
        self.chosen = self._accept_answer(msg)
        self._read_vendor_ids(msg)
        self.dh = dh_group(self.chosen.dh.ike_id).generate(self.engine.rng)
        self.g_i = self.dh.public
        self.ni = self.engine.rng(NONCE_SIZE)
        payloads = [Payload(PayloadType.KE, self.g_i), Payload(PayloadType.NONCE, self.ni),
                    *self._certreq(), *self._nat_d()]  # fmt: skip
        self.state = State.I_MM2
        return self._send_expecting(self._message(Exchange.MAIN, 0, payloads, encrypt=False), now)

    def _accept_answer(self, msg: Message) -> Phase1Proposal:
        assert self.peer is not None
        try:
            return proposals.accept_phase1_answer(
                SaBody.decode(msg.need(PayloadType.SA).body), self.peer.proposals, self.method
            )
        except NoProposalChosen as exc:
            raise Phase1Failure(Reason.NO_PROPOSAL_CHOSEN, str(exc)) from None

    def _i_mm2(self, msg: Message, now: float) -> list[Action]:
        self.g_r = msg.need(PayloadType.KE).body
        self.nr = msg.need(PayloadType.NONCE).body
        self._check_nat_d(msg)
        self._derive(self.g_r)
        self._float()
        id_body = ids.identity_body(self._own_identity()).encode()
        payloads = [Payload(PayloadType.ID, id_body), *self._auth_payloads(id_body)]
        assert self.peer is not None
        if self.peer.initial_contact and self.rekey_of is None:
            payloads.append(self._initial_contact())
        self.state = State.I_MM3
        return self._send_expecting(self._message(Exchange.MAIN, 0, payloads, encrypt=True), now)

    def _initial_contact(self) -> Payload:
        n = NotifyBody(Protocol.ISAKMP, Notify.INITIAL_CONTACT, self.cky_i + self.cky_r)
        return Payload(PayloadType.NOTIFY, n.encode())

    def _i_mm3(self, msg: Message, now: float) -> list[Action]:
        plain, next_iv = self._decrypt(msg)
        if not msg.header.encrypted:
            raise ParseError("ISAKMP: main mode message 6 is not encrypted", notify=None)
        self._verify_auth(plain, plain.need(PayloadType.ID), now)
        self.iv = next_iv
        self.retrans.stop()
        return self._established(now)

    # responder ----------------------------------------------------------

    def respond_mm1(self, msg: Message, candidates: list[Ikev1PeerConfig], now: float
                    ) -> list[Action]:  # fmt: skip
        offer = SaBody.decode(msg.need(PayloadType.SA).body)
        for peer in candidates:
            method = AuthMethod.RSA_SIG if isinstance(peer.auth, CertAuth) else AuthMethod.PSK
            try:
                choice = proposals.choose_phase1(offer, peer.proposals, method)
            except NoProposalChosen:
                continue
            self.peer = peer
            self.mode = ExchangeMode.MAIN
            self.retrans = Retransmitter(peer.retransmit)
            self.chosen = choice.proposal
            self.sai_b = msg.need(PayloadType.SA).body
            self._read_vendor_ids(msg)
            payloads = [Payload(PayloadType.SA, choice.body.encode()), *self._vendor_ids()]
            self.state = State.R_MM1
            data = self._message(Exchange.MAIN, 0, payloads, encrypt=False)
            return self._send_expecting(data, now)
        return self._no_proposal(msg)

    def _no_proposal(self, msg: Message) -> list[Action]:
        self.engine.count("phase 1: no proposal chosen")
        self.state = State.DELETED
        n = NotifyBody(Protocol.ISAKMP, Notify.NO_PROPOSAL_CHOSEN, b"")
        mid = self.engine.message_id()
        data = self._message(Exchange.INFORMATIONAL, mid, [Payload(PayloadType.NOTIFY, n.encode())],
                             encrypt=False)  # fmt: skip
        return [self._send(data)]

    def _r_mm2(self, msg: Message, now: float) -> list[Action]:
        assert self.chosen is not None
        self.g_i = msg.need(PayloadType.KE).body
        self.ni = msg.need(PayloadType.NONCE).body
        if not 8 <= len(self.ni) <= 256:
            raise ParseError("ISAKMP: nonce length out of range", notify=None)
        self._check_nat_d(msg)
        self.dh = dh_group(self.chosen.dh.ike_id).generate(self.engine.rng)
        self.g_r = self.dh.public
        self.nr = self.engine.rng(NONCE_SIZE)
        payloads = [Payload(PayloadType.KE, self.g_r), Payload(PayloadType.NONCE, self.nr),
                    *self._certreq(), *self._nat_d()]  # fmt: skip
        data = self._message(Exchange.MAIN, 0, payloads, encrypt=False)
        self._derive(self.g_i)
        self.state = State.R_MM2
        return self._send_expecting(data, now)

    def _r_mm3(self, msg: Message, now: float) -> list[Action]:
        if not msg.header.encrypted:
            raise ParseError("ISAKMP: main mode message 5 is not encrypted", notify=None)
        try:
            plain, next_iv = self._decrypt(msg)
        except ParseError:
            # garbage after decryption: almost always a pre-shared key mismatch
            self.undecryptable = True
            raise
        id_p = plain.need(PayloadType.ID)
        self._verify_auth(plain, id_p, now)
        self.iv = next_iv
        id_body = ids.identity_body(self._own_identity()).encode()
        payloads = [Payload(PayloadType.ID, id_body), *self._auth_payloads(id_body)]
        data = self._message(Exchange.MAIN, 0, payloads, encrypt=True)
        out = self._reply_final(data)
        out += self._initial_contact_received(plain, now)
        return out + self._established(now)

    def _initial_contact_received(self, plain: Message, now: float) -> list[Action]:
        for p in plain.all(PayloadType.NOTIFY):
            n = NotifyBody.decode(p.body)
            if n.notify_type == Notify.INITIAL_CONTACT:
                return self.engine.initial_contact(self, now)
        return []

    def respond_am1(self, msg: Message, candidates: list[Ikev1PeerConfig], now: float
                    ) -> list[Action]:  # fmt: skip
        sa_p = msg.need(PayloadType.SA)
        offer = SaBody.decode(sa_p.body)
        id_p = msg.need(PayloadType.ID)
        peer_id = ids.body_identity(IdBody.decode(id_p.body))
        for peer in candidates:
            if not peer.expected_remote_id.matches(peer_id):
                continue
            method = AuthMethod.RSA_SIG if isinstance(peer.auth, CertAuth) else AuthMethod.PSK
            try:
                choice = proposals.choose_phase1(offer, peer.proposals, method)
            except NoProposalChosen:
                continue
            self.peer = peer
            self.mode = ExchangeMode.AGGRESSIVE
            self.retrans = Retransmitter(peer.retransmit)
            self.chosen = choice.proposal
            self.sai_b = sa_p.body
            self._read_vendor_ids(msg)
            self.g_i = msg.need(PayloadType.KE).body
            self.ni = msg.need(PayloadType.NONCE).body
            self._peer_id_payload = id_p
            self.dh = dh_group(self.chosen.dh.ike_id).generate(self.engine.rng)
            self.g_r = self.dh.public
            self.nr = self.engine.rng(NONCE_SIZE)
            self._derive(self.g_i)
            id_body = ids.identity_body(self._own_identity()).encode()
            payloads = [Payload(PayloadType.SA, choice.body.encode()),
                        Payload(PayloadType.KE, self.g_r), Payload(PayloadType.NONCE, self.nr),
                        Payload(PayloadType.ID, id_body), *self._auth_payloads(id_body),
                        *self._vendor_ids(), *self._nat_d(), *self._certreq()]  # fmt: skip
            self.state = State.R_AM1
            data = self._message(Exchange.AGGRESSIVE, 0, payloads, encrypt=False)
            return self._send_expecting(data, now)
        return self._no_proposal(msg)

    def _i_am1(self, msg: Message, now: float) -> list[Action]:
        self.cky_r = msg.header.spi_r
        self.engine.register_responder_cookie(self)
        self.chosen = self._accept_answer(msg)
        self._read_vendor_ids(msg)
        self.g_r = msg.need(PayloadType.KE).body
        self.nr = msg.need(PayloadType.NONCE).body
        self._derive(self.g_r)
        self._check_nat_d(msg)
        self._verify_auth(msg, msg.need(PayloadType.ID), now)
        self._float()
        payloads = [*self._auth_payloads(self._own_id_body.encode()), *self._nat_d()]
        data = self._message(Exchange.AGGRESSIVE, 0, payloads, encrypt=False)
        out = self._reply_final(data)
        out += self._established(now)
        assert self.peer is not None
        if self.peer.initial_contact and self.rekey_of is None:
            out += self._send_informational([self._initial_contact()])
        return out

    def _r_am2(self, msg: Message, now: float) -> list[Action]:
        plain, next_iv = self._decrypt(msg)
        if msg.header.encrypted:
            self.iv = next_iv
        self._check_nat_d(plain)
        self._verify_auth(plain, self._peer_id_payload, now)
        self.retrans.stop()
        return self._established(now)

    # ------------------------------------------------------------------ failure

    def _fail(self, exc: Phase1Failure, now: float) -> list[Action]:
        self.engine.count(f"phase 1 failed: {exc.reason}")
        self.retrans.stop()
        out: list[Action] = []
        if exc.notify is not None and self.established:
            n = NotifyBody(Protocol.ISAKMP, exc.notify, self.cky_i + self.cky_r)
            out += self._send_informational([Payload(PayloadType.NOTIFY, n.encode())])
        self.state = State.DELETED
        out.append(IkeFailed(self.ref, self.peer_name, exc.reason, str(exc)))
        out += self._fail_pending(exc.reason)
        return out

    def _fail_pending(self, reason: Reason) -> list[Action]:
        out: list[Action] = []
        for child, _ in self.pending:
            out.append(ChildFailed(self.ref, child.name, reason))
        self.pending = []
        for q in self.quick.values():
            if q.initiator:
                out.append(ChildFailed(self.ref, q.child.name, reason))
        self.quick.clear()
        return out

    def _plain_informational(self, msg: Message, now: float) -> list[Action]:
        """An unprotected notify while phase 1 runs: believed only as a reason for failing."""
        for p in msg.all(PayloadType.NOTIFY):
            n = NotifyBody.decode(p.body)
            if n.notify_type < 8192 and self.initiator and self.state in (
                State.I_MM1, State.I_AM1
            ):  # fmt: skip
                reason = (
                    _NOTIFY_REASON.get(Notify(n.notify_type), Reason.PEER_ERROR)
                    if (n.notify_type in Notify._value2member_map_)
                    else Reason.PEER_ERROR
                )
                return self._fail(Phase1Failure(reason, f"peer sent notify {n.notify_type}"), now)
        self.engine.count("unprotected informational ignored")
        return []

    # ------------------------------------------------------------------ informational

    def _send_informational(self, payloads: list[Payload]) -> list[Action]:
        assert self.keys is not None
        mid = self.engine.message_id()
        h = crypto.prf(self.hash_t, self.keys.skeyid_a, mid.to_bytes(4, "big") +
                       encode_chain(payloads))  # fmt: skip
        data = self._message(Exchange.INFORMATIONAL, mid, [Payload(PayloadType.HASH, h),
                                                           *payloads], encrypt=True)  # fmt: skip
        return [self._send(data)]

    def _informational(self, msg: Message, local: Endpoint, remote: Endpoint, now: float
                       ) -> list[Action]:  # fmt: skip
        if not msg.header.encrypted:
            self.engine.count("unprotected informational ignored")
            return []
        plain, _ = self._decrypt(msg)
        self._check_hash1(plain)
        self.authenticated_rx = now
        self.local, self.remote = local, remote
        out: list[Action] = []
        for p in plain.payloads[1:]:
            if p.type == PayloadType.NOTIFY:
                out += self._notify(NotifyBody.decode(p.body), now)
            elif p.type == PayloadType.DELETE:
                out += self._delete_received(DeleteBody.decode(p.body), now)
        return out

    def _check_hash1(self, plain: Message) -> None:
        assert self.keys is not None
        if not plain.payloads or plain.payloads[0].type != PayloadType.HASH:
            raise ParseError("ISAKMP: protected message does not start with HASH", notify=None)
        want = crypto.prf(self.hash_t, self.keys.skeyid_a,
                          plain.header.message_id.to_bytes(4, "big") +
                          encode_chain(list(plain.payloads[1:])))  # fmt: skip
        if not hmac.compare_digest(want, plain.payloads[0].body):
            raise ParseError("ISAKMP: HASH(1) does not verify", notify=None)

    def _notify(self, n: NotifyBody, now: float) -> list[Action]:
        t = n.notify_type
        if t == Notify.R_U_THERE:
            ack = NotifyBody(Protocol.ISAKMP, Notify.R_U_THERE_ACK, self.cky_i + self.cky_r,
                             n.data)  # fmt: skip
            return self._send_informational([Payload(PayloadType.NOTIFY, ack.encode())])
        if t == Notify.R_U_THERE_ACK:
            seq = int.from_bytes(n.data, "big") if len(n.data) == 4 else -1
            if seq in self.dpd_waiting:
                self.dpd_waiting.clear()
                self.dpd_retrans.stop()
                return [LivenessResult(self.ref, self.peer_name, True, now)]
            self.engine.count("R-U-THERE-ACK with an unknown sequence number")
            return []
        if t == Notify.INITIAL_CONTACT:
            return self.engine.initial_contact(self, now)
        if t < 8192:
            reason = _NOTIFY_REASON.get(Notify(t), Reason.PEER_ERROR) if (
                t in Notify._value2member_map_) else Reason.PEER_ERROR  # fmt: skip
            out: list[Action] = []
            spi = int.from_bytes(n.spi, "big") if len(n.spi) == 4 else None
            for mid, q in list(self.quick.items()):
                if q.initiator and (spi is None or spi == q.spi_in):
                    del self.quick[mid]
                    out.append(ChildFailed(self.ref, q.child.name, reason, f"notify {t}"))
            return out
        return []

    def _delete_received(self, d: DeleteBody, now: float) -> list[Action]:
        if d.protocol == Protocol.ISAKMP:
            for spi in d.spis:
                if spi == self.cky_i + self.cky_r:
                    self.engine.count("ISAKMP SA deleted by peer")
                    return self.delete(now, Reason.PEER_DELETED, announce=False)
            return []
        if d.protocol == Protocol.ESP:
            out: list[Action] = []
            for spi in d.spis:
                if len(spi) == 4:
                    out += self.engine.peer_deleted_child(
                        self.peer_name, int.from_bytes(spi, "big"), now
                    )
            return out
        return []

    def delete(
        self, now: float, reason: Reason, *, announce: bool = True, report: bool = True
    ) -> list[Action]:
        """End this ISAKMP SA (phase-2 SAs stay, spec §3.5); `report=False` when an IkeRekeyed
        already tells the daemon."""
        if self.state is State.DELETED:
            return []
        out: list[Action] = []
        if announce and self.established:
            d = DeleteBody(Protocol.ISAKMP, (self.cky_i + self.cky_r,))
            out += self._send_informational([Payload(PayloadType.DELETE, d.encode())])
        was_up = self.established
        self.state = State.DELETED
        self.retrans.stop()
        self.dpd_retrans.stop()
        self.rekey_at = self.expire_at = None
        out += self._fail_pending(Reason.IKE_SA_GONE)
        if was_up:
            if report:
                out.append(IkeDeleted(self.ref, self.peer_name, reason))
        else:
            out.append(IkeFailed(self.ref, self.peer_name, reason))
        return out

    def delete_child_spi(self, spi_in: int) -> list[Action]:
        d = DeleteBody(Protocol.ESP, (spi_in.to_bytes(4, "big"),))
        return self._send_informational([Payload(PayloadType.DELETE, d.encode())])

    def liveness_check(self, now: float) -> list[Action]:
        if not self.established:
            return []
        out: list[Action] = []
        if not self.dpd_retrans.active:
            self.dpd_retrans.start((b"",), now)
        out += self._send_r_u_there()
        return out

    def _send_r_u_there(self) -> list[Action]:
        self.dpd_seq = (self.dpd_seq + 1) & 0xFFFFFFFF
        self.dpd_waiting.add(self.dpd_seq)
        n = NotifyBody(Protocol.ISAKMP, Notify.R_U_THERE, self.cky_i + self.cky_r,
                       self.dpd_seq.to_bytes(4, "big"))  # fmt: skip
        return self._send_informational([Payload(PayloadType.NOTIFY, n.encode())])

    # ------------------------------------------------------------------ timers

    def on_timer(self, now: float) -> list[Action]:
        out: list[Action] = []
        if self.state is State.DELETED:
            return out
        if not self.established and not self.initiator and now >= self.created + HALF_OPEN_TIMEOUT:
            self.engine.count("half-open phase 1 timed out")
            if self.undecryptable:
                return self.delete(now, Reason.AUTHENTICATION_FAILED)
            return self.delete(now, Reason.PEER_NOT_RESPONDING)
        verdict = self.retrans.on_timer(now)
        if verdict is TimerVerdict.RESEND:
            self.engine.count("phase-1 message retransmitted")
            out.append(self._send(self.last_out))
        elif verdict is TimerVerdict.GIVE_UP and not self.established:
            return out + self._fail(
                Phase1Failure(Reason.PEER_NOT_RESPONDING, "phase 1 timed out"), now
            )
        for mid, q in list(self.quick.items()):
            v = q.retrans.on_timer(now)
            if v is TimerVerdict.RESEND:
                self.engine.count("quick mode message retransmitted")
                out.append(self._send(q.last_out))
            elif v is TimerVerdict.GIVE_UP:
                del self.quick[mid]
                if q.initiator:
                    out.append(ChildFailed(self.ref, q.child.name, Reason.PEER_NOT_RESPONDING))
        v = self.dpd_retrans.on_timer(now)
        if v is TimerVerdict.RESEND:
            out += self._send_r_u_there()
        elif v is TimerVerdict.GIVE_UP:
            self.dpd_waiting.clear()
            out.append(LivenessResult(self.ref, self.peer_name, False, now))
            out.append(PeerDead(self.ref, self.peer_name))
            out += self.engine.drop_peer(self, now)
            return out
        if self.expire_at is not None and now >= self.expire_at:
            return out + self.delete(now, Reason.EXPIRED)
        if self.rekey_at is not None and now >= self.rekey_at:
            self.rekey_at = None
            if self.successor is None:
                out += self.engine.rekey_phase1(self, now)
        return out

    # ------------------------------------------------------------------ quick mode

    def _encap(self) -> int:
        if not self.natted:
            return Encapsulation.TUNNEL
        return Encapsulation.UDP_TUNNEL_DRAFT if self.natt_draft else Encapsulation.UDP_TUNNEL

    def start_quick(self, child: ChildConfig, now: float, *, rekey_of: int | None = None,
                    local_ts: TrafficSelector | None = None,
                    remote_ts: TrafficSelector | None = None) -> list[Action]:  # fmt: skip
        assert self.keys is not None
        mid = self.engine.message_id()
        spi_in = self.engine.allocate_spi()
        q = QuickMode(mid, True, child, spi_in, local_ts or child.local_ts[0],
                      remote_ts or child.remote_ts[0], Retransmitter(self.retrans.policy),
                      rekey_of=rekey_of, started=now)  # fmt: skip
        q.ni = self.engine.rng(NONCE_SIZE)
        try:
            q.offer = proposals.esp_offer(child, spi_in, self._encap())
        except NoProposalChosen as exc:
            return [ChildFailed(self.ref, child.name, Reason.NO_PROPOSAL_CHOSEN, str(exc))]
        payloads = [Payload(PayloadType.SA, q.offer.encode()), Payload(PayloadType.NONCE, q.ni)]
        if child.pfs_group is not None:
            q.dh = dh_group(child.pfs_group.ike_id).generate(self.engine.rng)
            payloads.append(Payload(PayloadType.KE, q.dh.public))
        payloads += [Payload(PayloadType.ID, ids.selector_body(q.local_ts).encode()),
                     Payload(PayloadType.ID, ids.selector_body(q.remote_ts).encode())]  # fmt: skip
        h1 = crypto.prf(self.hash_t, self.keys.skeyid_a, mid.to_bytes(4, "big") +
                        encode_chain(payloads))  # fmt: skip
        self.quick[mid] = q
        data = self._message(Exchange.QUICK, mid, [Payload(PayloadType.HASH, h1), *payloads],
                             encrypt=True)  # fmt: skip
        q.last_out = data
        q.retrans.start((data,), now)
        self.engine.count("quick mode started")
        return [self._send(data)]

    def _quick(self, msg: Message, raw: bytes, local: Endpoint, remote: Endpoint, now: float
               ) -> list[Action]:  # fmt: skip
        mid = msg.header.message_id
        q = self.quick.get(mid)
        if q is not None and raw == q.last_in and q.last_out:
            self.engine.count("retransmitted quick mode message answered")
            return [self._send(q.last_out)]
        if q is not None and q.initiator and q.keys is not None:
            self.engine.count("late quick mode message ignored")
            return []
        if q is None and mid in self.engine.finished_quick:
            self.engine.count("late quick mode message ignored")
            return []
        if mid == 0:
            raise ParseError("ISAKMP: quick mode with message ID 0", notify=None)
        plain, next_iv = self._decrypt(msg)
        self.local, self.remote = local, remote
        if q is None:
            out = self._quick_responder(plain, raw, next_iv, now)
        elif q.initiator:
            out = self._quick_answer(q, plain, raw, next_iv, now)
        else:
            out = self._quick_final(q, plain, now)
        self.authenticated_rx = now  # each branch raises unless the HASH verified
        return out

    def _quick_responder(self, plain: Message, raw: bytes, next_iv: bytes, now: float
                         ) -> list[Action]:  # fmt: skip
        assert self.keys is not None and self.peer is not None
        mid = plain.header.message_id
        self._check_hash1(plain)
        sa_p = plain.need(PayloadType.SA)
        ni = plain.need(PayloadType.NONCE).body
        ke = plain.first(PayloadType.KE)
        idps = plain.all(PayloadType.ID)
        if len(idps) not in (0, 2):
            raise ParseError("ISAKMP: quick mode needs both proxy IDs or none", notify=None)
        if idps:
            their = ids.body_selector(IdBody.decode(idps[0].body))
            ours = ids.body_selector(IdBody.decode(idps[1].body))
        else:
            their, ours = ids.host_selector(self.remote[0]), ids.host_selector(self.local[0])
        offer = SaBody.decode(sa_p.body)
        child = None
        choice = None
        for c in self.peer.children:
            if not (any(ours.is_subset_of(t) for t in c.local_ts)
                    and any(their.is_subset_of(t) for t in c.remote_ts)):  # fmt: skip
                continue
            try:
                choice = proposals.choose_esp(offer, c)
            except NoProposalChosen:
                continue
            child = c
            break
        if child is None or choice is None:
            ids_ok = any(
                any(ours.is_subset_of(t) for t in c.local_ts)
                and any(their.is_subset_of(t) for t in c.remote_ts)
                for c in self.peer.children
            )
            notify = Notify.NO_PROPOSAL_CHOSEN if ids_ok else Notify.INVALID_ID_INFORMATION
            self.engine.count(f"quick mode refused: {notify.name}")
            self.engine.finished_quick.add(mid)
            n = NotifyBody(Protocol.ESP, notify, b"")
            return self._send_informational([Payload(PayloadType.NOTIFY, n.encode())])
        suite = choice.suite
        if (suite.pfs is None) != (ke is None):
            raise ParseError("ISAKMP: KE presence does not match the PFS group", notify=None)
        spi_in = self.engine.allocate_spi()
        q = QuickMode(mid, False, child, spi_in, ours, their, Retransmitter(self.retrans.policy),
                      started=now)  # fmt: skip
        q.ni, q.nr = ni, self.engine.rng(NONCE_SIZE)
        q.suite, q.spi_out = suite, choice.peer_spi
        gqm = b""
        payloads = [Payload(PayloadType.SA, choice.answer(spi_in).encode()),
                    Payload(PayloadType.NONCE, q.nr)]  # fmt: skip
        if suite.pfs is not None and ke is not None:
            q.dh = dh_group(suite.pfs.ike_id).generate(self.engine.rng)
            try:
                gqm = q.dh.shared_secret(ke.body)
            except CryptoError as exc:
                raise ParseError(f"ISAKMP: quick mode KE: {exc}", notify=None) from None
            payloads.append(Payload(PayloadType.KE, q.dh.public))
        payloads += [Payload(PayloadType.ID, p.body) for p in idps]
        q.lifetime_seconds = min(suite.lifetime_seconds, child.lifetime_seconds)
        kb_ours, kb_theirs = child.lifetime_kilobytes, suite.lifetime_kilobytes
        q.lifetime_kilobytes = min(k for k in (kb_ours, kb_theirs) if k) if (
            kb_ours or kb_theirs) else 0  # fmt: skip
        if q.lifetime_seconds < suite.lifetime_seconds or (
            q.lifetime_kilobytes and q.lifetime_kilobytes != suite.lifetime_kilobytes
        ):
            attrs: list[Attribute] = [(P2Attr.LIFE_TYPE, LifeType.SECONDS), (P2Attr.LIFE_DURATION,
                                                            q.lifetime_seconds)]  # fmt: skip
            if q.lifetime_kilobytes:
                attrs += [(P2Attr.LIFE_TYPE, LifeType.KILOBYTES),
                          (P2Attr.LIFE_DURATION, q.lifetime_kilobytes)]  # fmt: skip
            n = NotifyBody(Protocol.ESP, Notify.RESPONDER_LIFETIME, spi_in.to_bytes(4, "big"),
                           encode_attributes(attrs))  # fmt: skip
            payloads.append(Payload(PayloadType.NOTIFY, n.encode()))
        h2 = crypto.prf(self.hash_t, self.keys.skeyid_a, mid.to_bytes(4, "big") + q.ni +
                        encode_chain(payloads))  # fmt: skip
        q.keys = child_keys(self.hash_t, self.keys.skeyid_d, suite, spi_in, q.spi_out, q.ni,
                            q.nr, gqm)  # fmt: skip
        self.quick[mid] = q
        self.p2_ivs[mid] = next_iv
        data = self._message(Exchange.QUICK, mid, [Payload(PayloadType.HASH, h2), *payloads],
                             encrypt=True)  # fmt: skip
        q.last_in, q.last_out = raw, data
        q.retrans.start((data,), now)
        return [self._send(data)]

    def _quick_answer(self, q: QuickMode, plain: Message, raw: bytes, next_iv: bytes, now: float
                      ) -> list[Action]:  # fmt: skip
        assert self.keys is not None and q.offer is not None
        mid = q.message_id
        if not plain.payloads or plain.payloads[0].type != PayloadType.HASH:
            raise ParseError("ISAKMP: quick mode answer does not start with HASH", notify=None)
        want = crypto.prf(self.hash_t, self.keys.skeyid_a, mid.to_bytes(4, "big") + q.ni +
                          encode_chain(list(plain.payloads[1:])))  # fmt: skip
        if not hmac.compare_digest(want, plain.payloads[0].body):
            raise ParseError("ISAKMP: HASH(2) does not verify", notify=None)
        self.p2_ivs[mid] = next_iv
        q.nr = plain.need(PayloadType.NONCE).body
        try:
            suite, spi_out = proposals.accept_esp_answer(
                SaBody.decode(plain.need(PayloadType.SA).body), q.offer
            )
        except NoProposalChosen as exc:
            del self.quick[mid]
            return [ChildFailed(self.ref, q.child.name, Reason.NO_PROPOSAL_CHOSEN, str(exc))]
        idps = plain.all(PayloadType.ID)
        if idps and [p.body for p in idps] != [
            ids.selector_body(q.local_ts).encode(),
            ids.selector_body(q.remote_ts).encode(),
        ]:
            del self.quick[mid]
            return [ChildFailed(self.ref, q.child.name, Reason.TS_UNACCEPTABLE,
                                "responder changed the proxy IDs")]  # fmt: skip
        gqm = b""
        if q.dh is not None:
            ke = plain.need(PayloadType.KE)
            try:
                gqm = q.dh.shared_secret(ke.body)
            except CryptoError as exc:
                del self.quick[mid]
                return [ChildFailed(self.ref, q.child.name, Reason.CRYPTO_FAILURE, str(exc))]
        life_s = min(suite.lifetime_seconds, q.child.lifetime_seconds)
        life_kb = q.child.lifetime_kilobytes
        for p in plain.all(PayloadType.NOTIFY):
            n = NotifyBody.decode(p.body)
            if n.notify_type != Notify.RESPONDER_LIFETIME:
                continue
            ltype = None
            for atype, val in decode_attributes(n.data):
                if atype == P2Attr.LIFE_TYPE:
                    ltype = val
                elif atype == P2Attr.LIFE_DURATION and ltype == LifeType.SECONDS:
                    life_s = min(life_s, val)
                elif atype == P2Attr.LIFE_DURATION and ltype == LifeType.KILOBYTES:
                    life_kb = min(life_kb, val) if life_kb else val
            self.engine.count("responder lifetime honoured")
        keys = child_keys(self.hash_t, self.keys.skeyid_d, suite, q.spi_in, spi_out, q.ni, q.nr,
                          gqm)  # fmt: skip
        h3 = crypto.prf(self.hash_t, self.keys.skeyid_a, b"\x00" + mid.to_bytes(4, "big") + q.ni +
                        q.nr)  # fmt: skip
        data = self._message(Exchange.QUICK, mid, [Payload(PayloadType.HASH, h3)], encrypt=True)
        q.last_in, q.last_out = raw, data
        q.retrans.stop()
        q.suite, q.spi_out, q.keys = suite, spi_out, keys
        q.lifetime_seconds, q.lifetime_kilobytes = life_s, life_kb
        out: list[Action] = [self._send(data)]
        # keep the exchange (stopped) so a retransmitted answer gets HASH(3) again
        self.engine.finished_quick.add(mid)
        out += self.engine.install(self, q, now)
        return out

    def _quick_final(self, q: QuickMode, plain: Message, now: float) -> list[Action]:
        assert self.keys is not None
        if q.keys is None:
            self.engine.count("quick mode already complete")
            return []
        mid = q.message_id
        want = crypto.prf(self.hash_t, self.keys.skeyid_a, b"\x00" + mid.to_bytes(4, "big") +
                          q.ni + q.nr)  # fmt: skip
        h = plain.need(PayloadType.HASH).body
        if not hmac.compare_digest(want, h):
            raise ParseError("ISAKMP: HASH(3) does not verify", notify=None)
        q.retrans.stop()
        del self.quick[mid]
        self.p2_ivs.pop(mid, None)
        self.engine.finished_quick.add(mid)
        return self.engine.install(self, q, now)

    def forget_quick(self, now: float) -> None:
        """Drop finished initiator exchanges kept for answering retransmissions."""
        for mid, q in list(self.quick.items()):
            if q.initiator and q.keys is not None and now - q.started > 60:
                del self.quick[mid]
                self.p2_ivs.pop(mid, None)


def posix_wall_clock(now: float) -> datetime:
    from datetime import UTC  # noqa: PLC0415

    return datetime.fromtimestamp(now, UTC)


WallClock = Callable[[float], datetime]
