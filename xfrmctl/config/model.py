"""The typed configuration model: what the daemon runs from, whatever the file's format.

Mirrors the Junos hierarchy, with defaults filled in, plus the Linux facts Junos lacks (the xfrm
interface of each st0 unit and its if_id; external interfaces as Linux names). Objects are frozen
and compare by content, so two files that mean the same compare equal, whatever their format or
line numbers (`Origin` is excluded from comparison).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field

from xfrmctl.config.errors import Location
from xfrmctl.config.secrets import Secret
from xfrmctl.config.values import IPAddress, IPInterface, IPNetwork, St0Unit

# Junos `st0.N` becomes the xfrm interface `st0.N`; its if_id defaults to N + 1 because the
# kernel reserves if_id 0 for "no interface".
IF_ID_OFFSET = 1


@dataclass(frozen=True)
class Origin:
    """Where an object and each of its statements were configured (for commit-check messages)."""

    location: Location
    fields: Mapping[str, Location] = field(default_factory=dict)

    def of(self, name: str) -> Location:
        """The statement's location, else its nearest configured parent's, else the object's."""
        while name:
            if name in self.fields:
                return self.fields[name]
            name = name.rpartition(".")[0]
        return self.location


def _origin() -> Origin:
    return Origin(Location("<model>"))


ORIGIN = field(default_factory=_origin, compare=False, repr=False)


@dataclass(frozen=True)
class IkeProposal:
    name: str
    authentication_method: str | None
    dh_group: str | None
    authentication_algorithm: str | None
    encryption_algorithm: str | None
    lifetime_seconds: int
    description: str | None = None
    origin: Origin = ORIGIN


@dataclass(frozen=True)
class Certificate:
    local_certificate: str | None
    peer_certificate_type: str | None
    trusted_ca: str | None


@dataclass(frozen=True)
class IkePolicy:
    name: str
    mode: str
    proposals: tuple[str, ...]
    proposal_set: str | None
    pre_shared_key: Secret | None = field(default=None, repr=False)
    certificate: Certificate | None = None
    description: str | None = None
    origin: Origin = ORIGIN


@dataclass(frozen=True)
class Identity:
    """An IKE identity: `kind` is the Junos keyword (inet, inet6, hostname, user-at-hostname,
    distinguished-name); `value` is None for a local distinguished-name (from the certificate)."""

    kind: str
    value: str | None = None
    container: str | None = None
    wildcard: str | None = None


@dataclass(frozen=True)
class DynamicPeer:
    identity: Identity | None
    connections_limit: int | None
    ike_user_type: str | None


@dataclass(frozen=True)
class DeadPeerDetection:
    mode: str  # "optimized" (the default: send only without inbound traffic), "always-send",
    # or "probe-idle-tunnel"
    interval: int
    threshold: int


@dataclass(frozen=True)
class IkeGateway:
    name: str
    ike_policy: str | None
    addresses: tuple[IPAddress | str, ...]
    """Primary peer first, then up to four backups (addresses or hostnames)."""
    dynamic: DynamicPeer | None
    external_interface: str | St0Unit | None
    local_address: IPAddress | None
    local_identity: Identity | None
    remote_identity: Identity | None
    general_ikeid: bool
    dead_peer_detection: DeadPeerDetection | None
    nat_keepalive: int
    nat_traversal: bool
    version: str
    xauth_access_profile: str | None
    origin: Origin = ORIGIN


@dataclass(frozen=True)
class IpsecProposal:
    name: str
    protocol: str
    authentication_algorithm: str | None
    encryption_algorithm: str | None
    lifetime_seconds: int
    lifetime_kilobytes: int | None
    description: str | None = None
    origin: Origin = ORIGIN


@dataclass(frozen=True)
class IpsecPolicy:
    name: str
    proposals: tuple[str, ...]
    proposal_set: str | None
    pfs_group: str | None
    description: str | None = None
    origin: Origin = ORIGIN


