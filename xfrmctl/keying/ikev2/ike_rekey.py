"""IKE SA rekeying with CREATE_CHILD_SA (RFC 7296 1.3.2, 2.18) and its collisions (2.8.2, 2.25.2).

The new IKE SA inherits the children; the old one is deleted by the rekey's initiator. When both
ends rekey at once, the new SA created by the exchange holding the lowest nonce is redundant: its
initiator deletes it and the children go to the other new SA; the other end deletes the old SA.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xfrmctl.keying.constants import ExchangeType, NotifyType, ProtocolId
from xfrmctl.keying.dh import DhKeyPair, dh_group
from xfrmctl.keying.errors import CryptoError, UnknownTransform
from xfrmctl.keying.ikev2 import child_create, informational, wire
from xfrmctl.keying.ikev2.actions import IkeRekeyed, Reason
from xfrmctl.keying.ikev2.proposals import Chosen, Offered, accept_answer, select
from xfrmctl.keying.ikev2.session import Ikev2Session, Phase, Task
from xfrmctl.keying.transforms import Proposal, Transform

REDUNDANT_GRACE = 30.0  # the loser of a collision deletes its SA; after this, we do it
REKEY_RETRY = 30.0  # seconds before another attempt after a refused IKE rekey
OLD_SA_GRACE = 60.0  # the old SA is dropped by then even if its delete never comes


def _proposals_with_group(proposals: tuple[Proposal, ...], group: Transform) -> list[Proposal]:
    """Our proposals with the current (or requested) group first in each, as strongSwan does."""
    out = []
    for p in proposals:
        dh = (group, *[g for g in p.dh if g != group]) if group in p.dh else p.dh
        out.append(Proposal(p.protocol, p.encryption, p.integrity, p.prf, dh, p.esn))
    return out


def new_session(
    old: Ikev2Session,
    chosen: Chosen,
    *,
    initiator: bool,
    spi_i: int,
    spi_r: int,
    ni: bytes,
    nr: bytes,
    shared: bytes,
    now: float,
) -> Ikev2Session:
    assert old.crypto is not None
    new = Ikev2Session(
        old.ctx,
        old.peer,
        initiator=initiator,
        spi_i=spi_i,
        spi_r=spi_r,
        local=old.local,
        remote=old.remote,
        now=now,
        candidates=old.candidates,
    )
    new.crypto = old.crypto.rekeyed(chosen, ni, nr, shared, spi_i=spi_i, spi_r=spi_r,
                                    initiator=initiator)  # fmt: skip
    new.chosen = chosen
    new.ni, new.nr = ni, nr
    new.peer_id = old.peer_id
    new.auth_method = old.auth_method
    new.nat_local, new.nat_remote = old.nat_local, old.nat_remote
    new.peer_fragmentation = old.peer_fragmentation
    new.peer_hashes = old.peer_hashes
    new.phase = Phase.ESTABLISHED
    new.established_at = now
    new.schedule_ike_lifetime(now)
    return new


def adopt(old: Ikev2Session, new: Ikev2Session, now: float) -> None:
    """Move children and queued work to the new IKE SA and report the rekey."""
    new.children.update(old.children)
    old.children.clear()
    new.child_collisions.update(old.child_collisions)
    old.child_collisions.clear()
    new.expired_spis.update(old.expired_spis)
    old.expired_spis.clear()
    new.queue.extend(t for t in old.queue if not isinstance(t, IkeRekeyTask))
    old.queue.clear()
    new.delayed.extend(old.delayed)
    old.delayed.clear()
    old.phase = Phase.REKEYED
    old.moved_to = new
    old.rekey_at = None
    old.expire_at = now + OLD_SA_GRACE
    old.emit(IkeRekeyed(old.ref, new.ref, old.peer.name, new.established_action(now)))
    new.kick(now)
    old.emit_all(new.drain())
    old.ctx.touch(new)


@dataclass
class PassiveIkeRekey:
    new: Ikev2Session
    ni: bytes = field(repr=False)
    nr: bytes = field(repr=False)


def peer_uses_new_sa(new: Ikev2Session, msg: wire.Inbound, now: float) -> None:
    """An authenticated request arrived on the SA we created for the peer's rekey while our own
    rekey was outstanding. A delete of it means the peer lost the collision: our own rekey, when
    its response comes, stands alone. Any other request means the peer made it the successor
    (our request was lost, or we lost the collision): the children move now, and whatever our
    own rekey creates is redundant."""
    old = new.pending_parent
    new.pending_parent = None
    if old is None or old.closed or old.passive_ike_rekey is None:
        return
    if old.passive_ike_rekey.new is not new:
        return
    old.passive_ike_rekey = None
    if any(proto is ProtocolId.IKE for proto, _ in msg.deletes()):
        new.ctx.count("IKE rekey collision: the peer dropped its redundant SA")
        return
    if isinstance(old.active, IkeRekeyTask):
        old.active.obsolete = True
    new.ctx.count("IKE rekey collision resolved by the peer's use of its SA")
    adopt(old, new, now)
    new.emit_all(old.drain())
    new.ctx.touch(old)


class IkeRekeyTask(Task):
    exchange = ExchangeType.CREATE_CHILD_SA
    name = "ike_rekey"

    def __init__(self) -> None:
        self.obsolete = False  # the peer's rekey of the same SA already took over
        self.group: Transform | None = None
        self.keypair: DhKeyPair | None = None
        self.spi = 0
        self.ni = b""
        self.retries = 0

    def build(self, s: Ikev2Session, now: float) -> list[wire.Payload] | None:
        if not s.established:
            return None
        assert s.chosen is not None and s.chosen.dh is not None
        if self.group is None:
            self.group = s.chosen.dh
        if self.keypair is None:
            self.keypair = dh_group(self.group.ike_id).generate(s.ctx.rng)
        if not self.spi:
            self.spi = s.ctx.new_ike_spi()
        self.ni = s.ctx.nonce()
        spi = self.spi.to_bytes(8, "big")
        proposals = _proposals_with_group(s.peer.proposals, self.group)
        return [
            wire.sa_payload([(i + 1, p, spi) for i, p in enumerate(proposals)]),
            wire.nonce(self.ni),
            wire.ke(self.group.ike_id, self.keypair.public),
        ]

    def _retry_later(self, s: Ikev2Session, now: float, why: str) -> None:
        s.ctx.count(why)
        if s.established:
            s.rekey_at = now + REKEY_RETRY + s.ctx.jitter(REKEY_RETRY)

    def on_response(self, s: Ikev2Session, msg: wire.Inbound, now: float) -> None:
        passive = s.passive_ike_rekey
        s.passive_ike_rekey = None
        if passive is not None:
            passive.new.pending_parent = None
        if self.obsolete and msg.error_notify() is not None:
            return  # the peer's rekey took over; nothing to retry
        invalid_ke = msg.notify(NotifyType.INVALID_KE_PAYLOAD)
        if invalid_ke is not None and len(invalid_ke.data) == 2 and self.retries < 2:
            wanted = int.from_bytes(invalid_ke.data, "big")
            match = [g for p in s.peer.proposals for g in p.dh if g.ike_id == wanted]
            if match and match[0] != self.group:
                self.retries += 1
                self.group = match[0]
                self.keypair = None
                s.queue_task(self, now, front=True)
                if passive is not None:
                    adopt(s, passive.new, now)
                return
        if passive is not None and msg.error_notify() is not None:
            # the peer refused ours but we accepted theirs: theirs is the new SA
            adopt(s, passive.new, now)
            return
        if msg.notify(NotifyType.TEMPORARY_FAILURE) is not None:
            self._retry_later(s, now, "IKE rekey: peer busy (TEMPORARY_FAILURE)")
            return
        if msg.error_notify() is not None:
            self._retry_later(s, now, "IKE rekey refused by the peer")
            return
        offered = msg.sa()
        nr = msg.nonce()
        ke = msg.ke()
        if offered is None or len(offered) != 1 or nr is None or ke is None:
            self._retry_later(s, now, "IKE rekey response incomplete")
            return
        chosen = accept_answer(_proposals_with_group(s.peer.proposals, self.group or ke_group(s)),
                               offered[0])  # fmt: skip
        spi_r = int.from_bytes(offered[0].spi, "big") if len(offered[0].spi) == 8 else 0
        if chosen is None or chosen.dh is None or ke[0] != chosen.dh.ike_id or spi_r == 0:
            self._retry_later(s, now, "IKE rekey response does not match our proposal")
            return
        assert self.keypair is not None
        try:
            shared = self.keypair.shared_secret(ke[1])
        except CryptoError:
            self._retry_later(s, now, "IKE rekey: invalid DH public value")
            return
        ours = new_session(s, chosen, initiator=True, spi_i=self.spi, spi_r=spi_r, ni=self.ni,
                           nr=nr, shared=shared, now=now)  # fmt: skip
        s.successors.append(ours)
        if self.obsolete:
            # the children already went to the peer's new SA: ours is the redundant one
            s.ctx.count("IKE rekey collision lost")
            ours.redundant = True
            ours.queue_task(_delete_task(Reason.REDUNDANT), now)
            s.emit_all(ours.drain())
            return
        if passive is not None:
            if min(self.ni, nr) < min(passive.ni, passive.nr):
                s.ctx.count("IKE rekey collision lost")
                adopt(s, passive.new, now)
                ours.queue_task(_delete_task(Reason.REDUNDANT), now)
                s.emit_all(ours.drain())
                return
            s.ctx.count("IKE rekey collision won")
            passive.new.redundant_at = now + REDUNDANT_GRACE
            passive.new.redundant = True
            s.ctx.touch(passive.new)
        adopt(s, ours, now)
        s.queue_task(_delete_task(Reason.REKEYED), now, front=True)

    def on_give_up(self, s: Ikev2Session, now: float) -> None:
        s.peer_dead(now)


def ke_group(s: Ikev2Session) -> Transform:
    assert s.chosen is not None and s.chosen.dh is not None
    return s.chosen.dh


def _delete_task(reason: Reason) -> Task:
    return informational.IkeDeleteTask(reason)


def respond(
    s: Ikev2Session, msg: wire.Inbound, offered: list[Offered], now: float
) -> list[wire.Payload]:
    if s.phase is not Phase.ESTABLISHED or isinstance(s.active, child_create.ChildCreateTask):
        s.ctx.count("IKE rekey while busy: TEMPORARY_FAILURE")
        return [wire.notify(NotifyType.TEMPORARY_FAILURE)]
    ni = msg.nonce()
    ke = msg.ke()
    if ni is None or ke is None:
        s.ctx.count("IKE rekey without nonce or KE")
        return [wire.notify(NotifyType.INVALID_SYNTAX)]
    ike_offers = [o for o in offered if o.proposal.protocol is ProtocolId.IKE]
    chosen = select(s.peer.proposals, ike_offers)
    if chosen is None or chosen.dh is None:
        s.ctx.count("IKE rekey: no proposal chosen")
        return [wire.notify(NotifyType.NO_PROPOSAL_CHOSEN)]
    if ke[0] != chosen.dh.ike_id:
        s.ctx.count("IKE rekey: invalid KE payload")
        return [wire.notify(NotifyType.INVALID_KE_PAYLOAD, chosen.dh.ike_id.to_bytes(2, "big"))]
    spi_i = int.from_bytes(chosen.spi, "big") if len(chosen.spi) == 8 else 0
    if spi_i == 0:
        s.ctx.count("IKE rekey: proposal without an 8-byte SPI")
        return [wire.notify(NotifyType.INVALID_SYNTAX)]
    try:
        keypair = dh_group(chosen.dh.ike_id).generate(s.ctx.rng)
        shared = keypair.shared_secret(ke[1])
    except (CryptoError, UnknownTransform):
        s.ctx.count("IKE rekey: invalid DH public value")
        return [wire.notify(NotifyType.NO_PROPOSAL_CHOSEN)]
    nr = s.ctx.nonce()
    spi_r = s.ctx.new_ike_spi()
    new = new_session(s, chosen, initiator=False, spi_i=spi_i, spi_r=spi_r, ni=ni, nr=nr,
                      shared=shared, now=now)  # fmt: skip
    s.successors.append(new)
    if isinstance(s.active, IkeRekeyTask):
        s.passive_ike_rekey = PassiveIkeRekey(new, ni, nr)
        new.pending_parent = s
    else:
        adopt(s, new, now)
    answer = Chosen(chosen.protocol, chosen.encr, chosen.integ, chosen.prf, chosen.dh, None)
    return [
        wire.sa_payload([(chosen.number, answer.as_proposal(), spi_r.to_bytes(8, "big"))]),
        wire.nonce(nr),
        wire.ke(chosen.dh.ike_id, keypair.public),
    ]
