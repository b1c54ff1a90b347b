"""The IKEv2 engine's own typed configuration.

The daemon maps its configuration model (YAML or imported Junos) onto these classes; they use
protocol terms only, never Junos names, so the engine stays testable on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Address, IPv6Address

from xfrmctl.keying.ikev2.identity import Identity
from xfrmctl.keying.ikev2.retransmit import RetransmitPolicy
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.keying.transforms import (
    DEFAULT_ESP_PROPOSALS,
    DEFAULT_IKE_PROPOSALS,
    Proposal,
    Transform,
)
from xfrmctl.nhtb.errors import NhtbNotifyError
from xfrmctl.nhtb.notify import encode_tunnel_address

Rng = Callable[[int], bytes]
"""Injected randomness: `rng(n)` returns n random bytes (os.urandom in the daemon)."""

SpiAllocator = Callable[[], int]
"""Returns a fresh inbound 32-bit ESP SPI (>= 256); see actions.py for why the engine allocates."""


class ConfigError(ValueError):
    """Engine settings that cannot work (raised when the settings are built)."""


@dataclass(frozen=True)
class PskAuth:
    """Pre-shared key authentication (both directions)."""

    psk: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not self.psk:
            raise ConfigError("pre-shared key is empty")


@dataclass(frozen=True)
class CertAuth:
    """Certificate authentication: our chain and key, the CAs we trust, an optional CRL."""

    certificate: bytes  # PEM or DER of our end-entity certificate
    private_key: bytes = field(repr=False)  # PEM or DER
    ca_certificates: tuple[bytes, ...] = ()
    intermediates: tuple[bytes, ...] = ()
    crl: bytes | None = None


Auth = PskAuth | CertAuth


# The engine's own floor for SA lifetimes: a rekey needs time for its exchange. Operators get the
# Junos minimum (180 s) from the configuration checks; only a lab daemon
# (`--lab-lifetime-floor`) configures lifetimes between the two.
MIN_LIFETIME_SECONDS = 10


class Mode(StrEnum):
    TUNNEL = "tunnel"
    TRANSPORT = "transport"


@dataclass(frozen=True)
class ChildConfig:
    """One child SA (a Junos VPN's IPsec SA, a strongSwan `children` section)."""

    name: str
    local_ts: tuple[TrafficSelector, ...] = (TrafficSelector.any(4),)
    remote_ts: tuple[TrafficSelector, ...] = (TrafficSelector.any(4),)
    proposals: tuple[Proposal, ...] = DEFAULT_ESP_PROPOSALS
    pfs_group: Transform | None = None  # DH group for CREATE_CHILD_SA (PFS); None: no PFS
    mode: Mode = Mode.TUNNEL
    lifetime_seconds: int = 3600
    lifetime_kilobytes: int = 0  # 0 = no volume limit
    rekey_margin: float = 0.1  # rekey this fraction of the lifetime before it ends...
    rekey_jitter: float = 0.1  # ...minus up to this fraction, drawn from the rng
    if_id: int | None = None
    replay_window: int = 32
    tfc_padding: bool = (
        False  # pad outbound ESP for traffic-flow confidentiality if the peer allows
    )
    # our bound st0 unit's first address per family, announced to the peer for NHTB learning
    local_tunnel_addresses: tuple[IPv4Address | IPv6Address, ...] = ()

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("child SA needs a name")
        if not self.local_ts or not self.remote_ts:
            raise ConfigError(f"child {self.name}: traffic selectors are required")
        if not self.proposals:
            raise ConfigError(f"child {self.name}: no proposals")
        if self.lifetime_seconds < MIN_LIFETIME_SECONDS:
            raise ConfigError(f"child {self.name}: lifetime below {MIN_LIFETIME_SECONDS} s")
        if not 0 <= self.rekey_margin < 1 or not 0 <= self.rekey_jitter < 1:
            raise ConfigError(f"child {self.name}: rekey margin/jitter out of range")
        if self.rekey_margin + self.rekey_jitter >= 1:
            raise ConfigError(f"child {self.name}: rekey margin plus jitter must be below 1")
        families = [a.version for a in self.local_tunnel_addresses]
        if len(families) != len(set(families)):
            raise ConfigError(f"child {self.name}: one tunnel address per address family")
        for addr in self.local_tunnel_addresses:
            try:
                encode_tunnel_address(addr)
            except NhtbNotifyError as exc:
                raise ConfigError(f"child {self.name}: {exc}") from None


@dataclass(frozen=True)
class PeerConfig:
    """One IKE peer (a Junos gateway, a strongSwan connection)."""

    name: str
    local_address: str
    remote_address: str | None  # None = any (dynamic peer, responder only)
    auth: Auth
    local_id: Identity | None = None  # None: our local address
    remote_id: Identity | None = None  # None: the peer's address; Identity.any() for any
    proposals: tuple[Proposal, ...] = DEFAULT_IKE_PROPOSALS
    children: tuple[ChildConfig, ...] = ()
    local_port: int = 500
    remote_port: int = 500
    lifetime_seconds: int = 28800
    rekey_margin: float = 0.1
    rekey_jitter: float = 0.1
    reauth: bool = False  # re-authenticate (new IKE SA, make-before-break) instead of rekeying
    retransmit: RetransmitPolicy = field(default_factory=RetransmitPolicy)
    fragmentation: bool = True
    fragment_size: int = 1280  # max IKE datagram (IP payload) size when fragmenting
    force_encap: bool = False  # pretend a NAT so ESP is always UDP-encapsulated
    initial_contact: bool = True
    send_certreq: bool = True
    # each remote identity is one peer: its INITIAL_CONTACT replaces its older IKE SAs. False
    # when many peers share one identity (Junos shared-ike-id, strongSwan unique=never)
    unique_ids: bool = True

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("peer needs a name")
        if not self.proposals:
            raise ConfigError(f"peer {self.name}: no IKE proposals")
        if self.lifetime_seconds < MIN_LIFETIME_SECONDS:
            raise ConfigError(f"peer {self.name}: IKE lifetime below {MIN_LIFETIME_SECONDS} s")
        if self.rekey_margin + self.rekey_jitter >= 1 or self.rekey_margin < 0:
            raise ConfigError(f"peer {self.name}: rekey margin plus jitter must be below 1")
        if self.fragment_size < 576:
            raise ConfigError(f"peer {self.name}: fragment size below 576")
        names = [c.name for c in self.children]
        if len(names) != len(set(names)):
            raise ConfigError(f"peer {self.name}: duplicate child names")

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


@dataclass(frozen=True)
class EngineSettings:
    """Engine-wide knobs (all peers)."""

    half_open_limit: int = 1000  # at most this many half-open responder SAs
    cookie_threshold: int = 100  # demand COOKIEs when this many are half-open
    cookie_rotate_seconds: float = 120.0
    half_open_timeout: float = 30.0  # a responder SA not authenticated by then is dropped
    init_rate: int = 0  # new responder SAs (a Diffie-Hellman each) per second; 0: no limit
    max_fragments: int = 64
    max_reassembly_bytes: int = 65535
