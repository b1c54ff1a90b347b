"""INFORMATIONAL (RFC 7296 1.4, 1.5, 2.4): deletes of children and of the IKE SA, liveness checks
(an empty request), and error notifies about an SA such as AUTHENTICATION_FAILED.

Children are removed from the kernel when the delete exchange completes (or when the peer gives up
answering), so a lost delete never leaves one direction installed while the other is gone.
"""

from __future__ import annotations

from xfrmctl.keying.constants import ExchangeType, NotifyType, ProtocolId
from xfrmctl.keying.ikev2 import ike_rekey, wire
from xfrmctl.keying.ikev2.actions import LivenessResult, Reason
from xfrmctl.keying.ikev2.child import ChildState
from xfrmctl.keying.ikev2.session import Ikev2Session, Phase, Task


class ChildDeleteTask(Task):
    exchange = ExchangeType.INFORMATIONAL
    name = "child_delete"

    def __init__(
        self,
        unique_id: int | None,
        *,
        reason: Reason = Reason.LOCAL_DELETE,
        notify_only: bool = False,
    ) -> None:
        self.unique_id = unique_id
        self.reason = reason
        self.notify_only = notify_only  # the child is already gone here; just tell the peer
        self.spis: tuple[int, int] | None = None  # (in, out) when deleting a child we never kept

    @classmethod
    def for_spis(cls, spi_in: int, spi_out: int) -> ChildDeleteTask:
        task = cls(None, reason=Reason.TS_UNACCEPTABLE, notify_only=True)
        task.spis = (spi_in, spi_out)
        return task

    def build(self, s: Ikev2Session, now: float) -> list[wire.Payload] | None:
        if not s.established and s.phase is not Phase.REKEYED:
            return None
        if self.spis is not None:
            return [wire.delete(ProtocolId.ESP, [self.spis[0].to_bytes(4, "big")])]
        if self.unique_id is None:
            return None
        if self.notify_only:
            spi = s.expired_spis.pop(self.unique_id, None)
            if spi is None:
                return None
            return [wire.delete(ProtocolId.ESP, [spi.to_bytes(4, "big")])]
        child = s.find_child(self.unique_id)
        if child is None:
            return None
        child.state = ChildState.DELETING
        return [wire.delete(ProtocolId.ESP, [child.spi_in.to_bytes(4, "big")])]

    def on_response(self, s: Ikev2Session, msg: wire.Inbound, now: float) -> None:
        if self.unique_id is None or self.notify_only:
            return
        child = s.find_child(self.unique_id)
        if child is not None:
            s.remove_child(child, self.reason)

    def on_give_up(self, s: Ikev2Session, now: float) -> None:
        s.peer_dead(now)


class IkeDeleteTask(Task):
    exchange = ExchangeType.INFORMATIONAL
    name = "ike_delete"

    def __init__(self, reason: Reason) -> None:
        self.reason = reason

    def build(self, s: Ikev2Session, now: float) -> list[wire.Payload] | None:
        if s.phase not in (Phase.ESTABLISHED, Phase.REKEYED):
            return None
        if s.phase is Phase.ESTABLISHED:
            s.phase = Phase.DELETING
        return [wire.delete(ProtocolId.IKE, [])]

    def on_response(self, s: Ikev2Session, msg: wire.Inbound, now: float) -> None:
        s.delete_everything(self.reason)

    def on_give_up(self, s: Ikev2Session, now: float) -> None:
        s.delete_everything(self.reason)


class LivenessTask(Task):
    """An empty INFORMATIONAL request: the peer answers if it still knows the IKE SA."""

    exchange = ExchangeType.INFORMATIONAL
    name = "ike_dpd"

    def build(self, s: Ikev2Session, now: float) -> list[wire.Payload] | None:
        return [] if s.established else None

    def on_response(self, s: Ikev2Session, msg: wire.Inbound, now: float) -> None:
        s.emit(LivenessResult(s.ref, s.peer.name, alive=True, at=now))

    def on_give_up(self, s: Ikev2Session, now: float) -> None:
        s.emit(LivenessResult(s.ref, s.peer.name, alive=False, at=now))
        s.peer_dead(now)


def respond(s: Ikev2Session, msg: wire.Inbound, now: float) -> list[wire.Payload]:
    if msg.notify(NotifyType.AUTHENTICATION_FAILED) is not None:
        # the initiator refused our authentication after IKE_AUTH (RFC 7296 2.21.2)
        s.delete_everything(Reason.AUTHENTICATION_FAILED)
        return []
    deletes = msg.deletes()
    if any(proto is ProtocolId.IKE for proto, _ in deletes):
        passive = s.passive_ike_rekey
        if passive is not None:
            # the peer finished rekeying this SA (our own rekey of it was lost on the way):
            # the SA we created for its rekey is the successor, so the children move there
            s.passive_ike_rekey = None
            passive.new.pending_parent = None
            s.ctx.count("IKE rekey collision resolved by the peer's delete")
            ike_rekey.adopt(s, passive.new, now)
        if s.phase is Phase.REKEYED:
            s.hand_over_active(now)
        s.delete_everything(Reason.REKEYED if s.phase is Phase.REKEYED else Reason.PEER_DELETED)
        return []
    ours: list[bytes] = []
    for proto, spis in deletes:
        if proto is not ProtocolId.ESP:
            continue
        for raw in spis:
            if len(raw) != 4:
                continue
            child = s.child_by_spi_out(int.from_bytes(raw, "big"))
            if child is None:
                s.ctx.count("delete for an unknown child SA")
                if s.active is not None and s.active.exchange is ExchangeType.CREATE_CHILD_SA:
                    # perhaps the child our exchange created, its response lost or late
                    s.early_deletes.add(int.from_bytes(raw, "big"))
                continue
            ours.append(child.spi_in.to_bytes(4, "big"))
            replaced = child.state is ChildState.REKEYED or any(
                c.rekey_of == child.unique_id for c in s.all_children()
            )
            reason = Reason.REKEYED if replaced else Reason.PEER_DELETED
            if child.state is ChildState.DELETING:
                # simultaneous delete (RFC 7296 1.4.1): both ends delete, no delete in the reply
                ours.pop()
                reason = Reason.LOCAL_DELETE
            s.remove_child(child, reason)
    if ours:
        return [wire.delete(ProtocolId.ESP, ours)]
    return []
