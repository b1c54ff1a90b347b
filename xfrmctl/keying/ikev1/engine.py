"""All IKEv1 SAs of the daemon, with the same driving API as `Ikev2Engine`.

The daemon feeds datagrams whose ISAKMP header says version 1.0 here (IKEv2 is 2.0) and executes
the same action types. Phase-2 SAs are owned by the engine, not by the ISAKMP SA that negotiated
them: a phase-1 expiry or delete leaves them installed, and their rekey uses whichever ISAKMP SA
of the peer is up, starting a new phase 1 when none is (spec §3.5).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from xfrmctl.keying import dispatch
from xfrmctl.keying.constants import ProtocolId
from xfrmctl.keying.dispatch import (
    PeerTable,
    check_unique_names,
    same_address,
)
from xfrmctl.keying.errors import ParseError
from xfrmctl.keying.ikev1.constants import Exchange
from xfrmctl.keying.ikev1.quick import QuickMode
from xfrmctl.keying.ikev1.session import IsakmpSa, State, WallClock, posix_wall_clock
from xfrmctl.keying.ikev1.settings import ExchangeMode, Ikev1PeerConfig
from xfrmctl.keying.ikev1.sigauth import LocalCert
from xfrmctl.keying.ikev1.wire import Message
from xfrmctl.keying.ikev2.actions import (
    Action,
    DeleteChild,
    Endpoint,
    IkeSaRef,
    InstallChild,
    Lifetime,
    PeerDead,
    Reason,
)
from xfrmctl.keying.ikev2.retransmit import RetransmitPolicy
from xfrmctl.keying.ikev2.settings import CertAuth, ChildConfig, Rng, SpiAllocator
from xfrmctl.keying.ikev2.ts import TrafficSelector

EngineError = dispatch.EngineError  # raised by the commands; shared by both engines

_ZERO = bytes(8)
HALF_OPEN_LIMIT = 1000
_FINISHED_MEMORY = 4096


@dataclass
class Ikev1Child:
    """An installed phase-2 SA pair."""

    unique_id: int
    peer: str
    config: ChildConfig
    reqid: int
    spi_in: int
    spi_out: int
    local: str
    remote: Endpoint
    ike_sa: IkeSaRef
    local_ts: TrafficSelector
    remote_ts: TrafficSelector
    rekeyed: bool = False  # a successor exists (ours or the peer's): never rekeyed again


class Ikev1Engine:
    def __init__(
        self,
        peers: Sequence[Ikev1PeerConfig],
        rng: Rng,
        *,
        spi_allocator: SpiAllocator | None = None,
        wall_clock: WallClock | None = None,
        reqid_for: Callable[[str, str], int] | None = None,
        next_unique_id: Callable[[], int] | None = None,
    ) -> None:
        """`reqid_for` and `next_unique_id` let a daemon running this engine beside the IKEv2
        one share one reqid and one child-id space between them."""
        check_unique_names(p.name for p in peers)
        self.peers = {p.name: p for p in peers}
        self.rng = rng
        self.counters: Counter[str] = Counter()
        self.wall_clock = wall_clock or posix_wall_clock
        self.default_retransmit = RetransmitPolicy()
        self.raise_internal_errors = False  # tests set this to see bugs instead of counters
        self.sas: dict[bytes, IsakmpSa] = {}  # by CKY-I | CKY-R
        self._initiating: dict[bytes, IsakmpSa] = {}  # by CKY-I, until the responder answers
        self._half_open: dict[tuple[bytes, str], IsakmpSa] = {}  # responder, by (CKY-I, addr)
        self.half_open_limit = HALF_OPEN_LIMIT  # a daemon sets its configured limit
        self.children: dict[int, Ikev1Child] = {}
        self.finished_quick: set[int] = set()
        self._finished_order: list[int] = []
        self._spi_allocator = spi_allocator
        self._spis: set[int] = set()
        self._unique = 0
        self._reqids: dict[tuple[str, str], int] = {}
        self._reqid_source = reqid_for or self._own_reqid
        self._unique_source = next_unique_id or self._own_unique_id
        self._certs: dict[CertAuth, LocalCert] = {}

    @property
    def half_open(self) -> int:
        """Responder ISAKMP SAs still negotiating Main or Aggressive Mode."""
        return len(self._half_open)

    # ------------------------------------------------------------------ services for SAs

    def count(self, what: str) -> None:
        self.counters[what] += 1

    def message_id(self) -> int:
        while True:
            mid = int.from_bytes(self.rng(4), "big")
            if mid and mid not in self.finished_quick:
                return mid

    def allocate_spi(self) -> int:
        if self._spi_allocator is not None:
            return self._spi_allocator()
        while True:
            spi = int.from_bytes(self.rng(4), "big")
            if spi >= 256 and spi not in self._spis:
                self._spis.add(spi)
                return spi

    def local_cert(self, auth: CertAuth) -> LocalCert:
        if auth not in self._certs:
            self._certs[auth] = LocalCert.load(auth)
        return self._certs[auth]

    def _cookie(self) -> bytes:
        while True:
            c = self.rng(8)
            if c != _ZERO:
                return c

    def register_responder_cookie(self, sa: IsakmpSa) -> None:
        self._initiating.pop(sa.cky_i, None)
        self.sas[sa.cky_i + sa.cky_r] = sa

    def _remember_finished(self, mid: int) -> None:
        self._finished_order.append(mid)
        if len(self._finished_order) > _FINISHED_MEMORY:
            old = self._finished_order.pop(0)
            self.finished_quick.discard(old)

    # ------------------------------------------------------------------ children

    def _reqid_for(self, peer: str, child: str) -> int:
        return self._reqid_source(peer, child)

    def _own_unique_id(self) -> int:
        self._unique += 1
        return self._unique

    def _own_reqid(self, peer: str, child: str) -> int:
        key = (peer, child)
        if key not in self._reqids:
            self._reqids[key] = len(self._reqids) + 1
        return self._reqids[key]

    def install(self, sa: IsakmpSa, q: QuickMode, now: float) -> list[Action]:
        assert sa.peer is not None and q.suite is not None and q.keys is not None
        self._remember_finished(q.message_id)
        conf = q.child
        rekey_of = q.rekey_of
        if rekey_of is None:
            for c in self.children.values():
                if c.peer == sa.peer.name and c.config.name == conf.name and not c.rekeyed and (
                    (c.local_ts, c.remote_ts) == (q.local_ts, q.remote_ts)
                ):  # fmt: skip
                    rekey_of = c.unique_id
                    c.rekeyed = True
                    break
        uid = self._unique_source()
        u = int.from_bytes(self.rng(2), "big") / 65535
        frac = 1 - conf.rekey_margin - conf.rekey_jitter * u
        hard_b = q.lifetime_kilobytes * 1024
        lifetime = Lifetime(int(q.lifetime_seconds * frac), q.lifetime_seconds,
                            int(hard_b * frac), hard_b)  # fmt: skip
        self.children[uid] = Ikev1Child(
            uid, sa.peer.name, conf, self._reqid_for(sa.peer.name, conf.name), q.spi_in,
            q.spi_out, sa.local[0], sa.remote, sa.ref, q.local_ts, q.remote_ts,
        )  # fmt: skip
        install = InstallChild(
            ike_sa=sa.ref, child=conf.name, unique_id=uid,
            reqid=self._reqid_for(sa.peer.name, conf.name), protocol=ProtocolId.ESP,
            mode=conf.mode.value, spi_in=q.spi_in, spi_out=q.spi_out, local=sa.local[0],
            remote=sa.remote[0], encr=q.suite.encryption, integ=q.suite.integrity,
            encr_key_in=q.keys.encr_in, integ_key_in=q.keys.integ_in,
            encr_key_out=q.keys.encr_out, integ_key_out=q.keys.integ_out, esn=False,
            replay_window=conf.replay_window, local_ts=(q.local_ts,), remote_ts=(q.remote_ts,),
            if_id=conf.if_id, encap=(sa.local[1], sa.remote[1]) if sa.natted else None,
            lifetime=lifetime, initiator=q.initiator,
            dh_group=q.suite.pfs.ike_id if q.suite.pfs else None, rekey_of=rekey_of,
        )  # fmt: skip
        self.count("phase 2 installed")
        out: list[Action] = [install]
        if q.initiator and q.rekey_of is not None and q.rekey_of in self.children:
            old = self.children[q.rekey_of]
            out += sa.delete_child_spi(old.spi_in)
            out.append(self._drop_child(old, Reason.REKEYED))
        return out

    def _drop_child(self, c: Ikev1Child, reason: Reason) -> DeleteChild:
        del self.children[c.unique_id]
        self._spis.discard(c.spi_in)
        return DeleteChild(c.ike_sa, c.config.name, c.unique_id, ProtocolId.ESP, c.spi_in,
                           c.spi_out, c.local, c.remote[0], reason)  # fmt: skip

    def peer_deleted_child(self, peer: str, spi: int, now: float) -> list[Action]:
        """A peer's DELETE names its inbound SPI (our outbound); strongSwan names the other one
        when it withdraws an SA it failed to install, so both are accepted."""
        mine = [c for c in self.children.values() if c.peer == peer]
        for c in [*(c for c in mine if c.spi_out == spi), *(c for c in mine if c.spi_in == spi)]:
            self.count("phase 2 deleted by peer")
            return [self._drop_child(c, Reason.PEER_DELETED)]
        self.count("delete for an unknown phase-2 SA")
        return []

    def initial_contact(self, sa: IsakmpSa, now: float) -> list[Action]:
        """The peer starts from nothing: every other SA we hold with it is stale."""
        out: list[Action] = []
        for other in list(self.sas.values()):
            if other is not sa and other.peer_name == sa.peer_name and same_address(
                other.remote[0], sa.remote[0]
            ):  # fmt: skip
                out += other.delete(now, Reason.REPLACED, announce=False)
        for c in list(self.children.values()):
            if c.peer == sa.peer_name and same_address(c.remote[0], sa.remote[0]):
                out.append(self._drop_child(c, Reason.REPLACED))
        return out

    def drop_peer(self, sa: IsakmpSa, now: float) -> list[Action]:
        """Every SA of `sa`'s peer goes, announcing nothing (the peer does not answer)."""
        out: list[Action] = []
        for c in list(self.children.values()):
            if c.peer == sa.peer_name:
                out.append(self._drop_child(c, Reason.PEER_NOT_RESPONDING))
        for other in list(self.sas.values()):
            if other.peer_name == sa.peer_name:
                out += other.delete(now, Reason.PEER_NOT_RESPONDING, announce=False)
        return out

    # ------------------------------------------------------------------ SAs

    def sessions_of(self, peer: str) -> list[IsakmpSa]:
        seen = {id(s): s for s in (*self.sas.values(), *self._initiating.values())}
        return [s for s in seen.values() if s.peer_name == peer and s.state is not State.DELETED]

    def _usable(self, peer: str) -> IsakmpSa | None:
        live = [s for s in self.sessions_of(peer) if s.successor is None]
        up = [s for s in live if s.established]
        if up:
            return max(up, key=lambda s: s.established_at)
        return live[-1] if live else None

    def _new_initiator(self, conf: Ikev1PeerConfig, local: Endpoint, remote: Endpoint,
                       now: float) -> IsakmpSa:  # fmt: skip
        sa = IsakmpSa(self, conf, True, self._cookie(), local, remote, now)
        self._initiating[sa.cky_i] = sa
        return sa

    def rekey_phase1(self, old: IsakmpSa, now: float) -> list[Action]:
        assert old.peer is not None
        self.count("phase 1 rekey started")
        new = self._new_initiator(old.peer, old.local, old.remote, now)
        new.rekey_of = old
        old.successor = new
        return new.start(now)

    def _peer(self, name: str) -> Ikev1PeerConfig:
        try:
            return self.peers[name]
        except KeyError:
            raise EngineError(f"no IKEv1 peer {name!r}") from None

    def _session(self, ref: IkeSaRef) -> IsakmpSa:
        for s in self.sas.values():
            if s.ref == ref and s.state is not State.DELETED:
                return s
        raise EngineError(f"no ISAKMP SA {ref}")

    # ------------------------------------------------------------------ datagrams

    def receive(
        self, datagram: bytes, local: Endpoint, remote: Endpoint, now: float
    ) -> list[Action]:
        """One ISAKMP message (without the non-ESP marker of port 4500)."""
        try:
            return self._receive(datagram, local, remote, now)
        except ParseError as exc:
            self.count(f"dropped: {exc}")
            return []
        except Exception as exc:
            if self.raise_internal_errors:
                raise
            self.count(f"dropped: {type(exc).__name__}")
            return []

    def _receive(
        self, datagram: bytes, local: Endpoint, remote: Endpoint, now: float
    ) -> list[Action]:
        msg = Message.decode(datagram)
        h = msg.header
        if h.spi_r == _ZERO:
            if h.exchange not in (Exchange.MAIN, Exchange.AGGRESSIVE) or h.encrypted:
                self.count("unknown ISAKMP SA")
                return []
            half = self._half_open.get((h.spi_i, remote[0]))
            if half is not None:
                return half.receive(msg, datagram, local, remote, now)
            return self._new_responder(msg, datagram, local, remote, now)
        sa = self.sas.get(h.spi_i + h.spi_r)
        if sa is None:
            sa = self._initiating.get(h.spi_i)
            if sa is None or sa.state not in (State.I_MM1, State.I_AM1):
                self.count("unknown ISAKMP SA")
                return []
        out = sa.receive(msg, datagram, local, remote, now)
        if sa.established:
            self._half_open.pop((sa.cky_i, sa.remote[0]), None)
        self._cleanup()
        return out

    @property
    def peers(self) -> PeerTable[Ikev1PeerConfig]:
        return self._peers

    @peers.setter
    def peers(self, peers: Mapping[str, Ikev1PeerConfig]) -> None:
        self._peers = PeerTable(peers)

    def _candidates(self, local: str, remote: str, mode: ExchangeMode) -> list[Ikev1PeerConfig]:
        """The gateways for `remote` (then the dynamic ones) in `mode` on this local address."""
        return [p for p in self.peers.candidates(remote, local) if p.mode is mode]

    def _new_responder(self, msg: Message, datagram: bytes, local: Endpoint, remote: Endpoint,
                       now: float) -> list[Action]:  # fmt: skip
        if len(self._half_open) >= self.half_open_limit:
            self.count("half-open limit reached")
            return []
        mode = ExchangeMode.MAIN if msg.header.exchange == Exchange.MAIN else (
            ExchangeMode.AGGRESSIVE)  # fmt: skip
        candidates = self._candidates(local[0], remote[0], mode)
        if not candidates:
            self.count("no matching peer configuration")
            return []
        sa = IsakmpSa(self, None, False, msg.header.spi_i, local, remote, now)
        sa.cky_r = self._cookie()
        if mode is ExchangeMode.MAIN:
            out = sa.respond_mm1(msg, candidates, now)
        else:
            out = sa.respond_am1(msg, candidates, now)
        if sa.state is State.DELETED:
            return out
        sa.last_in = datagram
        self.sas[sa.cky_i + sa.cky_r] = sa
        self._half_open[(sa.cky_i, remote[0])] = sa
        return out

    def _cleanup(self) -> None:
        for key, s in list(self.sas.items()):
            if s.state is State.DELETED:
                del self.sas[key]
                self._half_open.pop((s.cky_i, s.remote[0]), None)
        for key, s in list(self._initiating.items()):
            if s.state is State.DELETED:
                del self._initiating[key]
        for hkey, s in list(self._half_open.items()):
            if s.state is State.DELETED:
                del self._half_open[hkey]

    # ------------------------------------------------------------------ commands

    def initiate(
        self,
        peer: str,
        child: str | None,
        now: float,
        *,
        local_ts: TrafficSelector | None = None,
        remote_ts: TrafficSelector | None = None,
    ) -> list[Action]:
        """Bring up the peer's ISAKMP SA (reusing one) and the named phase-2 SA on it."""
        conf = self._peer(peer)
        child_conf = conf.child(child) if child is not None else None
        if child_conf is not None and any(
            c.peer == peer and c.config.name == child_conf.name and not c.rekeyed
            for c in self.children.values()
        ):
            return []
        return self._bring_up(conf, child_conf, None, now, local_ts, remote_ts)

    def _bring_up(  # noqa: PLR0917
        self, conf: Ikev1PeerConfig, child: ChildConfig | None, rekey_of: int | None, now: float,
        local_ts: TrafficSelector | None = None, remote_ts: TrafficSelector | None = None,
        remote: Endpoint | None = None,
    ) -> list[Action]:  # fmt: skip
        sa = self._usable(conf.name)
        if sa is not None and sa.established:
            if child is None:
                return []
            if any(q.initiator and q.keys is None and q.child.name == child.name
                   for q in sa.quick.values()):  # fmt: skip
                return []
            return sa.start_quick(child, now, rekey_of=rekey_of, local_ts=local_ts,
                                  remote_ts=remote_ts)  # fmt: skip
        if sa is not None:
            if child is not None and all(c.name != child.name for c, _ in sa.pending):
                sa.pending.append((child, rekey_of))
            return []
        if remote is None:
            if conf.remote_address is None:
                raise EngineError(f"peer {conf.name!r} has no remote address to initiate to")
            remote = (conf.remote_address, conf.remote_port)
        sa = self._new_initiator(conf, (conf.local_address, conf.local_port), remote, now)
        if child is not None:
            sa.pending.append((child, rekey_of))
        return sa.start(now)

    def acquire(
        self,
        peer: str,
        child: str,
        now: float,
        *,
        local_ts: TrafficSelector | None = None,
        remote_ts: TrafficSelector | None = None,
    ) -> list[Action]:
        """Kernel ACQUIRE: IKEv1 proposes the configured proxy IDs (what Junos does)."""
        return self.initiate(peer, child, now)

    def _find_child(self, spi: int) -> Ikev1Child | None:
        for c in self.children.values():
            if spi in (c.spi_in, c.spi_out):
                return c
        return None

    def child_expired(self, spi: int, hard: bool, now: float) -> list[Action]:
        """Kernel EXPIRE (either direction's SPI): soft rekeys, hard deletes."""
        c = self._find_child(spi)
        if c is None:
            self.count("expire for an unknown phase-2 SA")
            return []
        if not hard:
            return self.rekey_child(c.unique_id, now)
        return self.delete_child(c.unique_id, now, reason=Reason.EXPIRED)

    def rekey_child(self, unique_id: int, now: float) -> list[Action]:
        c = self.children.get(unique_id)
        if c is None:
            raise EngineError(f"no phase-2 SA {unique_id}")
        if c.rekeyed:
            return []
        c.rekeyed = True
        self.count("phase 2 rekey started")
        return self._bring_up(self._peer(c.peer), c.config, unique_id, now, c.local_ts,
                              c.remote_ts, c.remote)  # fmt: skip

    def delete_child(
        self, unique_id: int, now: float, *, reason: Reason = Reason.LOCAL_DELETE
    ) -> list[Action]:
        c = self.children.get(unique_id)
        if c is None:
            raise EngineError(f"no phase-2 SA {unique_id}")
        out: list[Action] = []
        sa = self._usable(c.peer)
        if sa is not None and sa.established:
            out += sa.delete_child_spi(c.spi_in)
        out.append(self._drop_child(c, reason))
        return out

    def rekey_ike(self, ref: IkeSaRef, now: float) -> list[Action]:
        sa = self._session(ref)
        if sa.successor is not None or not sa.established:
            return []
        return self.rekey_phase1(sa, now)

    def delete_ike(self, ref: IkeSaRef, now: float) -> list[Action]:
        """Delete one ISAKMP SA; its phase-2 SAs stay (use delete_child for those)."""
        out = self._session(ref).delete(now, Reason.LOCAL_DELETE)
        self._cleanup()
        return out

    def liveness_check(self, ref: IkeSaRef, now: float) -> list[Action]:
        """Send R-U-THERE; the answer is a LivenessResult (or PeerDead after the retries)."""
        return self._session(ref).liveness_check(now)

    def peer_dead(self, ref: IkeSaRef, now: float) -> list[Action]:
        """DPD's verdict (as `Ikev2Engine.peer_dead`): `PeerDead`, then every phase-2 and
        ISAKMP SA of that peer is dropped without a message."""
        sa = self._session(ref)
        self.count("ISAKMP SA declared dead by DPD")
        out: list[Action] = [PeerDead(sa.ref, sa.peer_name), *self.drop_peer(sa, now)]
        self._cleanup()
        return out

    def last_authenticated_rx(self, ref: IkeSaRef) -> float | None:
        """When a message that passed this ISAKMP SA's HASH last arrived (retransmissions
        excluded); None if none did or the SA is unknown. DPD evidence, as in IKEv2."""
        for s in self.sas.values():
            if s.ref == ref and s.state is not State.DELETED:
                return s.authenticated_rx
        return None

    # ------------------------------------------------------------------ timers

    def _all(self) -> list[IsakmpSa]:
        seen = {id(s): s for s in (*self.sas.values(), *self._initiating.values())}
        return list(seen.values())

    def next_deadline(self) -> float | None:
        times = [t for s in self._all() if (t := s.next_deadline()) is not None]
        return min(times) if times else None

    def on_timer(self, now: float) -> list[Action]:
        out: list[Action] = []
        for s in self._all():
            d = s.next_deadline()
            if d is not None and d <= now:
                out += s.on_timer(now)
            s.forget_quick(now)
        self._cleanup()
        return out
