"""Child SAs: the first one inside IKE_AUTH and CREATE_CHILD_SA for new children and child rekeys
(RFC 7296 1.3.1, 1.3.3, 2.8), both roles, including simultaneous rekeys (2.8.1).

Collision rule, as RFC 7296 2.8.1 and strongSwan's child_rekey: when both ends rekey the same child
at once, each exchange creates an SA; the one created by the exchange holding the lowest of the four
nonces is redundant and is deleted by the end that initiated that exchange. The other end (the
winner) deletes the old SA. New inbound SAs are always installed before anything old is deleted, so
traffic never stops.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xfrmctl.keying.constants import ExchangeType, NotifyType, ProtocolId
from xfrmctl.keying.dh import DhKeyPair, dh_group
from xfrmctl.keying.errors import CryptoError, UnknownTransform
from xfrmctl.keying.ikev2 import ike_rekey, informational, tunnel_address, wire
from xfrmctl.keying.ikev2.actions import ChildFailed, Reason
from xfrmctl.keying.ikev2.child import ChildSa, ChildState, child_lifetimes
from xfrmctl.keying.ikev2.proposals import Chosen, accept_answer, select, with_pfs
from xfrmctl.keying.ikev2.session import Ikev2Session, Phase, Task, notify_error
from xfrmctl.keying.ikev2.settings import ChildConfig, Mode
from xfrmctl.keying.ikev2.ts import TrafficSelector, acceptable_answer, narrow
from xfrmctl.keying.transforms import Transform

TEMPORARY_FAILURE_RETRY = (
    2.0  # seconds before retrying after TEMPORARY_FAILURE (strongSwan: random)
)
CHILD_NOTIFY_ERRORS = frozenset(
    {
        NotifyType.NO_PROPOSAL_CHOSEN,
        NotifyType.TS_UNACCEPTABLE,
        NotifyType.SINGLE_PAIR_REQUIRED,
        NotifyType.NO_ADDITIONAL_SAS,
        NotifyType.INTERNAL_ADDRESS_FAILURE,
        NotifyType.FAILED_CP_REQUIRED,
        NotifyType.INVALID_SELECTORS,
    }
)


@dataclass
class ChildRequest:
    """A child SA we ask for: what we propose and the state needed to finish it."""

    config: ChildConfig
    local_ts: tuple[TrafficSelector, ...]
    remote_ts: tuple[TrafficSelector, ...]
    spi_in: int = 0
    group: Transform | None = None  # PFS group of this attempt (CREATE_CHILD_SA only)
    keypair: DhKeyPair | None = field(default=None, repr=False)
    nonce: bytes = field(default=b"", repr=False)
    rekey_of: int | None = None  # unique_id of the child being rekeyed

    @classmethod
    def for_config(
        cls,
        config: ChildConfig,
        local_ts: tuple[TrafficSelector, ...] | None = None,
        remote_ts: tuple[TrafficSelector, ...] | None = None,
    ) -> ChildRequest:
        return cls(config, local_ts or config.local_ts, remote_ts or config.remote_ts,
                   group=config.pfs_group)  # fmt: skip

    def payloads(self, s: Ikev2Session, *, in_auth: bool) -> list[wire.Payload]:
        if not self.spi_in:
            self.spi_in = s.ctx.spi_allocator()
        proposals = with_pfs(self.config.proposals, None if in_auth else self.group)
        spi = self.spi_in.to_bytes(4, "big")
        out: list[wire.Payload] = []
        if self.config.mode is Mode.TRANSPORT:
            out.append(wire.notify(NotifyType.USE_TRANSPORT_MODE))
            # the kernel strips TFC padding only from tunnel-mode packets
            out.append(wire.notify(NotifyType.ESP_TFC_PADDING_NOT_SUPPORTED))
        out.append(wire.sa_payload([(i + 1, p, spi) for i, p in enumerate(proposals)]))
        if not in_auth:
            self.nonce = s.ctx.nonce()
            out.append(wire.nonce(self.nonce))
            if self.group is not None:
                if self.keypair is None or self.keypair.group.ike_id != self.group.ike_id:
                    self.keypair = dh_group(self.group.ike_id).generate(s.ctx.rng)
                out.append(wire.ke(self.group.ike_id, self.keypair.public))
        out.append(wire.ts_payload(initiator=True, selectors=self.local_ts))
        out.append(wire.ts_payload(initiator=False, selectors=self.remote_ts))
        out += tunnel_address.notifies(self.config)
        return out


def _new_child(
    s: Ikev2Session,
    config: ChildConfig,
    chosen: Chosen,
    *,
    spi_in: int,
    spi_out: int,
    local_ts: tuple[TrafficSelector, ...],
    remote_ts: tuple[TrafficSelector, ...],
    initiator: bool,
    ni: bytes,
    nr: bytes,
    shared: bytes | None,
    now: float,
    rekey_of: int | None,
) -> ChildSa:
    assert s.crypto is not None and chosen.encr is not None
    keys = s.crypto.child_keys(chosen, ni, nr, shared)
    soft, _hard, soft_bytes, hard_bytes = child_lifetimes(config, s.ctx.rng)
    # i-keys protect initiator->responder traffic: outbound for the exchange's initiator
    if initiator:
        e_in, a_in, e_out, a_out = keys.encr_r, keys.integ_r, keys.encr_i, keys.integ_i
    else:
        e_in, a_in, e_out, a_out = keys.encr_i, keys.integ_i, keys.encr_r, keys.integ_r
    return ChildSa(
        config=config,
        unique_id=s.ctx.next_unique_id(),
        reqid=s.ctx.reqid_for(s.peer.name, config.name),
        spi_in=spi_in,
        spi_out=spi_out,
        chosen=chosen,
        mode=config.mode,
        local_ts=local_ts,
        remote_ts=remote_ts,
        initiator=initiator,
        created=now,
        rekey_at=now + soft,
        expire_at=now + config.lifetime_seconds,
        soft_seconds=soft,
        soft_bytes=soft_bytes,
        hard_bytes=hard_bytes,
        dh_group=chosen.dh.ike_id if chosen.dh is not None else None,
        encr_key_in=e_in,
        integ_key_in=a_in,
        encr_key_out=e_out,
        integ_key_out=a_out,
        rekey_of=rekey_of,
    )


def finish_initiator(
    s: Ikev2Session,
    req: ChildRequest,
    msg: wire.Inbound,
    *,
    ni: bytes,
    nr: bytes,
    shared: bytes | None,
    in_auth: bool,
    now: float,
) -> ChildSa | None:
    """Process the child part of a response; installs the child or reports ChildFailed."""
    name = req.config.name
    error = msg.error_notify()
    if error is not None:
        s.emit(ChildFailed(s.ref, name, notify_error(error), "refused by the peer"))
        return None
    offered = msg.sa()
    tsi = msg.ts(initiator=True)
    tsr = msg.ts(initiator=False)
    if offered is None or tsi is None or tsr is None or len(offered) != 1:
        s.emit(ChildFailed(s.ref, name, Reason.INVALID_SYNTAX, "child SA payloads missing"))
        return None
    answer = offered[0]
    proposals = with_pfs(req.config.proposals, None if in_auth else req.group)
    chosen = accept_answer(proposals, answer, with_dh=not in_auth)
    spi_out = int.from_bytes(answer.spi, "big") if len(answer.spi) == 4 else 0
    if chosen is None or spi_out == 0:
        reason = Reason.NO_PROPOSAL_CHOSEN
        s.emit(ChildFailed(s.ref, name, reason, "peer answered with a proposal we did not offer"))
        return None
    if not acceptable_answer(tsi, req.local_ts) or not acceptable_answer(tsr, req.remote_ts):
        s.emit(ChildFailed(s.ref, name, Reason.TS_UNACCEPTABLE, "peer widened the selectors"))
        _delete_unwanted(s, req.spi_in, spi_out, now)
        return None
    transport = msg.notify(NotifyType.USE_TRANSPORT_MODE) is not None
    if (req.config.mode is Mode.TRANSPORT) != transport:
        s.emit(ChildFailed(s.ref, name, Reason.USE_TRANSPORT_MODE, "peer refused our mode"))
        _delete_unwanted(s, req.spi_in, spi_out, now)
        return None
    if spi_out in s.early_deletes:
        # the peer created it, then deleted it before this response reached us (RFC 7296 1.4.1)
        s.ctx.count("child SA deleted by the peer before its creation completed")
        s.emit(ChildFailed(s.ref, name, Reason.PEER_DELETED, "deleted by the peer meanwhile"))
        return None
    if chosen.dh is not None:
        ke = msg.ke()
        if ke is None or req.keypair is None or ke[0] != chosen.dh.ike_id:
            s.emit(ChildFailed(s.ref, name, Reason.INVALID_SYNTAX, "PFS KE payload missing"))
            _delete_unwanted(s, req.spi_in, spi_out, now)
            return None
        try:
            shared = req.keypair.shared_secret(ke[1])
        except CryptoError:
            s.emit(ChildFailed(s.ref, name, Reason.CRYPTO_FAILURE, "invalid DH public value"))
            _delete_unwanted(s, req.spi_in, spi_out, now)
            return None
    child = _new_child(
        s,
        req.config,
        chosen,
        spi_in=req.spi_in,
        spi_out=spi_out,
        local_ts=tuple(tsi),
        remote_ts=tuple(tsr),
        initiator=True,
        ni=ni,
        nr=nr,
        shared=shared,
        now=now,
        rekey_of=req.rekey_of,
    )
    child.peer_refuses_tfc = msg.notify(NotifyType.ESP_TFC_PADDING_NOT_SUPPORTED) is not None
    child.peer_tunnel_addresses = tunnel_address.learned(msg, s.ctx.count)
    s.install_child(child)
    return child


def _delete_unwanted(s: Ikev2Session, spi_in: int, spi_out: int, now: float) -> None:
    """The responder installed a child we refuse: tell it to delete it (RFC 7296 1.4.1)."""
    s.queue_task(informational.ChildDeleteTask.for_spis(spi_in, spi_out), now)


@dataclass
class ResponderChild:
    """Outcome of answering a child request: the response payloads and the child, if any."""

    payloads: list[wire.Payload]
    child: ChildSa | None = None
    error: NotifyType | None = None


def answer_request(
    s: Ikev2Session,
    msg: wire.Inbound,
    *,
    ni: bytes,
    nr: bytes,
    in_auth: bool,
    now: float,
    rekey_of: ChildSa | None = None,
) -> ResponderChild:
    """Choose a child config, proposal and selectors for a peer's child request."""
    offered = msg.sa()
    tsi = msg.ts(initiator=True)
    tsr = msg.ts(initiator=False)
    if offered is None or tsi is None or tsr is None:
        return _refuse(s, NotifyType.INVALID_SYNTAX, "child request without SA or TS")
    offered_esp = [o for o in offered if o.proposal.protocol is ProtocolId.ESP]
    configs = [rekey_of.config] if rekey_of is not None else list(s.peer.children)
    best: tuple[ChildConfig, list[TrafficSelector], list[TrafficSelector]] | None = None
    best_score: tuple[int, int] = (-1, -1)
    for conf in configs:
        # TSi is the peer's side (our remote), TSr ours (RFC 7296 2.9)
        remote = narrow(tsi, conf.remote_ts)
        local = narrow(tsr, conf.local_ts)
        if not (remote and local):
            continue
        # like strongSwan: prefer the config whose selectors the peer named exactly, then the one
        # that keeps the most of what was proposed; ties go to the configuration order
        exact = sum(t in conf.remote_ts for t in tsi) + sum(t in conf.local_ts for t in tsr)
        kept = _volume(remote) + _volume(local)
        if (exact, kept) > best_score:
            best, best_score = (conf, local, remote), (exact, kept)
    if best is None:
        return _refuse(s, NotifyType.TS_UNACCEPTABLE, "no child configuration fits the selectors")
    conf, local_ts, remote_ts = best
    # with PFS the peer must offer our configured group (RFC 7296 1.3.1)
    proposals = with_pfs(conf.proposals, None if in_auth else conf.pfs_group)
    chosen = select(proposals, offered_esp, with_dh=not in_auth)
    if chosen is None:
        return _refuse(s, NotifyType.NO_PROPOSAL_CHOSEN, f"child {conf.name}: no proposal chosen",
                       conf.name)  # fmt: skip
    transport = msg.notify(NotifyType.USE_TRANSPORT_MODE) is not None
    if transport and conf.mode is Mode.TUNNEL:
        s.ctx.count("USE_TRANSPORT_MODE refused for a tunnel child")
    elif not transport and conf.mode is Mode.TRANSPORT:
        return _refuse(s, NotifyType.NO_PROPOSAL_CHOSEN, f"child {conf.name} needs transport mode",
                       conf.name)  # fmt: skip
    spi_out = int.from_bytes(chosen.spi, "big") if len(chosen.spi) == 4 else 0
    if spi_out == 0:
        return _refuse(s, NotifyType.INVALID_SYNTAX, "child proposal without a 4-byte SPI",
                       conf.name)  # fmt: skip
    shared: bytes | None = None
    out: list[wire.Payload] = []
    ke_payload: wire.Payload | None = None
    if chosen.dh is not None:
        ke = msg.ke()
        if ke is None or ke[0] != chosen.dh.ike_id:
            data = chosen.dh.ike_id.to_bytes(2, "big")
            return ResponderChild([wire.notify(NotifyType.INVALID_KE_PAYLOAD, data)],
                                  error=NotifyType.INVALID_KE_PAYLOAD)  # fmt: skip
        try:
            keypair = dh_group(chosen.dh.ike_id).generate(s.ctx.rng)
            shared = keypair.shared_secret(ke[1])
        except (CryptoError, UnknownTransform):
            return _refuse(s, NotifyType.NO_PROPOSAL_CHOSEN, "invalid DH public value", conf.name)
        ke_payload = wire.ke(chosen.dh.ike_id, keypair.public)
    spi_in = s.ctx.spi_allocator()
    child = _new_child(
        s,
        conf,
        chosen,
        spi_in=spi_in,
        spi_out=spi_out,
        local_ts=tuple(local_ts),
        remote_ts=tuple(remote_ts),
        initiator=False,
        ni=ni,
        nr=nr,
        shared=shared,
        now=now,
        rekey_of=rekey_of.unique_id if rekey_of is not None else None,
    )
    child.peer_refuses_tfc = msg.notify(NotifyType.ESP_TFC_PADDING_NOT_SUPPORTED) is not None
    child.peer_tunnel_addresses = tunnel_address.learned(msg, s.ctx.count)
    if conf.mode is Mode.TRANSPORT:
        out.append(wire.notify(NotifyType.USE_TRANSPORT_MODE))
        out.append(wire.notify(NotifyType.ESP_TFC_PADDING_NOT_SUPPORTED))
    answer = Chosen(chosen.protocol, chosen.encr, chosen.integ, None, chosen.dh, chosen.esn)
    out.append(wire.sa_payload([(chosen.number, answer.as_proposal(), spi_in.to_bytes(4, "big"))]))
    if not in_auth:
        out.append(wire.nonce(nr))
        if ke_payload is not None:
            out.append(ke_payload)
    out.append(wire.ts_payload(initiator=True, selectors=remote_ts))
    out.append(wire.ts_payload(initiator=False, selectors=local_ts))
    out += tunnel_address.notifies(conf)
    return ResponderChild(out, child)


