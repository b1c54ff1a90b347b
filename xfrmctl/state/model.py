"""The state snapshot: what the daemon knows about IKE SAs, tunnels and NHTB, as plain data.

The daemon fills these records from its state store and sends them over the control socket;
renderers only format them. Every value is already in its displayed unit and vocabulary
(Junos algorithm names from the transform table, seconds remaining rather than deadlines),
so the text and the JSON of one ``show`` never disagree. Field names are the JSON keys and are
listed, with their Junos labels, in :mod:`xfrmctl.state.fields`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

IkeState = Literal["UP", "DOWN"]
Role = Literal["Initiator", "Responder"]
ExchangeType = Literal["Main", "Aggressive", "IKEv2"]
IkeVersion = Literal["IKEv1", "IKEv2", "-"]  # "-": a manual-key tunnel (no IKE)
Direction = Literal["inbound", "outbound"]
SaMode = Literal["tunnel", "transport"]
SaType = Literal["dynamic", "manual"]
SaState = Literal["installed", "not installed"]
Protocol = Literal["ESP", "AH"]
Monitoring = Literal["-", "UP", "DOWN"]
DfBit = Literal["clear", "set", "copy"]
NhtbFlag = Literal["Static", "Auto"]

_SPI_MAX = 0xFFFFFFFF


def _check_port(name: str, port: int) -> None:
    if not 0 <= port <= 0xFFFF:
        raise ValueError(f"{name} {port} is not a UDP port")


def _check_non_negative(owner: object, *names: str) -> None:
    for name in names:
        value = getattr(owner, name)
        if value is not None and value < 0:
            raise ValueError(f"{name} must not be negative (got {value})")


_COOKIE = re.compile(r"[0-9a-f]{16}")


def _check_cookie(name: str, value: str) -> None:
    if _COOKIE.fullmatch(value) is None:
        raise ValueError(f"{name} must be 16 lowercase hex digits (got {value!r})")


@dataclass(frozen=True, slots=True, kw_only=True)
class Phase2Negotiation:
    """A Phase-2 (quick mode / CREATE_CHILD_SA) exchange attached to an IKE SA."""

    negotiation_type: str
    role: Role
    message_id: int
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    local_identity: str
    remote_identity: str
    flags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_port("local_port", self.local_port)
        _check_port("remote_port", self.remote_port)
        if not 0 <= self.message_id <= _SPI_MAX:
            raise ValueError(f"message_id {self.message_id} out of range")


@dataclass(frozen=True, slots=True, kw_only=True)
class IkeSa:
    """One IKE (Phase-1) SA as ``show security ike security-associations`` reports it."""

    index: int
    # None only to reproduce the guide's older samples (``Index 1,`` with nothing after).
    gateway_name: str | None
    remote_address: str
    remote_port: int
    local_address: str
    local_port: int
    state: IkeState
    role: Role
    initiator_cookie: str
    responder_cookie: str
    exchange_type: ExchangeType
    authentication_method: str
    lifetime_remaining: int
    # Negotiated lifetime in seconds (JSON only; the text shows what remains).
    lifetime: int | None = None
    # Lines whose value is None are not printed.
    peer_ike_id: str | None
    xauth_user_name: str | None = None
    xauth_assigned_ip: str | None = "0.0.0.0"  # noqa: S104 - Junos prints this without XAuth
    authentication_algorithm: str
    encryption_algorithm: str
    prf_algorithm: str
    dh_group: str | None
    input_bytes: int = 0
    output_bytes: int = 0
    input_packets: int = 0
    output_packets: int = 0
    flags: tuple[str, ...] = ()
    ipsec_sas_created: int = 0
    ipsec_sas_deleted: int = 0
    # None: the line is not printed (IKEv2 has no quick-mode negotiations).
    phase2_negotiations_in_progress: int | None = 0
    negotiations: tuple[Phase2Negotiation, ...] = ()
    local_behind_nat: bool = False
    remote_behind_nat: bool = False
    established_at: float | None = None

    def __post_init__(self) -> None:
        if self.index < 1:
            raise ValueError(f"index must be positive (got {self.index})")
        _check_port("local_port", self.local_port)
        _check_port("remote_port", self.remote_port)
        _check_cookie("initiator_cookie", self.initiator_cookie)
        _check_cookie("responder_cookie", self.responder_cookie)
        _check_non_negative(
            self,
            "input_bytes",
            "output_bytes",
            "input_packets",
            "output_packets",
            "ipsec_sas_created",
            "ipsec_sas_deleted",
            "phase2_negotiations_in_progress",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class IpsecSa:
    """One direction of a child SA (a kernel XFRM state) inside a tunnel."""

    direction: Direction
    spi: int
    aux_spi: int = 0
    # Brief-layout token from the transform table, e.g. ``ESP:3des/sha1``.
    algorithm: str
    # Seconds left; ``None`` for manual SAs (no lifetime); <= 0 for soft means "Expired".
    hard_lifetime_remaining: int | None
    soft_lifetime_remaining: int | None
    # Kilobytes left; ``None`` when no kilobyte lifetime is configured ("unlim").
    lifesize_remaining: int | None = None
    mode: SaMode = "tunnel"
    type: SaType = "dynamic"
    state: SaState = "installed"
    protocol: Protocol = "ESP"
    authentication: str
    encryption: str
    anti_replay: bool = True
    replay_window_size: int = 64

    def __post_init__(self) -> None:
        if not 0 <= self.spi <= _SPI_MAX or not 0 <= self.aux_spi <= _SPI_MAX:
            raise ValueError(f"SPI {self.spi:#x} out of range")
        _check_non_negative(self, "hard_lifetime_remaining", "lifesize_remaining")


@dataclass(frozen=True, slots=True, kw_only=True)
class IpsecStatistics:
    """ESP/AH counters and error counters since the last ``clear security ipsec statistics``."""

    encrypted_bytes: int = 0
    decrypted_bytes: int = 0
    encrypted_packets: int = 0
    decrypted_packets: int = 0
    ah_input_bytes: int = 0
    ah_output_bytes: int = 0
    ah_input_packets: int = 0
    ah_output_packets: int = 0
    ah_authentication_failures: int = 0
    replay_errors: int = 0
    esp_authentication_failures: int = 0
    esp_decryption_failures: int = 0
    bad_headers: int = 0
    bad_trailers: int = 0

    def __post_init__(self) -> None:
        for name in self.__slots__:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")

    def __add__(self, other: IpsecStatistics) -> IpsecStatistics:
        return IpsecStatistics(
            **{name: getattr(self, name) + getattr(other, name) for name in self.__slots__}
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Tunnel:
    """An up IPsec tunnel (one VPN): its stable ID and its child SAs, inbound listed first."""

    tunnel_id: int
    virtual_system: str = "root"
    vpn_name: str
    local_gateway: str
    remote_gateway: str
    local_identity: str
    remote_identity: str
    version: IkeVersion
    df_bit: DfBit = "clear"
    bind_interface: str | None = None
    # On a multipoint unit: the NHTB entries that send traffic into this VPN.
    next_hop_tunnels: tuple[NhtbEntry, ...] = ()
    policy_name: str | None = None
    port: int
    nego_count: int = 0
    fail_count: int = 0
    def_del_count: int = 0
    flag: int = 0
    tunnel_down_reason: str | None = None
    vpn_monitoring: Monitoring = "-"
    sas: tuple[IpsecSa, ...] = ()
    statistics: IpsecStatistics = field(default_factory=IpsecStatistics)

    def __post_init__(self) -> None:
        _check_port("port", self.port)
        _check_non_negative(self, "nego_count", "fail_count", "def_del_count", "flag")


@dataclass(frozen=True, slots=True, kw_only=True)
class InactiveTunnel:
    """A configured VPN without an installed child SA, and why."""

    tunnel_id: int
    virtual_system: str = "root"
    vpn_name: str
    local_gateway: str
    remote_gateway: str
    port: int = 500
    version: IkeVersion
    bind_interface: str | None = None
    nego_count: int = 0
    fail_count: int = 0
    flag: int = 0
    establish_immediately: bool = False
    tunnel_down_reason: str
    # Unix time of the last negotiation attempt; ``None`` when none was made yet.
    last_attempt: float | None = None

    def __post_init__(self) -> None:
        _check_port("port", self.port)
        _check_non_negative(self, "nego_count", "fail_count", "flag")


@dataclass(frozen=True, slots=True, kw_only=True)
class NhtbEntry:
    """A next-hop tunnel binding on a multipoint ``st0`` unit."""

    next_hop: str
    interface: str
    vpn_name: str
    flag: NhtbFlag
    tunnel_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """Everything the ``show`` commands can ask for, taken at one instant by the daemon."""

    ike_security_associations: tuple[IkeSa, ...] = ()
    tunnels: tuple[Tunnel, ...] = ()
    inactive_tunnels: tuple[InactiveTunnel, ...] = ()
    next_hop_tunnels: tuple[NhtbEntry, ...] = ()
