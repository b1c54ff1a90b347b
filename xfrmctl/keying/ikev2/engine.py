"""All IKE SAs of the daemon: dispatch of datagrams by SPI, responder creation with half-open
limits and stateless COOKIEs (RFC 7296 2.6), commands from the daemon, and one timer heap.

Nothing raised by hostile input leaves `receive`: malformed datagrams are dropped and counted by
reason (`counters`), or answered with the error notify RFC 7296 asks for.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from xfrmctl.keying import dispatch
from xfrmctl.keying.constants import IKE_HEADER_SIZE, ExchangeType, HeaderFlag, NotifyType
from xfrmctl.keying.dispatch import (
    PeerTable,
    check_unique_names,
    posix_utc,
)
from xfrmctl.keying.errors import ParseError
from xfrmctl.keying.ikev2 import ike_init, wire
from xfrmctl.keying.ikev2.actions import Action, DeleteChild, Endpoint, IkeSaRef, Reason, Send
from xfrmctl.keying.ikev2.child_create import ChildCreateTask, ChildRequest
from xfrmctl.keying.ikev2.cookies import CookieJar
from xfrmctl.keying.ikev2.identity import Identity
from xfrmctl.keying.ikev2.informational import ChildDeleteTask
from xfrmctl.keying.ikev2.session import Ikev2Session, Phase, SessionContext
from xfrmctl.keying.ikev2.settings import EngineSettings, PeerConfig, Rng, SpiAllocator
from xfrmctl.keying.ikev2.ts import TrafficSelector

EngineError = dispatch.EngineError  # raised by the commands; shared by both engines


class Ikev2Engine:
    def __init__(
        self,
        peers: Sequence[PeerConfig],
        rng: Rng,
        *,
        settings: EngineSettings | None = None,
        spi_allocator: SpiAllocator | None = None,
        wall_clock: Callable[[float], datetime] | None = None,
    ) -> None:
        """`wall_clock` maps the `now` values given to the engine to UTC (certificate validity);
        by default `now` is taken as POSIX seconds."""
        check_unique_names(p.name for p in peers)
        self.peers = {p.name: p for p in peers}
        self.rng = rng
        self.settings = settings or EngineSettings()
        self.counters: Counter[str] = Counter()
        self.sessions: dict[int, Ikev2Session] = {}  # by our IKE SPI
        self._by_peer: dict[str, dict[int, Ikev2Session]] = {}  # the same, per gateway name
        self._half_open: dict[tuple[int, str], Ikev2Session] = {}  # by (SPIi, peer address)
        self._half_open_keys: dict[int, tuple[int, str]] = {}  # our SPI -> its half-open key
        self._reauthing: set[Ikev2Session] = set()  # new SAs replacing an old one
        self._heap: list[tuple[float, int, int]] = []
        self._deadlines: dict[int, float] = {}
        self._seq = 0
        self._unique = 0
        self._reqids: dict[tuple[str, str], int] = {}
        self._esp_spis: set[int] = set()
        self._pending_new: list[Ikev2Session] = []  # created by sessions, registered in _finish
        self._touched: list[Ikev2Session] = []  # sessions whose timers another one changed
        # live SAs by (peer name, authenticated peer id): INITIAL_CONTACT finds a restarted
        # peer's older SAs without a walk over every SA (kept in `_finish`)
        self._by_identity: dict[tuple[str, Identity], dict[int, Ikev2Session]] = {}
        self._identity_of: dict[int, tuple[str, Identity]] = {}  # our SPI -> its index key
        self.cookies = CookieJar(rng, self.settings.cookie_rotate_seconds)
        self._init_tokens = 0.0  # token bucket of `settings.init_rate`
        self._init_stamp: float | None = None
        self.raise_internal_errors = False  # tests set this to see bugs instead of counters
        self.ctx = SessionContext(
            rng=rng,
            settings=self.settings,
            spi_allocator=spi_allocator or self._allocate_esp_spi,
            count=self._count,
            next_unique_id=self._next_unique_id,
            reqid_for=self._reqid_for,
            new_ike_spi=self._new_ike_spi,
            wall_clock=wall_clock or posix_utc,
            has_other_sa=self._has_other_sa,
            reauthenticate=self._reauthenticate,
            touch=self._touched.append,
        )

    # ------------------------------------------------------------------ ids

    def _count(self, reason: str) -> None:
        self.counters[reason] += 1

    def _next_unique_id(self) -> int:
        self._unique += 1
        return self._unique

    def _reqid_for(self, peer: str, child: str) -> int:
        key = (peer, child)
        if key not in self._reqids:
            self._reqids[key] = len(self._reqids) + 1
        return self._reqids[key]

    def _new_ike_spi(self) -> int:
        while True:
            spi = int.from_bytes(self.rng(8), "big")
            if spi and spi not in self.sessions:
                return spi

    def _allocate_esp_spi(self) -> int:
        while True:
            spi = int.from_bytes(self.rng(4), "big")
            if spi >= 256 and spi not in self._esp_spis:
                self._esp_spis.add(spi)
                return spi

    # ------------------------------------------------------------------ bookkeeping

    def _reauthenticate(self, old: Ikev2Session, now: float) -> None:
        """Make-before-break: a fresh IKE SA with the same children; the old one is deleted
        once the new one is up (see `_finish`)."""
        configs = list(dict.fromkeys(c.config for c in old.children.values()))
        # the peer's current address (it may be a dynamic or NATed peer), port 500 unless NAT-T
        s = self._new_initiator(old.peer, now, local=old.local, remote=old.remote)
        if configs:
            s.first_child = ChildRequest.for_config(configs[0])
            for conf in configs[1:]:
                s.queue.append(ChildCreateTask.new(conf, None, None))
        s.reauth_of = old
        self._reauthing.add(s)
        self._pending_new.append(s)
        s.queue_task(ike_init.IkeInitTask(old.peer), now)
        old.emit_all(s.drain())
        self._count("reauthentication started")

    def _has_other_sa(self, s: Ikev2Session) -> bool:
        return any(
            o is not s and not o.closed and o.established
            for o in self._by_peer.get(s.peer.name, {}).values()
        )

    @property
    def half_open(self) -> int:
        return len(self._half_open)

    def _register(self, s: Ikev2Session) -> None:
        self.sessions[s.our_spi] = s
        self._by_peer.setdefault(s.peer.name, {})[s.our_spi] = s

    def _forget(self, s: Ikev2Session) -> None:
        del self.sessions[s.our_spi]
        of_peer = self._by_peer.get(s.peer.name, {})
        of_peer.pop(s.our_spi, None)
        if not of_peer:
            self._by_peer.pop(s.peer.name, None)

    def _finish(self, s: Ikev2Session, actions: list[Action], now: float) -> list[Action]:
        """After any call into a session: register SAs it created (rekeys, reauthentication),
        finish reauthentications, apply INITIAL_CONTACT, forget closed SAs and re-arm timers.
        Only the SAs involved in this call are looked at, so a packet costs O(1) SAs."""
        involved: list[Ikev2Session] = [s]
        for new in self._pending_new:
            self._register(new)
            involved.append(new)
        self._pending_new.clear()
        stack = [s]
        while stack:
            cur = stack.pop()
            for new in cur.successors:
                self._register(new)
                stack.append(new)
                involved.append(new)
            cur.successors.clear()
        involved += self._touched
        self._touched.clear()
        for sess in list(self._reauthing):
            old = sess.reauth_of
            if old is None or sess.established or sess.closed:
                self._reauthing.discard(sess)
                sess.reauth_of = None
                if old is not None and sess.established and not old.closed:
                    actions += old.delete(now, Reason.REAUTH)
                    involved.append(old)
        if s.initial_contact_seen:
            s.initial_contact_seen = False
            victims = self._initial_contact(s) if s.peer.unique_ids else []
            for victim in victims:
                actions += victim.drain()
            involved += victims
        for act in actions:
            if isinstance(act, DeleteChild):
                self._esp_spis.discard(act.spi_in)  # the default allocator may reuse it
        seen: set[int] = set()
        for sess in involved:
            if id(sess) in seen:
                continue
            seen.add(id(sess))
            spi = sess.our_spi
            if sess.closed or sess.phase is not Phase.AUTH:
                key = self._half_open_keys.pop(spi, None)
                if key is not None and self._half_open.get(key) is sess:
                    del self._half_open[key]
            if sess.closed:
                if self.sessions.get(spi) is sess:
                    self._forget(sess)
                    self._deadlines.pop(spi, None)
            elif self.sessions.get(spi) is sess:
                self._reschedule(sess)
            self._index_identity(sess)
        return actions

    def _index_identity(self, sess: Ikev2Session) -> None:
        """Keep `_by_identity` current for one SA (closed, or its peer id or name changed)."""
        spi = sess.our_spi
        key = None if sess.closed or sess.peer_id is None else (sess.peer.name, sess.peer_id)
        old = self._identity_of.get(spi)
        if old == key:
            return
        if old is not None:
            group = self._by_identity.get(old)
            if group is not None and group.get(spi) is sess:
                del group[spi]
                if not group:
                    del self._by_identity[old]
            del self._identity_of[spi]
        if key is not None:
            self._by_identity.setdefault(key, {})[spi] = sess
            self._identity_of[spi] = key

    def _initial_contact(self, s: Ikev2Session) -> list[Ikev2Session]:
        """RFC 7296 2.4: the peer restarted; its other IKE SAs with us are stale."""
        out: list[Ikev2Session] = []
        if s.peer_id is None:
            return out
        group = list(self._by_identity.get((s.peer.name, s.peer_id), {}).values())
        if len(group) > 1:  # the order the SAs were created in, as a walk over them gives
            order = {spi: i for i, spi in enumerate(self.sessions)}
            group.sort(key=lambda o: order.get(o.our_spi, -1))
        for other in group:
            if other is s or other.closed or other.peer.name != s.peer.name:
                continue
            if other.peer_id != s.peer_id or self.sessions.get(other.our_spi) is not other:
                continue
            self._count("IKE SA replaced by INITIAL_CONTACT")
            other.delete_everything(Reason.REPLACED)
            out.append(other)
        return out

    def _reschedule(self, s: Ikev2Session) -> None:
        deadline = s.next_deadline()
        spi = s.our_spi
        if deadline is None:
            self._deadlines.pop(spi, None)
            return
        if self._deadlines.get(spi) == deadline:
            return
        self._deadlines[spi] = deadline
        self._seq += 1
        heapq.heappush(self._heap, (deadline, self._seq, spi))

    # ------------------------------------------------------------------ datagrams

    def receive(
        self, datagram: bytes, local: Endpoint, remote: Endpoint, now: float
    ) -> list[Action]:
        """One IKE message (without the non-ESP marker of port 4500)."""
        try:
            return self._receive(datagram, local, remote, now)
        except Exception as exc:
            if self.raise_internal_errors:
                raise
            self._count(f"dropped: {type(exc).__name__}")
            return []

    def _receive(
        self, datagram: bytes, local: Endpoint, remote: Endpoint, now: float
    ) -> list[Action]:
        try:
            msg = wire.Inbound.parse(datagram)
        except ParseError as exc:
            self._count("invalid syntax")
            return self._answer_parse_error(datagram, exc, local, remote)
        if msg.exchange is ExchangeType.IKE_SA_INIT and not msg.response and msg.spi_r == 0:
            return self._ike_sa_init(msg, local, remote, now)
        our_spi = msg.spi_r if msg.from_initiator else msg.spi_i
        s = self.sessions.get(our_spi)
        if s is None or (msg.from_initiator == s.initiator):
            self._count("unknown IKE SPI")
            return []
        if s.initiator and msg.spi_r != s.spi_r and s.phase is not Phase.INIT:
            self._count("unknown IKE SPI")
            return []
        if not s.initiator and msg.spi_i != s.spi_i:
            self._count("unknown IKE SPI")
            return []
        actions = s.receive(msg, local, remote, now)
        return self._finish(s, actions, now)

    def _answer_parse_error(
        self, datagram: bytes, exc: ParseError, local: Endpoint, remote: Endpoint
    ) -> list[Action]:
        """Only a first IKE_SA_INIT request gets an (unprotected) error notify, and only for
        the two errors RFC 7296 asks to report: INVALID_MAJOR_VERSION (3.1, data: the highest
        version we speak) and UNSUPPORTED_CRITICAL_PAYLOAD (2.5, data: the payload type)."""
        if exc.notify not in (NotifyType.INVALID_MAJOR_VERSION,
                              NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD):  # fmt: skip
            return []
        if len(datagram) < IKE_HEADER_SIZE:
            return []
        spi_i = int.from_bytes(datagram[0:8], "big")
        spi_r = int.from_bytes(datagram[8:16], "big")
        exchange, flags = datagram[18], datagram[19]
        mid = int.from_bytes(datagram[20:24], "big")
        if exchange != ExchangeType.IKE_SA_INIT or flags & HeaderFlag.RESPONSE or spi_r or mid:
            return []
        assert exc.notify is not None
        data = exc.data if exc.notify is NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD else bytes([0x20])
        header = wire.Header(spi_i, 0, ExchangeType.IKE_SA_INIT, 0, response=True, initiator=False)
        self._count(f"answered {exc.notify.name}")
        return [Send(wire.encode_plain(header, [wire.notify(exc.notify, data)]), local, remote)]

    @property
    def peers(self) -> PeerTable[PeerConfig]:
        return self._peers

    @peers.setter
    def peers(self, peers: Mapping[str, PeerConfig]) -> None:
        self._peers = PeerTable(peers)

    def _candidates(self, local: Endpoint, remote: Endpoint) -> tuple[PeerConfig, ...]:
        return tuple(self.peers.candidates(remote[0], local[0]))

    def _ike_sa_init(
        self, msg: wire.Inbound, local: Endpoint, remote: Endpoint, now: float
    ) -> list[Action]:
        key = (msg.spi_i, remote[0])
        existing = self._half_open.get(key)
        if existing is not None:
            return self._finish(existing, existing.receive(msg, local, remote, now), now)
        candidates = self._candidates(local, remote)
        if not candidates:
            self._count("no matching peer configuration")
            err = [wire.notify(NotifyType.NO_PROPOSAL_CHOSEN)]
            return [ike_init.stateless_reply(msg, err, local, remote)]
        if self.half_open >= self.settings.half_open_limit:
            self._count("half-open limit reached")
            return []
        if self.half_open >= self.settings.cookie_threshold:
            nonce = msg.nonce() or b""
            cookie = msg.notify(NotifyType.COOKIE)
            if cookie is None or not self.cookies.verify(
                cookie.data, nonce, remote[0], msg.spi_i, now
            ):
                self._count("COOKIE demanded" if cookie is None else "invalid COOKIE")
                data = self.cookies.make(nonce, remote[0], msg.spi_i, now)
                return [ike_init.stateless_reply(msg, [wire.notify(NotifyType.COOKIE, data)],
                                                 local, remote)]  # fmt: skip
        if not self._admit_init(now):
            self._count("IKE_SA_INIT rate limit")
            return []
        s, actions = ike_init.respond(self.ctx, candidates, msg, local=local, remote=remote,
                                      now=now)  # fmt: skip
        if s is None:
            return actions
        self._register(s)
        self._half_open[key] = s
        self._half_open_keys[s.our_spi] = key
        return self._finish(s, actions, now)

    def _admit_init(self, now: float) -> bool:
        """A token for one more responder Diffie-Hellman: `init_rate` per second, bursts of one
        second's worth. Past the cookie check, so what it sheds comes from real addresses."""
        rate = self.settings.init_rate
        if rate <= 0:
            return True
        if self._init_stamp is None:
            self._init_tokens = float(rate)
        else:
            elapsed = max(0.0, now - self._init_stamp)
            self._init_tokens = min(float(rate), self._init_tokens + elapsed * rate)
        self._init_stamp = now
        if self._init_tokens < 1.0:
            return False
        self._init_tokens -= 1.0
        return True

    # ------------------------------------------------------------------ commands

    def _new_initiator(
        self,
        conf: PeerConfig,
        now: float,
        *,
        local: Endpoint | None = None,
        remote: Endpoint | None = None,
    ) -> Ikev2Session:
        assert remote is not None or conf.remote_address is not None
        return Ikev2Session(
            self.ctx,
            conf,
            initiator=True,
            spi_i=self._new_ike_spi(),
            spi_r=0,
            local=local or (conf.local_address, conf.local_port),
            remote=remote or (str(conf.remote_address), conf.remote_port),
            now=now,
        )

    def _peer(self, name: str) -> PeerConfig:
        try:
            return self.peers[name]
        except KeyError:
            raise EngineError(f"no peer {name!r}") from None

    def sessions_of(self, peer: str) -> list[Ikev2Session]:
        return [s for s in self._by_peer.get(peer, {}).values() if not s.closed]

    def _usable(self, peer: str) -> Ikev2Session | None:
        for s in self.sessions_of(peer):
            if s.phase in (Phase.INIT, Phase.AUTH, Phase.ESTABLISHED) and s.reauth_of is None:
                return s
        return None

    def initiate(
        self,
        peer: str,
        child: str | None,
        now: float,
        *,
        local_ts: tuple[TrafficSelector, ...] | None = None,
        remote_ts: tuple[TrafficSelector, ...] | None = None,
    ) -> list[Action]:
        """Bring up the peer's IKE SA (reusing an existing one) and the named child on it."""
        conf = self._peer(peer)
        child_conf = conf.child(child) if child is not None else None
        existing = self._usable(peer)
        if existing is not None:
            if child_conf is None:
                return []
            if existing.phase is Phase.ESTABLISHED:
                if any(c.config.name == child_conf.name for c in existing.children.values()):
                    return []
                acts = existing.initiate_child(child_conf, now, local_ts=local_ts,
                                               remote_ts=remote_ts)  # fmt: skip
                return self._finish(existing, acts, now)
            first = existing.first_child
            if first is not None and first.config.name == child_conf.name:
                return []
            existing.queue.append(ChildCreateTask.new(child_conf, local_ts, remote_ts))
            return []
        if conf.remote_address is None:
            raise EngineError(f"peer {peer!r} has no remote address to initiate to")
        s = self._new_initiator(conf, now)
        if child_conf is not None:
            s.first_child = ChildRequest.for_config(child_conf, local_ts, remote_ts)
        self._register(s)
        s.queue_task(ike_init.IkeInitTask(conf), now)
        return self._finish(s, s.drain(), now)

    def acquire(
        self,
        peer: str,
        child: str,
        now: float,
        *,
        local_ts: TrafficSelector | None = None,
        remote_ts: TrafficSelector | None = None,
    ) -> list[Action]:
        """Kernel ACQUIRE: traffic wants a child that is not up. The packet's selectors go first."""
        conf = self._peer(peer).child(child)
        lts = (local_ts, *conf.local_ts) if local_ts is not None else None
        rts = (remote_ts, *conf.remote_ts) if remote_ts is not None else None
        return self.initiate(peer, child, now, local_ts=lts, remote_ts=rts)

    def _find_child(self, spi: int) -> tuple[Ikev2Session, int] | None:
        for s in self.sessions.values():
            for c in s.children.values():
                if spi in (c.spi_in, c.spi_out):
                    return s, c.unique_id
        return None

    def child_expired(self, spi: int, hard: bool, now: float) -> list[Action]:
        """Kernel EXPIRE for a child SA (either direction's SPI): soft rekeys, hard deletes."""
        found = self._find_child(spi)
        if found is None:
            self._count("expire for an unknown child SA")
            return []
        s, uid = found
        if not hard:
            return self._finish(s, s.rekey_child(uid, now), now)
        child = s.children[uid]
        s.expired_spis[uid] = child.spi_in
        s.remove_child(child, Reason.EXPIRED)
        if s.established:
            s.queue_task(ChildDeleteTask(uid, notify_only=True), now)
        return self._finish(s, s.drain(), now)

    def _lookup(self, ref: IkeSaRef) -> Ikev2Session | None:
        """O(1): sessions are keyed by our SPI, which is one of the pair."""
        for spi in (ref.spi_i, ref.spi_r):
            s = self.sessions.get(spi)
            if s is not None and s.ref == ref and not s.closed:
                return s
        return None

    def _session(self, ref: IkeSaRef) -> Ikev2Session:
        s = self._lookup(ref)
        if s is None:
            raise EngineError(f"no IKE SA {ref}")
        return s

    def _session_of_child(self, unique_id: int) -> Ikev2Session:
        for s in self.sessions.values():
            if unique_id in s.children:
                return s
        raise EngineError(f"no child SA {unique_id}")

    def rekey_child(self, unique_id: int, now: float) -> list[Action]:
        s = self._session_of_child(unique_id)
        return self._finish(s, s.rekey_child(unique_id, now), now)

    def delete_child(self, unique_id: int, now: float) -> list[Action]:
        s = self._session_of_child(unique_id)
        return self._finish(s, s.delete_child(unique_id, now), now)

    def rekey_ike(self, ref: IkeSaRef, now: float) -> list[Action]:
        s = self._session(ref)
        return self._finish(s, s.rekey_ike(now), now)

    def delete_ike(self, ref: IkeSaRef, now: float) -> list[Action]:
        s = self._session(ref)
        return self._finish(s, s.delete(now), now)

    def liveness_check(self, ref: IkeSaRef, now: float) -> list[Action]:
        s = self._session(ref)
        return self._finish(s, s.liveness_check(now), now)

    def peer_dead(self, ref: IkeSaRef, now: float) -> list[Action]:
        """DPD's verdict: drop the IKE SA and its children at once, sending nothing.

        A delete exchange would only queue behind the unanswered liveness check (window 1) and
        retransmit into the void; the peer is gone, so its SAs go now: `PeerDead`, a `DeleteChild`
        per child and `IkeDeleted`, all with `Reason.PEER_NOT_RESPONDING` ("Peer is not
        responding", as `xfrmctl.dpd.DownReason`). If an IKE rekey moved the children on, the
        SA they moved to goes too: the peer behind both is the same."""
        s = self._session(ref)
        out: list[Action] = []
        for sa in s.chain():
            if sa.closed:
                continue
            self._count("IKE SA declared dead by DPD")
            sa.peer_dead(now)
            out += self._finish(sa, sa.drain(), now)
        return out

    def last_authenticated_rx(self, ref: IkeSaRef) -> float | None:
        """When a message that passed this IKE SA's integrity check last arrived (requests and
        responses; retransmitted requests excluded, a replay proves nothing), None if none did
        or the SA is unknown. DPD evidence for `LivenessManager.ike_message_received`.

        A query rather than an action per message: with 10,000 tunnels the receive path then
        costs one float store per message and no allocation or dispatch in the daemon, and the
        daemon asks only when DPD is about to probe or to declare the peer dead, which happens
        only for peers whose evidence is already stale (see `tests/keying/ikev2/test_ikev2_dpd.py`
        for the wiring)."""
        s = self._lookup(ref)
        return None if s is None else s.authenticated_rx

    # ------------------------------------------------------------------ timers

    def next_deadline(self) -> float | None:
        while self._heap:
            deadline, _, spi = self._heap[0]
            if self._deadlines.get(spi) == deadline:
                return deadline
            heapq.heappop(self._heap)
        return None

    def on_timer(self, now: float) -> list[Action]:
        out: list[Action] = []
        while self._heap and self._heap[0][0] <= now:
            deadline, _, spi = heapq.heappop(self._heap)
            if self._deadlines.get(spi) != deadline:
                continue
            del self._deadlines[spi]
            s = self.sessions.get(spi)
            if s is None:
                continue
            out += self._finish(s, s.on_timer(now), now)
        return out
