"""The daemon's two IKE engines behind the one driving API the runtime uses.

A gateway is `version v2-only` (`Ikev2Engine`) or `v1-only` (`Ikev1Engine`, the Junos default)
and never falls back to the other (spec §1.2). Datagrams on 500/4500 go to the engine their
ISAKMP header's version octet names (0x10 / 0x20); a version that no gateway of that peer
address is configured for is dropped, counted, and logged once per peer address and version.
Commands go to the engine that owns the peer, IKE SA or child SA they name.

Both engines draw reqids, child unique ids and ESP SPIs from one allocator, so kernel objects
of an IKEv1 and an IKEv2 VPN never collide.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from xfrmctl.config.model import IkeFloodProtection
from xfrmctl.daemon.store import ts_identity
from xfrmctl.keying.dispatch import PeerTable
from xfrmctl.keying.ikev1 import EngineError as Ikev1EngineError
from xfrmctl.keying.ikev1 import Ikev1Engine, Ikev1PeerConfig
from xfrmctl.keying.ikev1.session import IsakmpSa, State
from xfrmctl.keying.ikev2.actions import Action, Endpoint, IkeSaRef
from xfrmctl.keying.ikev2.engine import EngineError, Ikev2Engine
from xfrmctl.keying.ikev2.settings import PeerConfig, Rng
from xfrmctl.state.model import IkeVersion, Phase2Negotiation

ISAKMP_HEADER = 28
_VERSION_OCTET = 17


class Engines:
    def __init__(
        self,
        peers: Sequence[PeerConfig],
        ikev1_peers: Sequence[Ikev1PeerConfig],
        rng: Rng,
        *,
        wall_clock: Callable[[float], datetime],
        log: Any,
    ) -> None:
        self.v2 = Ikev2Engine(peers, rng, wall_clock=wall_clock)
        ctx = self.v2.ctx
        self.v1 = Ikev1Engine(
            ikev1_peers, rng, wall_clock=wall_clock, spi_allocator=ctx.spi_allocator,
            reqid_for=ctx.reqid_for, next_unique_id=ctx.next_unique_id,
        )  # fmt: skip
        names = set(self.v1.peers) & set(self.v2.peers)
        if names:
            raise EngineError(f"gateway in both engines: {sorted(names)}")
        self.log = log
        self.counters: Counter[str] = Counter()
        self._warned: set[tuple[str, int]] = set()

    # ------------------------------------------------------------------ configuration

    def set_peers(self, peers: Sequence[PeerConfig], ikev1_peers: Sequence[Ikev1PeerConfig]
                  ) -> None:  # fmt: skip
        """A reload: established SAs of kept gateways answer from the new configuration."""
        self.v2.peers = {p.name: p for p in peers}
        for session in self.v2.sessions.values():
            new = self.v2.peers.get(session.peer.name)
            if new is not None and not session.closed:
                session.peer = new
        self.v1.peers = {p.name: p for p in ikev1_peers}
        for name, peer in self.v1.peers.items():
            for sa in self.v1.sessions_of(name):
                sa.peer = peer

    def set_protection(self, protection: IkeFloodProtection) -> None:
        """The responder limits of ``xfrmctl ike-flood-protection``; SAs already half-open keep
        their deadline, the next ones get the new one."""
        settings = dataclasses.replace(
            self.v2.settings,
            half_open_limit=protection.half_open_limit,
            cookie_threshold=protection.cookie_threshold,
            half_open_timeout=float(protection.half_open_timeout),
            init_rate=protection.init_rate,
        )
        self.v2.settings = settings
        self.v2.ctx.settings = settings
        self.v1.half_open_limit = protection.half_open_limit

    def protection_events(self) -> dict[tuple[str, str], int]:
        """Messages the engines dropped or refused and the defences they used, by (IKE version,
        reason): each engine's counters, and the dispatcher's (before any engine) as `any`."""
        out: dict[tuple[str, str], int] = {}
        for version, counters in (("IKEv2", self.v2.counters), ("IKEv1", self.v1.counters),
                                  ("any", self.counters)):  # fmt: skip
            for reason, n in counters.items():
                out[(version, reason)] = n
        return out

    def version(self, peer: str) -> IkeVersion:
        return "IKEv1" if peer in self.v1.peers else "IKEv2"

    def reqid_for(self, peer: str, child: str) -> int:
        return self.v2.ctx.reqid_for(peer, child)

    # ------------------------------------------------------------------ datagrams

    def receive(self, data: bytes, local: Endpoint, remote: Endpoint, now: float
                ) -> list[Action]:  # fmt: skip
        major = data[_VERSION_OCTET] >> 4 if len(data) >= ISAKMP_HEADER else 2
        if major not in (1, 2):
            self.counters[f"dropped: ISAKMP version {major}"] += 1
            return []
        mine: PeerTable[PeerConfig] | PeerTable[Ikev1PeerConfig]
        other: PeerTable[PeerConfig] | PeerTable[Ikev1PeerConfig]
        if major == 1:
            mine, other = self.v1.peers, self.v2.peers
        else:
            mine, other = self.v2.peers, self.v1.peers
        if self._wrong_version(remote[0], mine, other):
            self.counters[f"dropped: IKEv{major} from a gateway not configured for it"] += 1
            key = (remote[0], major)
            if key not in self._warned:
                self._warned.add(key)
                self.log.warning("IKE version not configured for this peer; dropped",
                                 remote=remote[0], version=f"IKEv{major}")  # fmt: skip
            return []
        if major == 1:
            return self.v1.receive(data, local, remote, now)
        return self.v2.receive(data, local, remote, now)

    @staticmethod
    def _wrong_version(
        address: str,
        mine: PeerTable[PeerConfig] | PeerTable[Ikev1PeerConfig],
        other: PeerTable[PeerConfig] | PeerTable[Ikev1PeerConfig],
    ) -> bool:
        """No gateway of this version could be the sender, but one of the other version is."""
        if not mine:
            return True
        return not mine.admits(address) and other.configured(address)

    # ------------------------------------------------------------------ which engine

    def _v1_sa(self, ref: IkeSaRef) -> IsakmpSa | None:
        for sa in self.v1.sas.values():
            if sa.ref == ref and sa.state is not State.DELETED:
                return sa
        return None

    def _v1_spi(self, spi: int) -> bool:
        return any(spi in (c.spi_in, c.spi_out) for c in self.v1.children.values())

    # ------------------------------------------------------------------ commands

    def initiate(self, peer: str, child: str | None, now: float) -> list[Action]:
        if peer in self.v1.peers:
            return self._v1(lambda: self.v1.initiate(peer, child, now))
        return self.v2.initiate(peer, child, now)

    def child_expired(self, spi: int, hard: bool, now: float) -> list[Action]:
        if self._v1_spi(spi):
            return self.v1.child_expired(spi, hard, now)
        return self.v2.child_expired(spi, hard, now)

    def delete_child(self, unique_id: int, now: float) -> list[Action]:
        if unique_id in self.v1.children:
            return self._v1(lambda: self.v1.delete_child(unique_id, now))
        return self.v2.delete_child(unique_id, now)

    def delete_ike(self, ref: IkeSaRef, now: float) -> list[Action]:
        if self._v1_sa(ref) is not None:
            return self._v1(lambda: self.v1.delete_ike(ref, now))
        return self.v2.delete_ike(ref, now)

    def liveness_check(self, ref: IkeSaRef, now: float) -> list[Action]:
        if self._v1_sa(ref) is not None:
            return self._v1(lambda: self.v1.liveness_check(ref, now))
        return self.v2.liveness_check(ref, now)

    def peer_dead(self, ref: IkeSaRef, now: float) -> list[Action]:
        if self._v1_sa(ref) is not None:
            return self._v1(lambda: self.v1.peer_dead(ref, now))
        return self.v2.peer_dead(ref, now)

    def last_authenticated_rx(self, ref: IkeSaRef) -> float | None:
        if self._v1_sa(ref) is not None:
            return self.v1.last_authenticated_rx(ref)
        return self.v2.last_authenticated_rx(ref)

    @staticmethod
    def _v1(call: Callable[[], list[Action]]) -> list[Action]:
        try:
            return call()
        except Ikev1EngineError as exc:
            raise EngineError(str(exc)) from None

    # ------------------------------------------------------------------ IKE SAs

    def shutdown(self, now: float) -> list[Action]:
        """Deletes for everything: IKEv1 phase-2 SAs first (they outlive their ISAKMP SA, so
        deleting that alone would leave the peer's up), then every IKE SA."""
        out: list[Action] = []
        for uid in list(self.v1.children):
            with contextlib.suppress(Ikev1EngineError):
                out += self.v1.delete_child(uid, now)
        for s in [s for s in self.v1.sas.values() if s.established]:
            with contextlib.suppress(Ikev1EngineError):
                out += self.v1.delete_ike(s.ref, now)
        for ref in [s.ref for s in self.v2.sessions.values() if not s.closed]:
            with contextlib.suppress(EngineError):
                out += self.v2.delete_ike(ref, now)
        return out

    def refs_of(self, peer: str) -> list[IkeSaRef]:
        if peer in self.v1.peers:
            return [s.ref for s in self.v1.sessions_of(peer) if s.established]
        return [s.ref for s in self.v2.sessions_of(peer)]

    def phase2_negotiations(self, ref: IkeSaRef) -> tuple[Phase2Negotiation, ...] | None:
        """IKEv1: the quick modes of this ISAKMP SA still in progress (None for IKEv2)."""
        sa = self._v1_sa(ref)
        if sa is None:
            return None
        out = []
        for q in sa.quick.values():
            if q.initiator and q.keys is not None:
                continue  # done; kept only to answer a retransmission
            out.append(Phase2Negotiation(
                negotiation_type="Quick mode",
                role="Initiator" if q.initiator else "Responder",
                message_id=q.message_id,
                local_address=sa.local[0], local_port=sa.local[1],
                remote_address=sa.remote[0], remote_port=sa.remote[1],
                local_identity=ts_identity((q.local_ts,)),
                remote_identity=ts_identity((q.remote_ts,)),
                flags=("Caller notification sent", "Waiting for done"),
            ))  # fmt: skip
        return tuple(out)

    # ------------------------------------------------------------------ timers

    def next_deadline(self) -> float | None:
        times = [t for t in (self.v2.next_deadline(), self.v1.next_deadline()) if t is not None]
        return min(times) if times else None

    def on_timer(self, now: float) -> list[Action]:
        return self.v2.on_timer(now) + self.v1.on_timer(now)
