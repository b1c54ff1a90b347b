"""IKEv1-only settings; authentication, children and selectors reuse the IKEv2 types.

Phase-1 proposals are whole suites (cipher, hash, group, lifetime) because IKEv1 negotiates
transforms that way; Junos predefined proposals map onto them one to one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from xfrmctl.keying.errors import ProposalSyntaxError, UnknownTransform
from xfrmctl.keying.ikev2.identity import Identity
from xfrmctl.keying.ikev2.retransmit import RetransmitPolicy
from xfrmctl.keying.ikev2.settings import Auth, ChildConfig, ConfigError, Rng, SpiAllocator
from xfrmctl.keying.transforms import (
    JunosIkeProposal,
    Transform,
    TransformType,
    by_junos_ike,
    by_name,
    prf_for_integ,
)

__all__ = [
    "Auth",
    "ChildConfig",
    "ConfigError",
    "ExchangeMode",
    "Ikev1PeerConfig",
    "Phase1Proposal",
    "Rng",
    "SpiAllocator",
]


class ExchangeMode(StrEnum):
    MAIN = "main"
    AGGRESSIVE = "aggressive"


@dataclass(frozen=True)
class Phase1Proposal:
    """One IKEv1 phase-1 suite (a transform of the ISAKMP proposal)."""

    encryption: Transform
    hash: Transform  # a PRF-type transform: HMAC for prf, bare hash for IVs and NAT-D
    dh: Transform
    lifetime_seconds: int = 28800

    def __post_init__(self) -> None:
        if self.encryption.type != TransformType.ENCR or self.encryption.ikev1_phase1 is None:
            raise ConfigError(f"{self.encryption.name} is not an IKEv1 phase-1 cipher")
        if self.hash.type != TransformType.PRF or self.hash.ikev1_phase1 is None:
            raise ConfigError(f"{self.hash.name} is not an IKEv1 hash")
        if self.dh.type != TransformType.DH or self.dh.ikev1_phase1 is None:
            raise ConfigError(f"{self.dh.name} is not a DH group")
        if not 180 <= self.lifetime_seconds <= 86400:
            raise ConfigError("phase-1 lifetime must be 180..86400 seconds")

    @classmethod
    def parse(cls, text: str, lifetime_seconds: int = 28800) -> Phase1Proposal:
        """strongSwan's IKEv1 form: ``3des-sha1-modp1024``, ``aes256-sha256-modp2048``."""
        parts = text.strip().lower().split("-")
        if len(parts) != 3:
            raise ConfigError(f"IKEv1 proposal {text!r} must be cipher-hash-group")
        try:
            encr, integ, dh = by_name(parts[0]), by_name(parts[1]), by_name(parts[2])
            prf = integ if integ.type == TransformType.PRF else prf_for_integ(integ)
        except (UnknownTransform, ProposalSyntaxError) as exc:
            raise ConfigError(f"IKEv1 proposal {text!r}: {exc}") from None
        return cls(encr, prf, dh, lifetime_seconds)

    @classmethod
    def from_junos(cls, p: JunosIkeProposal) -> Phase1Proposal:
        prf = by_junos_ike(TransformType.PRF, p.authentication)
        return cls(p.encryption, prf, p.dh_group, p.lifetime_seconds)


@dataclass(frozen=True)
class Ikev1PeerConfig:
    """One IKEv1 gateway."""

    name: str
    local_address: str
    remote_address: str | None  # None: dynamic peer (responder only; aggressive mode by ID)
    auth: Auth
    proposals: tuple[Phase1Proposal, ...]
    mode: ExchangeMode = ExchangeMode.MAIN
    children: tuple[ChildConfig, ...] = ()
    local_id: Identity | None = None
    remote_id: Identity | None = None
    local_port: int = 500
    remote_port: int = 500
    rekey_margin: float = 0.1
    rekey_jitter: float = 0.1
    retransmit: RetransmitPolicy = field(default_factory=RetransmitPolicy)
    nat_traversal: bool = True
    force_encap: bool = False
    dpd: bool = True  # advertise RFC 3706 (we always answer R-U-THERE)
    initial_contact: bool = True
    send_certreq: bool = True

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("peer needs a name")
        if not 1 <= len(self.proposals) <= 4:
            raise ConfigError(f"peer {self.name}: one to four phase-1 proposals")
        if len({p.dh for p in self.proposals}) != 1:
            raise ConfigError(f"peer {self.name}: all phase-1 proposals need the same DH group")
        if self.rekey_margin < 0 or self.rekey_margin + self.rekey_jitter >= 1:
            raise ConfigError(f"peer {self.name}: rekey margin plus jitter must be below 1")
        names = [c.name for c in self.children]
        if len(names) != len(set(names)):
            raise ConfigError(f"peer {self.name}: duplicate child names")
        for c in self.children:
            groups = {p.dh for p in c.proposals}
            if len(c.proposals) > 4 or len(groups) > 1:
                raise ConfigError(f"child {c.name}: up to four phase-2 proposals, one DH group")

    def child(self, name: str) -> ChildConfig:
        for c in self.children:
            if c.name == name:
                return c
        raise ConfigError(f"peer {self.name}: no child {name!r}")

    @property
    def own_id(self) -> Identity:
        return self.local_id or Identity.for_address(self.local_address)

    @property
    def expected_remote_id(self) -> Identity:
        if self.remote_id is not None:
            return self.remote_id
        if self.remote_address is None:
            return Identity.any()
        return Identity.for_address(self.remote_address)
