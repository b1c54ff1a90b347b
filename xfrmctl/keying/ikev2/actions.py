"""What the IKEv2 engine asks the daemon to do, and what it reports.

Every action is a small frozen dataclass; the daemon executes them in order. Failures carry a
`Reason` (the IKEv2 notify name or a local condition) plus free text, so `show` output and logs can
say exactly why a tunnel is down. Keys are never in a repr.

SPIs: the engine picks inbound ESP SPIs itself through an injected allocator
(`settings.SpiAllocator`) instead of asking the kernel with XFRM_MSG_ALLOCSPI: a sans-IO engine
cannot wait for the kernel in the middle of an exchange. The daemon's allocator may hand out SPIs
it reserved with ALLOCSPI in advance, or random ones; the kernel rejects a duplicate at install
time and the daemon reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Address, IPv6Address

from xfrmctl.dpd.actions import DownReason
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.keying.transforms import Transform
from xfrmctl.state.model import ExchangeType

Endpoint = tuple[str, int]


class Reason(StrEnum):
    """Why an SA failed or went away; notify names where the peer said so."""

    NO_PROPOSAL_CHOSEN = "NO_PROPOSAL_CHOSEN"
    INVALID_KE_PAYLOAD = "INVALID_KE_PAYLOAD"
    AUTHENTICATION_FAILED = "AUTHENTICATION_FAILED"
    TS_UNACCEPTABLE = "TS_UNACCEPTABLE"
    SINGLE_PAIR_REQUIRED = "SINGLE_PAIR_REQUIRED"
    NO_ADDITIONAL_SAS = "NO_ADDITIONAL_SAS"
    INTERNAL_ADDRESS_FAILURE = "INTERNAL_ADDRESS_FAILURE"
    FAILED_CP_REQUIRED = "FAILED_CP_REQUIRED"
    INVALID_SYNTAX = "INVALID_SYNTAX"
    TEMPORARY_FAILURE = "TEMPORARY_FAILURE"
    CHILD_SA_NOT_FOUND = "CHILD_SA_NOT_FOUND"
    USE_TRANSPORT_MODE = "USE_TRANSPORT_MODE"  # peer insists on transport, we are a tunnel
    PEER_NOT_RESPONDING = DownReason.PEER_NOT_RESPONDING.value  # Junos' "Tunnel Down Reason"
    PEER_ERROR = "peer sent an error notify"
    PEER_DELETED = "deleted by peer"
    LOCAL_DELETE = "deleted locally"
    REKEYED = "rekeyed"
    EXPIRED = "lifetime expired"
    IKE_SA_GONE = "IKE SA went down"
    IDENTITY_MISMATCH = "peer identity does not match configuration"
    NO_MATCHING_PEER = "no matching peer configuration"
    CRYPTO_FAILURE = "cryptographic failure"
    REPLACED = "replaced by INITIAL_CONTACT"
    REDUNDANT = "redundant SA from a rekey collision"
    REAUTH = "replaced by reauthentication"
    LOCAL_CONFIG = "local configuration error"


@dataclass(frozen=True)
class IkeSaRef:
    """Identifies an IKE SA: the SPI pair (responder SPI 0 until IKE_SA_INIT completes)."""

    spi_i: int
    spi_r: int

    def __str__(self) -> str:
        return f"{self.spi_i:016x}:{self.spi_r:016x}"


@dataclass(frozen=True)
class Lifetime:
    """Soft/hard limits of a child SA, as the kernel takes them (0 = unlimited)."""

    soft_seconds: int
    hard_seconds: int
    soft_bytes: int = 0
    hard_bytes: int = 0
    soft_packets: int = 0
    hard_packets: int = 0


@dataclass(frozen=True)
class Send:
    """One IKE datagram. `data` is the bare IKE message: on port 4500 the daemon adds the
    4-byte non-ESP marker (and strips it from what it receives) before calling the engine."""

    data: bytes = field(repr=False)
    local: Endpoint
    remote: Endpoint


@dataclass(frozen=True)
class InstallChild:
    """Install both directions of a child SA (inbound first: no traffic gap on rekey)."""

    ike_sa: IkeSaRef
    child: str  # the child configuration's name
    unique_id: int  # engine-wide id of this child SA, stable until it is deleted
    reqid: int  # stable across rekeys of the same child config on the same peer
    protocol: int  # ProtocolId.ESP
    mode: str  # "tunnel" | "transport"
    spi_in: int
    spi_out: int
    local: str  # outer addresses
    remote: str
    encr: Transform
    integ: Transform | None  # None for AEAD
    encr_key_in: bytes = field(repr=False)
    integ_key_in: bytes = field(repr=False)
    encr_key_out: bytes = field(repr=False)
    integ_key_out: bytes = field(repr=False)
    esn: bool
    replay_window: int
    local_ts: tuple[TrafficSelector, ...]
    remote_ts: tuple[TrafficSelector, ...]
    if_id: int | None
    encap: tuple[int, int] | None  # (local port, remote port) for UDP encapsulation (NAT-T)
    lifetime: Lifetime
    initiator: bool  # we initiated the exchange that created it
    dh_group: int | None  # PFS group of the exchange, None without PFS
    tfc_padding: bool = False  # we may add TFC padding (configured, and the peer accepts it)
    rekey_of: int | None = None  # unique_id of the child SA this one replaces
    # the peer's tunnel-interface addresses from this exchange's NHTB notify (docs/nhtb.md)
    peer_tunnel_addresses: tuple[IPv4Address | IPv6Address, ...] = ()


@dataclass(frozen=True)
class DeleteChild:
    ike_sa: IkeSaRef
    child: str
    unique_id: int
    protocol: int
    spi_in: int
    spi_out: int
    local: str
    remote: str
    reason: Reason


@dataclass(frozen=True)
class ChildFailed:
    ike_sa: IkeSaRef
    child: str
    reason: Reason
    detail: str = ""


@dataclass(frozen=True)
class IkeEstablished:
    """Everything `show security ike security-associations detail` needs."""

    ike_sa: IkeSaRef
    peer: str  # peer configuration name
    initiator: bool
    exchange_type: ExchangeType  # Junos `Exchange type`: IKEv2, or IKEv1's Main / Aggressive
    local: Endpoint
    remote: Endpoint
    local_id: str
    remote_id: str
    local_id_type: str
    remote_id_type: str
    auth_method: str
    encr: Transform
    integ: Transform | None
    prf: Transform
    dh_group: Transform
    lifetime_seconds: int
    rekey_at: float  # engine time of the planned rekey
    nat_local: bool  # we are behind a NAT
    nat_remote: bool  # the peer is behind a NAT
    fragmentation: bool
    established_at: float


@dataclass(frozen=True)
class IkeRekeyed:
    old: IkeSaRef
    new: IkeSaRef
    peer: str
    established: IkeEstablished


@dataclass(frozen=True)
class IkeFailed:
    ike_sa: IkeSaRef
    peer: str
    reason: Reason
    detail: str = ""


@dataclass(frozen=True)
class IkeDeleted:
    ike_sa: IkeSaRef
    peer: str
    reason: Reason


@dataclass(frozen=True)
class PeerDead:
    """The peer stopped answering an established IKE SA (our retransmissions gave up, or DPD
    declared it dead through `Ikev2Engine.peer_dead`); its children are being removed."""

    ike_sa: IkeSaRef
    peer: str
    reason: Reason = Reason.PEER_NOT_RESPONDING


@dataclass(frozen=True)
class LivenessResult:
    """Outcome of a liveness check (empty INFORMATIONAL) we initiated."""

    ike_sa: IkeSaRef
    peer: str
    alive: bool
    at: float


Action = (
    Send
    | InstallChild
    | DeleteChild
    | ChildFailed
    | IkeEstablished
    | IkeRekeyed
    | IkeFailed
    | IkeDeleted
    | PeerDead
    | LivenessResult
)