def _volume(selectors: list[TrafficSelector]) -> int:
    return sum(int(t.end) - int(t.start) + 1 for t in selectors)


def _refuse(s: Ikev2Session, notify: NotifyType, why: str, child: str = "") -> ResponderChild:
    """Answer with an error notify, and report the refused child as the initiator will."""
    s.ctx.count(why)
    s.emit(ChildFailed(s.ref, child, notify_error(notify), why))
    return ResponderChild([wire.notify(notify)], error=notify)


# ---------------------------------------------------------------------- CREATE_CHILD_SA initiator


class ChildCreateTask(Task):
    """CREATE_CHILD_SA for a new child, or with REKEY_SA for a rekey."""

    exchange = ExchangeType.CREATE_CHILD_SA
    name = "child_create"

    def __init__(self, req: ChildRequest, old: int | None = None) -> None:
        self.req = req
        self.old = old  # unique_id of the child being rekeyed
        self.retries = 0
        self.nr = b""

    @classmethod
    def new(
        cls,
        config: ChildConfig,
        local_ts: tuple[TrafficSelector, ...] | None,
        remote_ts: tuple[TrafficSelector, ...] | None,
    ) -> ChildCreateTask:
        return cls(ChildRequest.for_config(config, local_ts, remote_ts))

    @classmethod
    def rekey(cls, child: ChildSa) -> ChildCreateTask:
        req = ChildRequest(child.config, child.local_ts, child.remote_ts,
                           group=child.config.pfs_group, rekey_of=child.unique_id)  # fmt: skip
        return cls(req, child.unique_id)

    @property
    def is_rekey(self) -> bool:
        return self.old is not None

    def build(self, s: Ikev2Session, now: float) -> list[wire.Payload] | None:
        if not s.established:
            return None
        out: list[wire.Payload] = []
        if self.old is not None:
            old = s.find_child(self.old)
            if old is None or old.state not in (ChildState.INSTALLED, ChildState.REKEYING):
                return None  # deleted or already replaced meanwhile
            old.state = ChildState.REKEYING
            out.append(
                wire.notify(
                    NotifyType.REKEY_SA, protocol=ProtocolId.ESP, spi=old.spi_in.to_bytes(4, "big")
                )
            )
        return out + self.req.payloads(s, in_auth=False)  # a retry keeps its inbound SPI

    def _old(self, s: Ikev2Session) -> ChildSa | None:
        return s.find_child(self.old) if self.old is not None else None

    def on_response(self, s: Ikev2Session, msg: wire.Inbound, now: float) -> None:
        old = self._old(s)
        collision = s.child_collisions.pop(self.old, None) if self.old is not None else None
        if self.old is not None and old is None and msg.error_notify() is not None:
            # the peer rekeyed and deleted the child while our rekey of it was under way
            s.ctx.count("child rekey overtaken by the peer's")
            return
        invalid_ke = msg.notify(NotifyType.INVALID_KE_PAYLOAD)
        if invalid_ke is not None and self.retries < 2 and len(invalid_ke.data) == 2:
            wanted = int.from_bytes(invalid_ke.data, "big")
            groups = [g for p in self.req.config.proposals for g in p.dh]
            groups += [self.req.config.pfs_group] if self.req.config.pfs_group else []
            match = [g for g in groups if g.ike_id == wanted]
            if match and (self.req.group is None or wanted != self.req.group.ike_id):
                self.retries += 1
                self.req.group = match[0]
                self.req.keypair = None
                s.queue_task(self, now, front=True)
                return
        if msg.notify(NotifyType.TEMPORARY_FAILURE) is not None:
            if old is not None and old.state is ChildState.REKEYING:
                old.state = ChildState.INSTALLED
            if self.old is None or old is not None:
                s.delay_task(self, now + TEMPORARY_FAILURE_RETRY + s.ctx.jitter(3.0))
            return
        if msg.notify(NotifyType.CHILD_SA_NOT_FOUND) is not None and old is not None:
            # the peer has no such SA any more: ours is useless (RFC 7296 2.25)
            s.remove_child(old, Reason.CHILD_SA_NOT_FOUND)
            return
        nr = msg.nonce()
        if msg.error_notify() is None and nr is None:
            s.emit(ChildFailed(s.ref, self.req.config.name, Reason.INVALID_SYNTAX, "no nonce"))
            if old is not None and old.state is ChildState.REKEYING:
                old.state = ChildState.INSTALLED
            return
        self.nr = nr or b""
        child = finish_initiator(
            s, self.req, msg, ni=self.req.nonce, nr=self.nr, shared=None, in_auth=False, now=now
        )
        if child is None:
            if old is not None and old.state is ChildState.REKEYING:
                old.state = ChildState.INSTALLED
                old.rekey_at = now + TEMPORARY_FAILURE_RETRY * 15
            return
        if old is None:
            if collision is not None:
                # the peer won the collision and already deleted the old SA: ours is redundant
                s.ctx.count("child rekey collision lost")
                self._delete(s, child, Reason.REDUNDANT, now)
            return
        if collision is not None:
            ours = min(self.req.nonce, self.nr)
            theirs = min(collision.ni, collision.nr)
            if ours < theirs:
                # our exchange holds the lowest nonce: the SA we created is redundant
                s.ctx.count("child rekey collision lost")
                child.state = ChildState.DELETING
                self._delete(s, child, Reason.REDUNDANT, now)
                old.state = ChildState.REKEYED
                return
            s.ctx.count("child rekey collision won")
        old.state = ChildState.REKEYED
        self._delete(s, old, Reason.REKEYED, now)

    @staticmethod
    def _delete(s: Ikev2Session, child: ChildSa, reason: Reason, now: float) -> None:
        s.queue_task(informational.ChildDeleteTask(child.unique_id, reason=reason), now, front=True)

    def on_give_up(self, s: Ikev2Session, now: float) -> None:
        s.peer_dead(now)