@dataclass(frozen=True)
class ProxyIdentity:
    local: IPNetwork
    remote: IPNetwork
    service: str


@dataclass(frozen=True)
class TrafficSelector:
    name: str
    local_ip: IPNetwork | None
    remote_ip: IPNetwork | None


@dataclass(frozen=True)
class VpnIke:
    gateway: str | None
    ipsec_policy: str | None
    proxy_identity: ProxyIdentity | None
    idle_time: int | None
    install_interval: int
    anti_replay: bool
    replay_window: int
    """Packets; 0 when anti-replay is off (`no-anti-replay`)."""


@dataclass(frozen=True)
class ManualKey:
    algorithm: str | None
    key: Secret | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ManualSa:
    gateway: IPAddress | None
    spi: int | None
    protocol: str
    authentication: ManualKey | None
    encryption: ManualKey | None
    external_interface: str | St0Unit | None


@dataclass(frozen=True)
class VpnMonitor:
    destination_ip: IPAddress | None
    optimized: bool
    source_interface: str | St0Unit | None


@dataclass(frozen=True)
class Vpn:
    name: str
    bind_interface: St0Unit | None
    df_bit: str
    establish_tunnels: str
    ike: VpnIke | None
    manual: ManualSa | None
    traffic_selectors: tuple[TrafficSelector, ...]
    vpn_monitor: VpnMonitor | None
    origin: Origin = ORIGIN

    @property
    def route_based(self) -> bool:
        return self.bind_interface is not None


@dataclass(frozen=True)
class VpnMonitorOptions:
    interval: int = 10
    threshold: int = 10


@dataclass(frozen=True)
class IkeFloodProtection:
    """``xfrmctl ike-flood-protection``: how many responder SAs may wait for their peer's
    authentication, from how many on the responder demands COOKIEs (RFC 7296 §2.6), how long one
    may wait, and how many new ones per second it computes a Diffie-Hellman for (0: no limit)."""

    half_open_limit: int = 1000
    cookie_threshold: int = 100
    half_open_timeout: int = 30
    init_rate: int = 0


@dataclass(frozen=True)
class TraceFile:
    name: str | None
    files: int
    size: str | None
    match: str | None
    world_readable: bool


@dataclass(frozen=True)
class TraceOptions:
    file: TraceFile | None
    flags: tuple[str, ...]
    origin: Origin = ORIGIN


@dataclass(frozen=True)
class NextHopTunnel:
    address: IPAddress
    vpn: str | None
    origin: Origin = ORIGIN


@dataclass(frozen=True)
class St0Interface:
    """``interfaces st0 unit N``: the Linux xfrm interface ``st0.N``."""

    unit: int
    if_id: int
    multipoint: bool
    inet: tuple[ipaddress.IPv4Interface, ...]
    inet6: tuple[ipaddress.IPv6Interface, ...]
    next_hop_tunnels: tuple[NextHopTunnel, ...]
    mtu: int | None = None
    mtu6: int | None = None
    description: str | None = None
    origin: Origin = ORIGIN

    @property
    def name(self) -> str:
        return f"st0.{self.unit}"

    @property
    def addresses(self) -> tuple[IPInterface, ...]:
        return (*self.inet, *self.inet6)


@dataclass(frozen=True)
class QualifiedNextHop:
    next_hop: IPAddress | str | St0Unit
    metric: int | None
    preference: int | None


@dataclass(frozen=True)
class StaticRoute:
    prefix: IPNetwork
    next_hops: tuple[IPAddress | str | St0Unit, ...]
    qualified_next_hops: tuple[QualifiedNextHop, ...]
    metric: int | None
    preference: int | None
    discard: bool = False
    reject: bool = False
    routing_instance: str | None = None
    origin: Origin = ORIGIN


@dataclass(frozen=True)
class AddressEntry:
    name: str
    prefix: IPNetwork | None
    dns_name: str | None = None
    range: tuple[IPAddress, IPAddress] | None = None


