"""One IKE SA: message I/O, the message-ID window, retransmission, the task queue and children.

The exchanges themselves live in one module each (`ike_init`, `ike_auth`, `child_create`,
`ike_rekey`, `informational`), split like strongSwan's tasks: an initiator `Task` builds a request
and processes its response; a `respond_*` function answers a peer's request. The session runs at
most one task of its own at a time (window size 1) and answers the peer's requests in between.
"""

from __future__ import annotations

import collections
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING

from xfrmctl.keying.constants import ExchangeType, NotifyType
from xfrmctl.keying.errors import CryptoError, ParseError
from xfrmctl.keying.ikev2 import wire
from xfrmctl.keying.ikev2.actions import (
    Action,
    Endpoint,
    IkeDeleted,
    IkeEstablished,
    IkeFailed,
    IkeSaRef,
    PeerDead,
    Reason,
    Send,
)
from xfrmctl.keying.ikev2.child import ChildSa, ChildState, delete_action, install_action
from xfrmctl.keying.ikev2.crypto import IkeCrypto
from xfrmctl.keying.ikev2.identity import Identity
from xfrmctl.keying.ikev2.msgid import MessageIdWindow, RequestVerdict
from xfrmctl.keying.ikev2.nat import NAT_T_PORT
from xfrmctl.keying.ikev2.proposals import Chosen
from xfrmctl.keying.ikev2.retransmit import Retransmitter, TimerVerdict
from xfrmctl.keying.ikev2.settings import (
    ChildConfig,
    EngineSettings,
    PeerConfig,
    Rng,
    SpiAllocator,
)
from xfrmctl.keying.ikev2.ts import TrafficSelector

if TYPE_CHECKING:
    from xfrmctl.keying.ikev2.child_create import ChildRequest, PassiveRekey
    from xfrmctl.keying.ikev2.ike_rekey import PassiveIkeRekey


class Phase(Enum):
    INIT = "init"  # IKE_SA_INIT in progress (initiator) or answered (responder: half-open)
    AUTH = "auth"  # IKE_AUTH in progress
    ESTABLISHED = "established"
    REKEYED = "rekeyed"  # replaced by a new IKE SA; only its delete remains
    DELETING = "deleting"  # our delete of the IKE SA is outstanding
    CLOSED = "closed"  # gone; the engine forgets it


# Every phase change an IKE SA may make; anything else is a bug (`StateError`).
PHASE_TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    Phase.INIT: frozenset({Phase.AUTH, Phase.ESTABLISHED, Phase.CLOSED}),  # ESTABLISHED: by rekey
    Phase.AUTH: frozenset({Phase.ESTABLISHED, Phase.CLOSED}),
    Phase.ESTABLISHED: frozenset({Phase.REKEYED, Phase.DELETING, Phase.CLOSED}),
    Phase.REKEYED: frozenset({Phase.CLOSED}),
    Phase.DELETING: frozenset({Phase.REKEYED, Phase.CLOSED}),
    Phase.CLOSED: frozenset({Phase.CLOSED}),
}


class StateError(RuntimeError):
    """An IKE SA tried a phase change PHASE_TRANSITIONS does not allow (a bug, not bad input)."""


@dataclass
class SessionContext:
    """What every session of one engine shares: randomness, ids, settings, counters."""

    rng: Rng = field(repr=False)
    settings: EngineSettings
    spi_allocator: SpiAllocator
    count: Callable[[str], None]
    next_unique_id: Callable[[], int]
    reqid_for: Callable[[str, str], int]
    new_ike_spi: Callable[[], int]
    wall_clock: Callable[[float], datetime]  # engine time -> UTC, for certificate validity
    has_other_sa: Callable[[Ikev2Session], bool]  # another live IKE SA with the same peer?
    reauthenticate: Callable[[Ikev2Session, float], None]  # start this SA's replacement
    touch: Callable[[Ikev2Session], None]  # another SA's timers changed: reschedule it

    def nonce(self) -> bytes:
        return self.rng(32)

    def jitter(self, fraction: float) -> float:
        return int.from_bytes(self.rng(2), "big") / 65535.0 * fraction