@dataclass
class PassiveRekey:
    """A peer's rekey of one of our children, remembered for collision resolution."""

    ni: bytes
    nr: bytes
    new_child: int


# ---------------------------------------------------------------------- CREATE_CHILD_SA responder


def respond(s: Ikev2Session, msg: wire.Inbound, now: float) -> list[wire.Payload]:
    offered = msg.sa()
    if offered is not None and any(o.proposal.protocol is ProtocolId.IKE for o in offered):
        return ike_rekey.respond(s, msg, offered, now)
    if s.phase is not Phase.ESTABLISHED:
        return [wire.notify(NotifyType.TEMPORARY_FAILURE)]
    ni = msg.nonce()
    if ni is None:
        s.ctx.count("CREATE_CHILD_SA without nonce")
        return [wire.notify(NotifyType.INVALID_SYNTAX)]
    rekey = msg.notify(NotifyType.REKEY_SA)
    old: ChildSa | None = None
    if rekey is not None:
        spi = int.from_bytes(rekey.spi, "big") if len(rekey.spi) == 4 else 0
        old = s.child_by_spi_out(spi)
        if (
            old is None
            and s.active is not None
            and s.active.exchange is ExchangeType.CREATE_CHILD_SA
        ):
            # perhaps the child our own exchange created, its response lost or late: the peer
            # retries once we know it, instead of dropping a child we are about to install
            s.ctx.count("rekey of a child SA not known yet")
            return [wire.notify(NotifyType.TEMPORARY_FAILURE)]
        if old is None:
            s.ctx.count("rekey of an unknown child SA")
            return [wire.notify(NotifyType.CHILD_SA_NOT_FOUND, protocol=ProtocolId.ESP,
                                spi=rekey.spi)]  # fmt: skip
        if old.state in (ChildState.DELETING, ChildState.REKEYED):
            s.ctx.count("rekey of a child being deleted")
            return [wire.notify(NotifyType.TEMPORARY_FAILURE)]
    nr = s.ctx.nonce()
    result = answer_request(s, msg, ni=ni, nr=nr, in_auth=False, now=now, rekey_of=old)
    if result.child is None:
        return result.payloads
    s.install_child(result.child)
    if old is not None and old.state is ChildState.REKEYING:
        s.child_collisions[old.unique_id] = PassiveRekey(ni, nr, result.child.unique_id)
    elif old is not None:
        old.state = ChildState.REKEYED  # replaced: the peer deletes it; we never rekey it again
    return result.payloads