@dataclass(frozen=True)
class AddressBook:
    """A global book (attached to zones) or a zone's own book (`zone` set)."""

    name: str
    addresses: tuple[AddressEntry, ...]
    address_sets: Mapping[str, tuple[str, ...]]
    zones: tuple[str, ...]


@dataclass(frozen=True)
class SecurityPolicy:
    from_zone: str | None  # None for global policies
    to_zone: str | None
    name: str
    source_addresses: tuple[str, ...]
    destination_addresses: tuple[str, ...]
    applications: tuple[str, ...]
    action: str  # permit | deny | reject
    tunnel_vpn: str | None
    pair_policy: str | None
    origin: Origin = ORIGIN


@dataclass(frozen=True)
class SecurityZone:
    """A Junos security zone: only its members matter to xfrmctl (the side of a tunnel policy)."""

    name: str
    interfaces: tuple[str | St0Unit, ...]
    """Linux names where the interface map knows them, else as written in the file."""


@dataclass(frozen=True)
class AlarmThresholds:
    audible: bool
    authentication: int | None
    decryption_failures: int | None
    encryption_failures: int | None
    ike_phase1_failures: int | None
    ike_phase2_failures: int | None
    replay_attacks: int | None
    self_tests: tuple[str, ...]
    origin: Origin = ORIGIN


@dataclass(frozen=True)
class RoutingInstance:
    name: str
    instance_type: str
    interfaces: tuple[str | St0Unit, ...]
    origin: Origin = ORIGIN


@dataclass(frozen=True)
class CertificateFiles:
    """``xfrmctl certificate ID``: where the local certificate (PEM) and its key are."""

    name: str
    certificate_file: str | None
    key_file: str | None = field(default=None)
    origin: Origin = ORIGIN


@dataclass(frozen=True)
class CaProfile:
    """``xfrmctl ca-profile NAME``: a trusted CA certificate file (PEM)."""

    name: str
    file: str | None
    origin: Origin = ORIGIN


@dataclass(frozen=True)
class Config:
    """The whole configuration. Mappings keep configuration order."""

    ike_proposals: Mapping[str, IkeProposal] = field(default_factory=dict)
    ike_policies: Mapping[str, IkePolicy] = field(default_factory=dict)
    gateways: Mapping[str, IkeGateway] = field(default_factory=dict)
    respond_bad_spi: int | None = None
    ike_traceoptions: TraceOptions | None = None
    ipsec_proposals: Mapping[str, IpsecProposal] = field(default_factory=dict)
    ipsec_policies: Mapping[str, IpsecPolicy] = field(default_factory=dict)
    vpns: Mapping[str, Vpn] = field(default_factory=dict)
    vpn_monitor_options: VpnMonitorOptions = field(default_factory=VpnMonitorOptions)
    ike_flood_protection: IkeFloodProtection = field(default_factory=IkeFloodProtection)
    ipsec_trace_flags: tuple[str, ...] = ()
    st0_units: Mapping[int, St0Interface] = field(default_factory=dict)
    static_routes: tuple[StaticRoute, ...] = ()
    routing_instances: Mapping[str, RoutingInstance] = field(default_factory=dict)
    zones: Mapping[str, SecurityZone] = field(default_factory=dict)
    address_books: tuple[AddressBook, ...] = ()
    security_policies: tuple[SecurityPolicy, ...] = ()
    default_policy: str | None = None
    tcp_mss_ipsec_vpn: int | None = None
    alarms: AlarmThresholds | None = None
    certificates: Mapping[str, CertificateFiles] = field(default_factory=dict)
    ca_profiles: Mapping[str, CaProfile] = field(default_factory=dict)
    interface_map: Mapping[str, str] = field(default_factory=dict, compare=False)
    """Junos interface names that were translated (already applied to the model's values);
    provenance only, so it takes no part in comparisons."""