class Task(ABC):
    """An exchange we initiate: build the request, then process the response."""

    exchange: ExchangeType = ExchangeType.INFORMATIONAL
    name = "task"

    @abstractmethod
    def build(self, s: Ikev2Session, now: float) -> list[wire.Payload] | None:
        """The request's payloads; None when the task became pointless and is dropped."""

    @abstractmethod
    def on_response(self, s: Ikev2Session, msg: wire.Inbound, now: float) -> None:
        """Process the (decrypted) response."""

    def on_give_up(self, s: Ikev2Session, now: float) -> None:
        """The peer never answered: by default the IKE SA is dead."""
        s.peer_dead(now)


@dataclass
class PendingDelay:
    at: float
    task: Task


class Ikev2Session:
    """One IKE SA. Created by the engine; see module docstring."""

    def __init__(
        self,
        ctx: SessionContext,
        peer: PeerConfig,
        *,
        initiator: bool,
        spi_i: int,
        spi_r: int,
        local: Endpoint,
        remote: Endpoint,
        now: float,
        candidates: tuple[PeerConfig, ...] = (),
    ) -> None:
        self.ctx = ctx
        self.peer = peer
        self.candidates = candidates or (peer,)
        self.initiator = initiator  # original initiator of this IKE SA
        self.spi_i = spi_i
        self.spi_r = spi_r
        self.local = local
        self.remote = remote
        self.created = now
        self._phase = Phase.INIT
        self.window = MessageIdWindow()
        self.retrans = Retransmitter(peer.retransmit)
        self.queue: collections.deque[Task] = collections.deque()
        self.delayed: list[PendingDelay] = []
        self.active: Task | None = None
        self.children: dict[int, ChildSa] = {}
        self.crypto: IkeCrypto | None = None
        self.chosen: Chosen | None = None
        self.ni = b""
        self.nr = b""
        self.init_request = b""  # IKE_SA_INIT request as sent (RealMessage1)
        self.init_response = b""  # IKE_SA_INIT response as sent (RealMessage2)
        self.nat_local = False
        self.nat_remote = False
        self.peer_fragmentation = False
        self.peer_id: Identity | None = None
        self.auth_method = "pre-shared-keys"
        self.established_at: float | None = None
        self.rekey_at: float | None = None
        self.expire_at: float | None = None
        self.half_open_until: float | None = None
        self.initial_contact_seen = False
        self.successors: list[Ikev2Session] = []  # new IKE SAs from rekeys, for the engine
        self.passive_ike_rekey: PassiveIkeRekey | None = None  # for collisions (RFC 7296 2.8.2)
        self.child_collisions: dict[int, PassiveRekey] = {}  # old child id -> peer's rekey of it
        self.expired_spis: dict[int, int] = {}  # expired child id -> inbound SPI to announce
        # SPIs the peer deleted before our CREATE_CHILD_SA creating them saw its response
        self.early_deletes: set[int] = set()
        self.first_child: ChildRequest | None = None  # requested with IKE_AUTH
        self.reauth_of: Ikev2Session | None = None  # the SA this one replaces once established
        self.redundant_at: float | None = None  # lost a rekey collision: delete it by then
        self.redundant = False  # never announced: the loser of an IKE rekey collision
        self.moved_to: Ikev2Session | None = None  # the IKE SA our children went to (rekey)
        self.pending_parent: Ikev2Session | None = None  # passive rekey result not yet adopted
        self.peer_hashes: tuple[int, ...] = ()  # peer's SIGNATURE_HASH_ALGORITHMS
        self.reassembler = wire.new_reassembler(ctx.settings)
        self._out: list[Action] = []
        self.last_activity = now
        # latest message that passed the IKE SA's integrity check (None: none yet); a float
        # store per message, read by the daemon's DPD only when it is about to probe
        self.authenticated_rx: float | None = None

    # ------------------------------------------------------------------ identity and addresses

    @property
    def phase(self) -> Phase:
        return self._phase

    @phase.setter
    def phase(self, new: Phase) -> None:
        if new not in PHASE_TRANSITIONS[self._phase]:
            raise StateError(f"IKE SA {self.ref}: {self._phase.value} -> {new.value}")
        self._phase = new

    @property
    def ref(self) -> IkeSaRef:
        return IkeSaRef(self.spi_i, self.spi_r)

    @property
    def our_spi(self) -> int:
        return self.spi_i if self.initiator else self.spi_r

    @property
    def encap(self) -> tuple[int, int] | None:
        if self.nat_local or self.nat_remote:
            return (self.local[1], self.remote[1])
        return None

    @property
    def established(self) -> bool:
        return self.phase is Phase.ESTABLISHED

    @property
    def closed(self) -> bool:
        return self.phase is Phase.CLOSED

    def move_to_nat_t_port(self) -> None:
        """RFC 7296 2.23: after NAT detection the initiator continues on port 4500."""
        if self.local[1] != NAT_T_PORT:
            self.local = (self.local[0], NAT_T_PORT)
        if self.remote[1] != NAT_T_PORT:
            self.remote = (self.remote[0], NAT_T_PORT)

    # ------------------------------------------------------------------ output helpers

    def emit(self, action: Action) -> None:
        self._out.append(action)

    def emit_all(self, actions: list[Action]) -> None:
        self._out.extend(actions)

    def drain(self) -> list[Action]:
        out, self._out = self._out, []
        return out

    def send(self, datagrams: tuple[bytes, ...]) -> None:
        for d in datagrams:
            self.emit(Send(d, self.local, self.remote))

    # ------------------------------------------------------------------ tasks

    def queue_task(self, task: Task, now: float, *, front: bool = False) -> None:
        if front:
            self.queue.appendleft(task)
        else:
            self.queue.append(task)
        self.kick(now)

    def delay_task(self, task: Task, at: float) -> None:
        self.delayed.append(PendingDelay(at, task))

    def has_task(self, kind: type[Task]) -> bool:
        return isinstance(self.active, kind) or any(isinstance(t, kind) for t in self.queue)

    def kick(self, now: float) -> None:
        """Start the next queued task if none is outstanding."""
        while self.active is None and self.queue and self.phase is not Phase.CLOSED:
            task = self.queue.popleft()
            payloads = task.build(self, now)
            if payloads is None:
                continue
            self.active = task
            mid = self.window.allocate()
            datagrams = self.encode(task.exchange, mid, response=False, payloads=payloads)
            if task.exchange is ExchangeType.IKE_SA_INIT:
                self.init_request = datagrams[0]
            self.retrans.start(datagrams, now)
            self.send(datagrams)

    # ------------------------------------------------------------------ encoding

    def encode(
        self, exchange: ExchangeType, mid: int, *, response: bool, payloads: Sequence[wire.Payload]
    ) -> tuple[bytes, ...]:
        header = wire.Header(
            spi_i=self.spi_i,
            spi_r=self.spi_r,
            exchange=exchange,
            mid=mid,
            response=response,
            initiator=self.initiator,
        )
        if exchange is ExchangeType.IKE_SA_INIT or self.crypto is None:
            return (wire.encode_plain(header, payloads),)
        frag = None
        if self.peer_fragmentation and self.peer.fragmentation:
            frag = self.peer.fragment_size
        return self.crypto.protect(header, payloads, fragment_size=frag)

    # ------------------------------------------------------------------ receiving

    def receive(
        self, msg: wire.Inbound, local: Endpoint, remote: Endpoint, now: float
    ) -> list[Action]:
        """A datagram the engine has parsed (header + raw payloads) and routed to this SA."""
        if self.phase is Phase.CLOSED:
            return []
        if msg.response:
            self._receive_response(msg, remote, now)
        else:
            self._receive_request(msg, local, remote, now)
        return self.drain()

    def _decrypt(self, msg: wire.Inbound, now: float) -> wire.Inbound | None:
        if msg.exchange is ExchangeType.IKE_SA_INIT:
            return msg
        if self.crypto is None:
            self.ctx.count("no keys yet")
            return None
        try:
            plain = self.crypto.unprotect(msg, self.reassembler, now)
        except CryptoError:
            self.ctx.count("integrity check failed")
            return None
        except ParseError:
            self.ctx.count("invalid syntax in protected payload")
            return None
        if plain is None:
            self.ctx.count("fragment queued")
        else:
            self.authenticated_rx = now
        return plain

    def _receive_response(self, msg: wire.Inbound, remote: Endpoint, now: float) -> None:
        if not self.window.response_matches(msg.mid) or self.active is None:
            self.ctx.count("unexpected response")
            return
        if msg.exchange is not self.active.exchange:
            self.ctx.count("response of wrong exchange type")
            return
        plain = self._decrypt(msg, now)
        if plain is None:
            return
        self.last_activity = now
        task = self.active
        self.active = None
        self.window.response_done()
        self.retrans.stop()
        task.on_response(self, plain, now)
        self.early_deletes.clear()
        self.kick(now)

    def _receive_request(
        self, msg: wire.Inbound, local: Endpoint, remote: Endpoint, now: float
    ) -> None:
        verdict = self.window.classify_request(msg.mid)
        if verdict is RequestVerdict.RETRANSMIT:
            if msg.exchange is ExchangeType.IKE_SA_INIT or msg.first_fragment:
                self.ctx.count("retransmitted request answered from cache")
                for d in self.window.cached_response:
                    self.emit(Send(d, self.local, self.remote))
            return
        if verdict is RequestVerdict.OUT_OF_WINDOW:
            self.ctx.count("request outside the message-ID window")
            return
        if msg.exchange is ExchangeType.IKE_SA_INIT:
            self.ctx.count("IKE_SA_INIT on an existing SA")
            return
        plain = self._decrypt(msg, now)
        if plain is None:
            return
        self.last_activity = now
        if self.nat_remote or self.nat_local or remote[1] == NAT_T_PORT:
            # RFC 7296 2.23: follow the peer's latest authenticated address (NAT mapping change)
            self.local = local
            self.remote = remote
        if self.pending_parent is not None:
            ike_rekey.peer_uses_new_sa(self, plain, now)
        payloads = self.dispatch_request(plain, now)
        if payloads is None:
            return
        datagrams = self.encode(msg.exchange, msg.mid, response=True, payloads=payloads)
        self.window.request_answered(msg.mid, datagrams)
        self.send(datagrams)
        self.after_response(now)

    def dispatch_request(self, msg: wire.Inbound, now: float) -> list[wire.Payload] | None:
        if msg.exchange is ExchangeType.IKE_AUTH:
            if self.initiator or self.phase is not Phase.AUTH:
                self.ctx.count("unexpected IKE_AUTH request")
                return None
            return ike_auth.respond(self, msg, now)
        if self.phase not in (Phase.ESTABLISHED, Phase.REKEYED, Phase.DELETING):
            self.ctx.count(f"{msg.exchange.name} before the SA is established")
            return None
        if msg.exchange is ExchangeType.CREATE_CHILD_SA:
            return child_create.respond(self, msg, now)
        if msg.exchange is ExchangeType.INFORMATIONAL:
            return informational.respond(self, msg, now)
        self.ctx.count(f"unsupported exchange {msg.exchange.name}")
        return None

    def after_response(self, now: float) -> None:
        """Work deferred until our response is out (e.g. closing after a delete)."""
        if self.phase is Phase.CLOSED:
            self.retrans.stop()
            self.active = None
            self.queue.clear()
            return
        self.kick(now)

    # ------------------------------------------------------------------ timers

    def next_deadline(self) -> float | None:
        times: list[float] = []
        if self.phase is Phase.CLOSED:
            return None
        if self.retrans.deadline is not None:
            times.append(self.retrans.deadline)
        for t in (self.rekey_at, self.expire_at, self.half_open_until, self.redundant_at):
            if t is not None:
                times.append(t)
        times.extend(d.at for d in self.delayed)
        for c in self.children.values():
            if c.rekey_at is not None and c.state is ChildState.INSTALLED:
                times.append(c.rekey_at)
            if c.state is not ChildState.DELETING:
                times.append(c.expire_at)
        return min(times) if times else None

    def on_timer(self, now: float) -> list[Action]:
        if self.phase is Phase.CLOSED:
            return []
        verdict = self.retrans.on_timer(now)
        if verdict is TimerVerdict.RESEND:
            self.ctx.count("retransmission")
            self.send(self.retrans.datagrams)
        elif verdict is TimerVerdict.GIVE_UP and self.active is not None:
            if self.hand_over_active(now):
                # the old SA of a rekey stopped answering: its successor carries the exchange
                return self._retire_rekeyed(Reason.REKEYED)
            task = self.active
            self.active = None
            self.window.response_done()
            task.on_give_up(self, now)
        if self.half_open_until is not None and now >= self.half_open_until:
            self.ctx.count("half-open SA timed out")
            self.close()
            return self.drain()
        if self.expire_at is not None and now >= self.expire_at and not self.closed:
            self.expire_at = None
            if self.established:
                # hard lifetime reached (the rekey never succeeded): tell the peer, then go
                self.queue.clear()
                self.delayed.clear()
                if not isinstance(self.active, informational.IkeDeleteTask):
                    self.queue_task(informational.IkeDeleteTask(Reason.EXPIRED), now, front=True)
                return self.drain()
            if self.phase is Phase.REKEYED:
                self.hand_over_active(now)
                return self._retire_rekeyed(Reason.EXPIRED)
            self.delete_everything(Reason.EXPIRED)
            return self.drain()
        if self.redundant_at is not None and now >= self.redundant_at:
            self.redundant_at = None
            if self.established and not self.has_task(informational.IkeDeleteTask):
                # the peer should have deleted this loser of a rekey collision; it did not
                self.ctx.count("redundant IKE SA deleted after grace time")
                self.queue.clear()
                self.queue_task(informational.IkeDeleteTask(Reason.REDUNDANT), now, front=True)
        if self.rekey_at is not None and now >= self.rekey_at and self.established:
            self.rekey_at = None
            if self.peer.reauth:
                self.ctx.reauthenticate(self, now)
            elif not self.has_task(ike_rekey.IkeRekeyTask):
                self.queue_task(ike_rekey.IkeRekeyTask(), now)
        due = [d for d in self.delayed if d.at <= now]
        self.delayed = [d for d in self.delayed if d.at > now]
        for d in due:
            self.queue_task(d.task, now)
        for c in list(self.children.values()):
            if c.state is not ChildState.DELETING and now >= c.expire_at:
                self.expired_spis[c.unique_id] = c.spi_in
                self.remove_child(c, Reason.EXPIRED)
                if self.established:
                    self.queue_task(
                        informational.ChildDeleteTask(c.unique_id, notify_only=True), now
                    )
            elif c.rekey_at is not None and now >= c.rekey_at and c.state is ChildState.INSTALLED:
                c.rekey_at = None
                if self.established:
                    self.queue_task(child_create.ChildCreateTask.rekey(c), now)
        self.kick(now)
        return self.drain()

    # ------------------------------------------------------------------ children

    def install_child(self, child: ChildSa) -> None:
        self.children[child.unique_id] = child
        self.emit(
            install_action(
                child, self.ref, local=self.local[0], remote=self.remote[0], encap=self.encap
            )
        )

    def chain(self) -> list[Ikev2Session]:
        """This SA and the ones its children moved to by IKE rekeys (newest last)."""
        out: list[Ikev2Session] = [self]
        nxt = self.moved_to
        while nxt is not None and len(out) < 16:
            out.append(nxt)
            nxt = nxt.moved_to
        return out

    def find_child(self, unique_id: int) -> ChildSa | None:
        """A child of this SA, or of its successor if an IKE rekey moved it meanwhile (an
        exchange that was under way on the old SA still completes there, RFC 7296 2.18)."""
        for sa in self.chain():
            if unique_id in sa.children:
                return sa.children[unique_id]
        return None

    def remove_child(self, child: ChildSa, reason: Reason) -> None:
        for sa in self.chain():
            if sa.children.pop(child.unique_id, None) is not None:
                self.emit(delete_action(child, sa.ref, local=sa.local[0], remote=sa.remote[0],
                                        reason=reason))  # fmt: skip
                return

    def child_by_spi_out(self, spi: int) -> ChildSa | None:
        for sa in self.chain():
            for c in sa.children.values():
                if c.spi_out == spi:
                    return c
        return None

    def all_children(self) -> list[ChildSa]:
        return [c for sa in self.chain() for c in sa.children.values()]

    def schedule_ike_lifetime(self, now: float) -> None:
        life = self.peer.lifetime_seconds
        margin = self.peer.rekey_margin + self.ctx.jitter(self.peer.rekey_jitter)
        self.rekey_at = now + life * (1.0 - margin)
        self.expire_at = now + life

    # ------------------------------------------------------------------ state changes

    def mark_established(self, now: float) -> None:
        assert self.chosen is not None and self.crypto is not None
        self.phase = Phase.ESTABLISHED
        self.established_at = now
        self.half_open_until = None
        self.schedule_ike_lifetime(now)
        self.emit(self.established_action(now))

    def established_action(self, now: float) -> IkeEstablished:
        chosen = self.chosen
        assert chosen is not None and chosen.encr and chosen.prf and chosen.dh
        own = self.peer.own_id
        peer_id = self.peer_id or Identity.any()
        return IkeEstablished(
            ike_sa=self.ref,
            peer=self.peer.name,
            initiator=self.initiator,
            exchange_type="IKEv2",
            local=self.local,
            remote=self.remote,
            local_id=str(own),
            remote_id=str(peer_id),
            local_id_type=own.kind,
            remote_id_type=peer_id.kind,
            auth_method=self.auth_method,
            encr=chosen.encr,
            integ=chosen.integ,
            prf=chosen.prf,
            dh_group=chosen.dh,
            lifetime_seconds=self.peer.lifetime_seconds,
            rekey_at=self.rekey_at if self.rekey_at is not None else now,
            nat_local=self.nat_local,
            nat_remote=self.nat_remote,
            fragmentation=self.peer_fragmentation and self.peer.fragmentation,
            established_at=self.established_at if self.established_at is not None else now,
        )

    def close(self) -> None:
        self.phase = Phase.CLOSED
        self.retrans.stop()
        self.active = None
        self.queue.clear()
        self.delayed.clear()

    def fail(self, reason: Reason, detail: str = "") -> None:
        """Negotiation failed before the SA was usable."""
        for c in list(self.children.values()):
            self.remove_child(c, Reason.IKE_SA_GONE)
        self.emit(IkeFailed(self.ref, self.peer.name, reason, detail))
        self.close()

    def hand_over_active(self, now: float) -> bool:
        """This rekeyed SA is going away with a child exchange still unanswered on it: run that
        exchange again on the SA the children moved to, so nothing is left half-done (a child
        deleted on one end only, RFC 7296 2.18). True when the exchange was handed over."""
        task = self.active
        # the newest SA the children went to: a later rekey may already have replaced the first
        live = [sa for sa in self.chain()[1:] if not sa.closed]
        if task is None or not live or self.phase is not Phase.REKEYED:
            return False
        succ = live[-1]
        if not isinstance(task, informational.ChildDeleteTask | child_create.ChildCreateTask):
            return False
        self.ctx.count("exchange handed over to the rekeyed IKE SA's successor")
        self.active = None
        self.retrans.stop()
        self.window.response_done()
        succ.queue_task(task, now, front=True)
        self.emit_all(succ.drain())
        self.ctx.touch(succ)
        return True

    def _retire_rekeyed(self, reason: Reason) -> list[Action]:
        """The old SA of a completed rekey goes without its delete exchange completing."""
        self.delete_everything(reason)
        return self.drain()

    def delete_everything(self, reason: Reason) -> None:
        """The IKE SA and all its children are gone (peer delete, expiry, dead peer)."""
        if self.phase in (Phase.INIT, Phase.AUTH):
            self.fail(reason)
            return
        for c in list(self.children.values()):
            self.remove_child(c, reason)
        self.emit(IkeDeleted(self.ref, self.peer.name, reason))
        self.close()

    def peer_dead(self, now: float) -> None:
        if self.phase in (Phase.INIT, Phase.AUTH):
            self.fail(Reason.PEER_NOT_RESPONDING)
            return
        if self.phase is Phase.REKEYED or (self.redundant and not self.children):
            # the old SA of a completed IKE rekey (its children moved on), or a collision's
            # redundant SA the peer has already forgotten: nothing was lost with it
            reason = Reason.REKEYED if self.phase is Phase.REKEYED else Reason.REDUNDANT
            self.emit(IkeDeleted(self.ref, self.peer.name, reason))
            self.close()
            return
        self.emit(PeerDead(self.ref, self.peer.name))
        self.delete_everything(Reason.PEER_NOT_RESPONDING)

    # ------------------------------------------------------------------ commands

    def initiate_child(
        self,
        config: ChildConfig,
        now: float,
        *,
        local_ts: tuple[TrafficSelector, ...] | None = None,
        remote_ts: tuple[TrafficSelector, ...] | None = None,
    ) -> list[Action]:

        self.queue_task(child_create.ChildCreateTask.new(config, local_ts, remote_ts), now)
        return self.drain()

    def rekey_child(self, unique_id: int, now: float) -> list[Action]:
        child = self.children.get(unique_id)
        if child is not None and child.state is ChildState.INSTALLED and self.established:
            child.rekey_at = None
            self.queue_task(child_create.ChildCreateTask.rekey(child), now)
        return self.drain()

    def rekey_ike(self, now: float) -> list[Action]:
        if self.established and not self.has_task(ike_rekey.IkeRekeyTask):
            self.rekey_at = None
            self.queue_task(ike_rekey.IkeRekeyTask(), now)
        return self.drain()

    def delete_child(self, unique_id: int, now: float) -> list[Action]:
        if unique_id in self.children and self.established:
            self.queue_task(informational.ChildDeleteTask(unique_id), now)
        return self.drain()

    def delete(self, now: float, reason: Reason = Reason.LOCAL_DELETE) -> list[Action]:
        if self.phase in (Phase.INIT, Phase.AUTH):
            self.fail(reason)
        elif self.phase in (Phase.ESTABLISHED, Phase.REKEYED) and not self.has_task(
            informational.IkeDeleteTask
        ):
            self.queue.clear()
            self.queue_task(informational.IkeDeleteTask(reason), now, front=True)
        return self.drain()

    def liveness_check(self, now: float) -> list[Action]:
        """Queue an empty INFORMATIONAL; every check gets its LivenessResult (or PeerDead)."""
        if self.established and not self.has_task(informational.LivenessTask):
            self.queue_task(informational.LivenessTask(), now)
        return self.drain()


def notify_error(notify: NotifyType | None) -> Reason:
    """The Reason for an error notify the peer sent."""
    if notify is None:
        return Reason.PEER_ERROR
    try:
        return Reason(notify.name)
    except ValueError:
        return Reason.PEER_ERROR


# The exchange modules build on the classes above, so they are imported last (import cycle).
from xfrmctl.keying.ikev2 import (  # noqa: E402
    child_create,
    ike_auth,
    ike_rekey,
    informational,
)
