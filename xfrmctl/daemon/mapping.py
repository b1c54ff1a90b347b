"""The configuration model as the daemon runs it: engine peers, VPN plans, kernel objects.

One Junos gateway becomes one engine peer named after the gateway: an IKEv2 `PeerConfig`
(`version v2-only`) or an IKEv1 `Ikev1PeerConfig` (`v1-only`, the Junos default; the IKE policy's
`mode main | aggressive`); each VPN on it becomes one `ChildConfig` (named after the VPN), so
several VPNs to one peer share its IKE SA as on an SRX. Algorithms come from the one registry
(`xfrmctl.keying.transforms`) through the Junos keywords. A VPN the engine cannot run (manual
keys, a certificate file that is missing) is not dropped silently: it is listed in
`Plan.unusable` with the reason `show ... inactive-tunnels` prints.

Pure: the daemon resolves Linux facts (an interface's primary address) beforehand and passes them
in as `addresses`, and reads certificate files through the `read_file` it passes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv6Address

from cryptography import x509

from xfrmctl.config import model as cm
from xfrmctl.config.model import Config
from xfrmctl.config.policy_vpn import tunnel_selectors
from xfrmctl.keying import transforms as t
from xfrmctl.keying.constants import IdType, ProtocolId
from xfrmctl.keying.errors import UnknownTransform
from xfrmctl.keying.ikev1.settings import ExchangeMode, Ikev1PeerConfig, Phase1Proposal
from xfrmctl.keying.ikev2.identity import Identity, IdentityError
from xfrmctl.keying.ikev2.settings import (
    CertAuth,
    ChildConfig,
    ConfigError,
    PeerConfig,
    PskAuth,
)
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.nhtb.planner import MultipointUnit

FileReader = Callable[[str], bytes]

# Spec §3.5: soft expiry = hard expiry - R, R uniform in [570, 630] s, at most half the lifetime.
SOFT_GAP_SECONDS = 570
SOFT_GAP_JITTER_SECONDS = 60
SOFT_GAP_MAX_FRACTION = 0.5


# `certificate trusted-ca use-all` (as no trusted-ca): every `xfrmctl ca-profile` is trusted
TRUST_ALL_CAS = "use-all"


class MappingError(ValueError):
    """A part of the configuration the daemon cannot run; the message is operator text."""


@dataclass(frozen=True)
class VpnPlan:
    """What the daemon needs to run one route-based VPN besides the engine's child config."""

    name: str
    gateway: str  # = the engine peer's name
    local_address: str
    remote_address: str | None
    bind_interface: str | None  # "st0.0"
    if_id: int | None
    establish_tunnels: str  # "immediately" | "on-traffic"
    df_bit: str
    child: ChildConfig = field(repr=False)
    multipoint: bool = False  # bound to a multipoint unit: SAs only, policies come from NHTB
    install_interval: int = 1  # `ike install-interval`: latest outbound switch after a rekey


@dataclass(frozen=True)
class ManualPlan:
    """A manual-key VPN (spec §2.9): one SPI and key set for both directions, straight into the
    kernel; no IKE, no lifetime, no anti-replay (a restarted peer starts its sequence again)."""

    name: str
    local_address: str
    remote_address: str
    spi: int
    protocol: str  # "esp" | "ah"
    encr: t.Transform | None
    encr_key: bytes = field(repr=False)
    integ: t.Transform | None
    integ_key: bytes = field(repr=False)
    bind_interface: str
    if_id: int
    df_bit: str
    inner_versions: tuple[int, ...]
    """IP versions carried (those of the unit's addresses; else the outer one): 0/0 policies."""


@dataclass(frozen=True)
class InterfacePlan:
    """An `st0.N` xfrm interface and the addresses the configuration gives it."""

    name: str
    if_id: int
    underlying: str | None
    addresses: tuple[str, ...]
    mtu: int | None


@dataclass(frozen=True)
class RoutePlan:
    dst: str
    dev: str
    via: str | None
    metric: int


@dataclass(frozen=True)
class Plan:
    peers: tuple[PeerConfig, ...]
    vpns: Mapping[str, VpnPlan]
    interfaces: tuple[InterfacePlan, ...]
    routes: tuple[RoutePlan, ...]
    unusable: Mapping[str, str]
    """VPN name -> why it cannot run (shown as its tunnel-down reason)."""
    ikev1_peers: tuple[Ikev1PeerConfig, ...] = ()
    """The `version v1-only` gateways (`peers` holds the v2-only ones)."""
    manual: Mapping[str, ManualPlan] = field(default_factory=dict)


def soft_window(lifetime: int) -> tuple[float, float]:
    """(rekey_margin, rekey_jitter) fractions giving the spec's soft/hard gap for `lifetime`."""
    margin = SOFT_GAP_SECONDS / lifetime
    jitter = SOFT_GAP_JITTER_SECONDS / lifetime
    if margin + jitter > SOFT_GAP_MAX_FRACTION:
        scale = SOFT_GAP_MAX_FRACTION / (margin + jitter)
        margin, jitter = margin * scale, jitter * scale
    return margin, jitter


def _ike_proposals(config: Config, policy: cm.IkePolicy) -> tuple[t.Proposal, ...]:
    return tuple(p.to_proposal() for p in _junos_ike_proposals(config, policy))


def _phase1_proposals(config: Config, policy: cm.IkePolicy) -> tuple[Phase1Proposal, ...]:
    """IKEv1 suites, each with its proposal's own lifetime (IKEv1 negotiates it per suite)."""
    out = []
    for p in _junos_ike_proposals(config, policy):
        try:
            out.append(Phase1Proposal.from_junos(p))
        except (ConfigError, UnknownTransform) as exc:
            raise MappingError(f"ike proposal {p.name}: {exc}") from None
    return tuple(out)


def _junos_ike_proposals(config: Config, policy: cm.IkePolicy) -> list[t.JunosIkeProposal]:
    junos: list[t.JunosIkeProposal] = []
    if policy.proposal_set:
        junos += t.JUNOS_IKE_PROPOSAL_SETS[policy.proposal_set]
    for name in policy.proposals:
        if name in config.ike_proposals:
            junos.append(_junos_ike(config.ike_proposals[name]))
        elif name in t.JUNOS_IKE_PREDEFINED:
            junos.append(t.JUNOS_IKE_PREDEFINED[name])
        else:
            raise MappingError(f"ike policy {policy.name}: no proposal {name!r}")
    if not junos:
        raise MappingError(f"ike policy {policy.name}: no proposals")
    return junos


def _junos_ike(p: cm.IkeProposal) -> t.JunosIkeProposal:
    if p.encryption_algorithm is None or p.dh_group is None:
        raise MappingError(f"ike proposal {p.name}: encryption-algorithm and dh-group are needed")
    try:
        encr = t.by_junos_ike(t.TransformType.ENCR, p.encryption_algorithm)
        dh = t.by_junos_ike(t.TransformType.DH, p.dh_group)
    except UnknownTransform as exc:
        raise MappingError(f"ike proposal {p.name}: {exc}") from None
    auth = p.authentication_algorithm
    if auth is None:
        if not encr.aead:
            raise MappingError(f"ike proposal {p.name}: authentication-algorithm is needed")
        auth = "sha-256"  # AEAD: the keyword only selects the PRF
    return t.JunosIkeProposal(
        p.name, p.authentication_method or "pre-shared-keys", dh, encr, auth, p.lifetime_seconds
    )


def _ipsec_proposals(
    config: Config, policy: cm.IpsecPolicy
) -> tuple[tuple[t.Proposal, ...], int, int | None]:
    """Proposals (PFS group added), and the lifetime (seconds, kilobytes) of the first."""
    pfs: t.Transform | None = None
    if policy.pfs_group:
        try:
            pfs = t.by_junos_ipsec(t.TransformType.DH, policy.pfs_group)
        except UnknownTransform as exc:
            raise MappingError(f"ipsec policy {policy.name}: {exc}") from None
    out: list[t.Proposal] = []
    lifetimes: list[tuple[int, int | None]] = []
    members: list[cm.IpsecProposal | t.JunosIpsecProposal] = []
    if policy.proposal_set:
        members += t.JUNOS_IPSEC_PROPOSAL_SETS[policy.proposal_set]
    for name in policy.proposals:
        if name in config.ipsec_proposals:
            members.append(config.ipsec_proposals[name])
        elif name in t.JUNOS_IPSEC_PREDEFINED:
            members.append(t.JUNOS_IPSEC_PREDEFINED[name])
        else:
            raise MappingError(f"ipsec policy {policy.name}: no proposal {name!r}")
    for m in members:
        if isinstance(m, t.JunosIpsecProposal):
            prop = m.to_proposal()
            lifetimes.append((m.lifetime_seconds, None))
        else:
            prop = _ipsec_proposal(m)
            lifetimes.append((m.lifetime_seconds, m.lifetime_kilobytes))
        if pfs is not None:
            prop = t.Proposal(prop.protocol, prop.encryption, prop.integrity, (), (pfs,), prop.esn)
        out.append(prop)
    if not out:
        raise MappingError(f"ipsec policy {policy.name}: no proposals")
    return tuple(out), lifetimes[0][0], lifetimes[0][1]


def _ipsec_proposal(p: cm.IpsecProposal) -> t.Proposal:
    if p.protocol != "esp":
        raise MappingError(f"ipsec proposal {p.name}: only protocol esp is supported")
    if p.encryption_algorithm is None:
        raise MappingError(f"ipsec proposal {p.name}: encryption-algorithm is needed")
    try:
        encr = t.by_junos_ipsec(t.TransformType.ENCR, p.encryption_algorithm)
        integ = (
            ()
            if p.authentication_algorithm is None or encr.aead
            else (t.by_junos_ipsec(t.TransformType.INTEG, p.authentication_algorithm),)
        )
    except UnknownTransform as exc:
        raise MappingError(f"ipsec proposal {p.name}: {exc}") from None
    if not encr.aead and not integ:
        raise MappingError(f"ipsec proposal {p.name}: authentication-algorithm is needed")
    return t.Proposal(ProtocolId.ESP, (encr,), integ, (), (), (t.NO_ESN,))


_ID_TYPES = {
    "hostname": IdType.FQDN,
    "user-at-hostname": IdType.RFC822_ADDR,
}


def identity(ident: cm.Identity | None, what: str) -> Identity | None:
    """The engine identity of a Junos `local-identity` / `remote-identity` (None: default)."""
    if ident is None:
        return None
    try:
        if ident.kind in ("inet", "inet6"):
            if ident.value is None:
                return None
            return Identity.parse(str(ipaddress.ip_address(ident.value)))
        if ident.kind in _ID_TYPES:
            if not ident.value:
                raise MappingError(f"{what}: {ident.kind} needs a value")
            return Identity(_ID_TYPES[ident.kind], ident.value.encode())
        if ident.kind == "distinguished-name":
            if ident.value is None and ident.container is None and ident.wildcard is None:
                return None  # local: from the certificate
            text = ident.value or ident.container or ident.wildcard or ""
            return Identity.parse(text)
    except (IdentityError, ValueError) as exc:
        raise MappingError(f"{what}: {exc}") from None
    raise MappingError(f"{what}: identity type {ident.kind} is not supported")


def dynamic_identity(dyn: cm.DynamicPeer, what: str) -> Identity:
    """The identity every initiator of a `dynamic` gateway must present.

    Without `ike-user-type` (one remote user) and with `shared-ike-id` (every user presents the
    same id) the id must equal the configured one. With `group-ike-id` the configured hostname
    or e-mail domain is the common part of each user's id, as on Junos: `dynamic hostname
    example.net` accepts `ny.example.net`, `dynamic user-at-hostname example.net` (or
    `*@example.net`) accepts `bob@example.net`."""
    ident = dyn.identity
    if ident is None:
        return Identity.any()  # no identity configured: any initiator that authenticates
    group = dyn.ike_user_type == "group-ike-id"
    if dyn.ike_user_type is not None and ident.kind not in _ID_TYPES:
        raise MappingError(f"{what}: ike-user-type needs a hostname or user-at-hostname identity")
    if group and ident.value:
        if ident.kind == "hostname":
            domain = ident.value.removeprefix("*.").lstrip(".")
            return Identity(IdType.FQDN, f"*.{domain}".encode())
        domain = ident.value.rpartition("@")[2]
        if not domain:
            raise MappingError(f"{what}: user-at-hostname needs the users' domain")
        return Identity(IdType.RFC822_ADDR, f"*@{domain}".encode())
    return identity(ident, what) or Identity.any()


def _cert_auth(config: Config, policy: cm.IkePolicy, read_file: FileReader | None) -> CertAuth:
    where = f"ike policy {policy.name}"
    cert = policy.certificate
    if cert is None or cert.local_certificate is None:
        raise MappingError(f"{where}: neither pre-shared-key nor certificate local-certificate")
    files = config.certificates.get(cert.local_certificate)
    if files is None or files.certificate_file is None or files.key_file is None:
        raise MappingError(
            f"{where}: certificate {cert.local_certificate!r} needs "
            f"`xfrmctl certificate {cert.local_certificate} file F key K`"
        )
    if cert.trusted_ca is not None and cert.trusted_ca != TRUST_ALL_CAS:
        profiles = [config.ca_profiles.get(cert.trusted_ca)]
        if profiles[0] is None:
            raise MappingError(f"{where}: no xfrmctl ca-profile {cert.trusted_ca!r}")
    else:
        profiles = list(config.ca_profiles.values())
    if read_file is None:
        raise MappingError(f"{where}: certificate files cannot be read here")
    try:
        certificate = read_file(files.certificate_file)
        key = read_file(files.key_file)
        cas = tuple(read_file(p.file) for p in profiles if p is not None and p.file)
    except OSError as exc:
        raise MappingError(f"{where}: {exc.filename}: {exc.strerror}") from None
    if not cas:
        raise MappingError(f"{where}: no trusted CA (xfrmctl ca-profile NAME file F)")
    try:
        return CertAuth(certificate=certificate, private_key=key, ca_certificates=cas)
    except ConfigError as exc:
        raise MappingError(f"{where}: {exc}") from None


def _subject_identity(certificate: bytes) -> Identity:
    """The DN identity of our own certificate (Junos `local-identity distinguished-name`)."""
    try:
        if certificate.lstrip().startswith(b"-----"):
            cert = x509.load_pem_x509_certificate(certificate)
        else:
            cert = x509.load_der_x509_certificate(certificate)
    except ValueError as exc:
        raise MappingError(f"local certificate: {exc}") from None
    return Identity(IdType.DER_ASN1_DN, cert.subject.public_bytes())


def _family(address: str) -> int:
    return ipaddress.ip_address(address).version


def _inner_versions(unit: cm.St0Interface | None, outer: int, ikev1: bool) -> tuple[int, ...]:
    """IP versions a route-based VPN carries: those of its st0 unit's families, the outer one
    first (IPv4-in-IPv6, IPv6-in-IPv4); the outer one alone for a unit with no address and for
    IKEv1, whose quick mode negotiates one proxy-ID pair."""
    if unit is None or ikev1:
        return (outer,)
    families = tuple(v for v, nets in ((4, unit.inet), (6, unit.inet6)) if nets)
    if not families:
        return (outer,)
    return tuple(sorted(families, key=lambda v: v != outer))


def _local_address(gw: cm.IkeGateway, remote: str | None, addresses: Mapping[str, tuple[str, ...]]
                   ) -> str:  # fmt: skip
    if gw.local_address is not None:
        return str(gw.local_address)
    ext = gw.external_interface
    if ext is None:
        raise MappingError(f"gateway {gw.name}: neither local-address nor external-interface")
    name = str(ext)
    want = _family(remote) if remote else None
    for addr in addresses.get(name, ()):
        ip = ipaddress.ip_interface(addr).ip
        if want is None or ip.version == want:
            if ip.version == 6 and ip.is_link_local:
                continue
            return str(ip)
    raise MappingError(f"gateway {gw.name}: no usable address on {name}")


def _peer(
    config: Config,
    gw: cm.IkeGateway,
    addresses: Mapping[str, tuple[str, ...]],
    read_file: FileReader | None,
) -> tuple[PeerConfig | Ikev1PeerConfig, str, str | None]:
    policy = config.ike_policies.get(gw.ike_policy or "")
    if policy is None:
        raise MappingError(f"gateway {gw.name}: no ike policy")
    auth: PskAuth | CertAuth
    local_id = identity(gw.local_identity, f"gateway {gw.name} local-identity")
    if policy.pre_shared_key is not None:
        auth = PskAuth(policy.pre_shared_key.value)
    else:
        auth = _cert_auth(config, policy, read_file)
        if local_id is None and gw.local_identity is not None:
            local_id = _subject_identity(auth.certificate)  # distinguished-name: the cert's
    remote: str | None = None
    if gw.addresses:
        first = gw.addresses[0]
        try:
            remote = str(ipaddress.ip_address(str(first)))
        except ValueError:
            raise MappingError(f"gateway {gw.name}: host names are not resolved yet") from None
    elif gw.dynamic is None:
        raise MappingError(f"gateway {gw.name}: no address and not dynamic")
    local = _local_address(gw, remote, addresses)
    remote_id = identity(gw.remote_identity, f"gateway {gw.name} remote-identity")
    unique_ids = True
    if gw.dynamic is not None:
        dynamic_id = dynamic_identity(gw.dynamic, f"gateway {gw.name} dynamic")
        remote_id = remote_id or dynamic_id
        unique_ids = gw.dynamic.ike_user_type != "shared-ike-id"
    if gw.general_ikeid:
        remote_id = Identity.any()  # Junos general-ikeid: accept whatever IKE ID the peer sends
    if gw.version == "v1-only":
        return _ikev1_peer(config, gw, policy, auth, local, remote, local_id, remote_id)
    proposals = _ike_proposals(config, policy)
    lifetimes = [
        config.ike_proposals[n].lifetime_seconds
        for n in policy.proposals
        if n in config.ike_proposals
    ]
    lifetime = lifetimes[0] if lifetimes else 28800
    margin, jitter = soft_window(lifetime)
    try:
        peer = PeerConfig(
            name=gw.name,
            local_address=local,
            remote_address=remote,
            auth=auth,
            local_id=local_id,
            remote_id=remote_id,
            proposals=proposals,
            lifetime_seconds=lifetime,
            rekey_margin=margin,
            rekey_jitter=jitter,
            unique_ids=unique_ids,
        )
    except ConfigError as exc:
        raise MappingError(str(exc)) from None
    return peer, local, remote


def _ikev1_peer(  # noqa: PLR0917
    config: Config,
    gw: cm.IkeGateway,
    policy: cm.IkePolicy,
    auth: PskAuth | CertAuth,
    local: str,
    remote: str | None,
    local_id: Identity | None,
    remote_id: Identity | None,
) -> tuple[Ikev1PeerConfig, str, str | None]:
    """A `version v1-only` gateway: main or aggressive mode as its IKE policy says."""
    proposals = _phase1_proposals(config, policy)
    margin, jitter = soft_window(proposals[0].lifetime_seconds)
    try:
        peer = Ikev1PeerConfig(
            name=gw.name,
            local_address=local,
            remote_address=remote,
            auth=auth,
            proposals=proposals,
            mode=ExchangeMode(policy.mode),
            local_id=local_id,
            remote_id=remote_id,
            rekey_margin=margin,
            rekey_jitter=jitter,
            nat_traversal=gw.nat_traversal,
        )
    except (ConfigError, ValueError) as exc:
        raise MappingError(f"gateway {gw.name}: {exc}") from None
    return peer, local, remote


Selectors = tuple[tuple[TrafficSelector, ...], tuple[TrafficSelector, ...]]


def _policy_selectors(config: Config) -> dict[str, Selectors]:
    """Policy-based VPN -> (local, remote) selectors of all its tunnel policies (spec §2.13)."""
    out: dict[str, Selectors] = {}
    for name, sets in tunnel_selectors(config).items():
        local = tuple(dict.fromkeys(n for s in sets for n in s.local))
        remote = tuple(dict.fromkeys(n for s in sets for n in s.remote))
        out[name] = (
            tuple(TrafficSelector.from_network(str(n)) for n in local),
            tuple(TrafficSelector.from_network(str(n)) for n in remote),
        )
    return out


def _child(
    config: Config,
    vpn: cm.Vpn,
    if_id: int | None,
    versions: tuple[int, ...],
    policy_ts: Selectors | None = None,
) -> ChildConfig:
    """`versions`: the inner IP versions a route-based VPN carries by default (0/0 of each)."""
    assert vpn.ike is not None
    policy = config.ipsec_policies.get(vpn.ike.ipsec_policy or "")
    if policy is None:
        raise MappingError(f"vpn {vpn.name}: no ipsec policy")
    proposals, seconds, kilobytes = _ipsec_proposals(config, policy)
    local_ts: tuple[TrafficSelector, ...]
    remote_ts: tuple[TrafficSelector, ...]
    if vpn.ike.proxy_identity is not None:
        local_ts = (TrafficSelector.from_network(str(vpn.ike.proxy_identity.local)),)
        remote_ts = (TrafficSelector.from_network(str(vpn.ike.proxy_identity.remote)),)
    elif policy_ts is not None:
        local_ts, remote_ts = policy_ts
    elif vpn.traffic_selectors:
        local_ts = tuple(
            TrafficSelector.from_network(str(s.local_ip))
            for s in vpn.traffic_selectors
            if s.local_ip is not None
        )
        remote_ts = tuple(
            TrafficSelector.from_network(str(s.remote_ip))
            for s in vpn.traffic_selectors
            if s.remote_ip is not None
        )
    else:
        local_ts = remote_ts = tuple(TrafficSelector.any(v) for v in versions)
    margin, jitter = soft_window(seconds)
    try:
        return ChildConfig(
            name=vpn.name,
            local_ts=local_ts,
            remote_ts=remote_ts,
            proposals=proposals,
            pfs_group=proposals[0].dh[0] if proposals[0].dh else None,
            lifetime_seconds=seconds,
            lifetime_kilobytes=kilobytes or 0,
            rekey_margin=margin,
            rekey_jitter=jitter,
            if_id=if_id,
            replay_window=vpn.ike.replay_window,
        )
    except ConfigError as exc:
        raise MappingError(str(exc)) from None


def build_plan(
    config: Config,
    addresses: Mapping[str, tuple[str, ...]],
    read_file: FileReader | None = None,
) -> Plan:
    """Everything the daemon runs from `config`; `addresses` are interface -> CIDR addresses,
    `read_file` reads the certificate and key files the configuration names."""
    unusable: dict[str, str] = {}
    peers: dict[str, tuple[PeerConfig | Ikev1PeerConfig, str, str | None]] = {}
    peer_errors: dict[str, str] = {}
    for gw in config.gateways.values():
        try:
            peers[gw.name] = _peer(config, gw, addresses, read_file)
        except (MappingError, UnknownTransform) as exc:
            peer_errors[gw.name] = str(exc)
    vpns: dict[str, VpnPlan] = {}
    manual: dict[str, ManualPlan] = {}
    children: dict[str, list[ChildConfig]] = {}
    policy_ts = _policy_selectors(config)
    for vpn in config.vpns.values():
        if vpn.ike is None:
            try:
                manual[vpn.name] = _manual(config, vpn, addresses)
            except (MappingError, UnknownTransform) as exc:
                unusable[vpn.name] = str(exc)
            continue
        gw_name = vpn.ike.gateway or ""
        if gw_name in peer_errors:
            unusable[vpn.name] = peer_errors[gw_name]
            continue
        if gw_name not in peers:
            unusable[vpn.name] = f"no gateway {gw_name!r}"
            continue
        gw_peer, local, remote = peers[gw_name]
        unit = config.st0_units.get(vpn.bind_interface.unit) if vpn.bind_interface else None
        if vpn.bind_interface is not None and unit is None:
            unusable[vpn.name] = f"{vpn.bind_interface} is not configured"
            continue
        if vpn.bind_interface is None and vpn.name not in policy_ts:
            unusable[vpn.name] = (
                "policy-based VPN with no tunnel policy (then permit tunnel ipsec-vpn "
                f"{vpn.name}) and no bind-interface"
            )
            continue
        if_id = unit.if_id if unit is not None else None
        try:
            versions = _inner_versions(unit, _family(local), isinstance(gw_peer, Ikev1PeerConfig))
            child = _child(config, vpn, if_id, versions, policy_ts.get(vpn.name))
            if unit is not None:
                child = replace(child, local_tunnel_addresses=_tunnel_addresses(unit))
            if isinstance(gw_peer, Ikev1PeerConfig):
                replace(gw_peer, children=(child,))  # IKEv1's own limits on phase-2 proposals
        except (MappingError, UnknownTransform, ConfigError, ValueError) as exc:
            unusable[vpn.name] = str(exc)
            continue
        children.setdefault(gw_name, []).append(child)
        vpns[vpn.name] = VpnPlan(
            name=vpn.name,
            gateway=gw_name,
            local_address=local,
            remote_address=remote,
            bind_interface=str(vpn.bind_interface) if vpn.bind_interface else None,
            if_id=if_id,
            establish_tunnels=vpn.establish_tunnels,
            df_bit=vpn.df_bit,
            child=child,
            multipoint=unit is not None and unit.multipoint,
            install_interval=vpn.ike.install_interval if vpn.ike is not None else 1,
        )
    engine_peers = [
        _with_children(peer, tuple(children.get(name, ()))) for name, (peer, _, _) in peers.items()
    ]
    return Plan(
        peers=tuple(p for p in engine_peers if isinstance(p, PeerConfig)),
        vpns=vpns,
        interfaces=_interfaces(config),
        routes=_routes(config),
        unusable=unusable,
        ikev1_peers=tuple(p for p in engine_peers if isinstance(p, Ikev1PeerConfig)),
        manual=manual,
    )


def _manual(config: Config, vpn: cm.Vpn, addresses: Mapping[str, tuple[str, ...]]) -> ManualPlan:
    m = vpn.manual
    if m is None or m.gateway is None or m.spi is None or m.external_interface is None:
        raise MappingError(f"vpn {vpn.name}: manual needs gateway, spi and external-interface")
    unit = config.st0_units.get(vpn.bind_interface.unit) if vpn.bind_interface else None
    if unit is None:
        raise MappingError(
            f"vpn {vpn.name}: manual SAs need bind-interface (policy-based VPNs are not "
            "realised yet)"
        )
    if unit.multipoint:
        raise MappingError(f"vpn {vpn.name}: manual SAs need a point-to-point st0 unit")
    remote = str(m.gateway)
    want = m.gateway.version
    local = None
    for cidr in addresses.get(str(m.external_interface), ()):
        ip = ipaddress.ip_interface(cidr).ip
        if ip.version == want and not ip.is_link_local:
            local = str(ip)
            break
    if local is None:
        raise MappingError(f"vpn {vpn.name}: no IPv{want} address on {m.external_interface}")
    encr = integ = None
    encr_key = integ_key = b""
    if m.encryption is not None and m.encryption.algorithm and m.encryption.key is not None:
        encr = t.by_junos_ipsec(t.TransformType.ENCR, m.encryption.algorithm)
        encr_key = m.encryption.key.value
    if m.authentication is not None and m.authentication.algorithm and m.authentication.key:
        integ = t.by_junos_ipsec(t.TransformType.INTEG, m.authentication.algorithm)
        integ_key = m.authentication.key.value
    if encr is not None and encr.aead:
        integ, integ_key = None, b""
    if (m.protocol == "esp" and encr is None) or (m.protocol == "ah" and integ is None):
        raise MappingError(f"vpn {vpn.name}: manual {m.protocol} is missing its algorithm or key")
    return ManualPlan(
        name=vpn.name,
        local_address=local,
        remote_address=remote,
        spi=m.spi,
        protocol=m.protocol,
        encr=encr if m.protocol == "esp" else None,
        encr_key=encr_key if m.protocol == "esp" else b"",
        integ=integ,
        integ_key=integ_key,
        bind_interface=unit.name,
        if_id=unit.if_id,
        df_bit=vpn.df_bit,
        inner_versions=tuple(v for v, nets in ((4, unit.inet), (6, unit.inet6)) if nets)
        or (want,),
    )


def _tunnel_addresses(unit: cm.St0Interface) -> tuple[IPv4Address | IPv6Address, ...]:
    """The unit's first address per family: what a peer learns as our NHTB next hop."""
    firsts = [a.ip for a in unit.inet[:1]] + [a.ip for a in unit.inet6[:1]]
    return tuple(a for a in firsts if not a.is_loopback and not a.is_multicast)


def multipoint_units(config: Config) -> tuple[MultipointUnit, ...]:
    return tuple(
        MultipointUnit(u.name, u.if_id) for u in config.st0_units.values() if u.multipoint
    )


def multipoint_vpns(plan: Plan) -> dict[str, str]:
    """VPN name -> the multipoint unit it is bound to."""
    return {v.name: v.bind_interface for v in plan.vpns.values()
            if v.multipoint and v.bind_interface is not None}  # fmt: skip


def _with_children(
    peer: PeerConfig | Ikev1PeerConfig, children: tuple[ChildConfig, ...]
) -> PeerConfig | Ikev1PeerConfig:
    return replace(peer, children=children)


def _interfaces(config: Config) -> tuple[InterfacePlan, ...]:
    underlying: dict[int, str] = {}
    for vpn in config.vpns.values():
        if vpn.bind_interface is None:
            continue
        if vpn.manual is not None and isinstance(vpn.manual.external_interface, str):
            underlying.setdefault(vpn.bind_interface.unit, vpn.manual.external_interface)
        if vpn.ike is None:
            continue
        gw = config.gateways.get(vpn.ike.gateway or "")
        if gw is not None and isinstance(gw.external_interface, str):
            underlying.setdefault(vpn.bind_interface.unit, gw.external_interface)
    return tuple(
        InterfacePlan(
            name=unit.name,
            if_id=unit.if_id,
            underlying=underlying.get(unit.unit),
            addresses=tuple(str(a) for a in unit.addresses),
            mtu=unit.mtu,
        )
        for unit in config.st0_units.values()
    )


def _routes(config: Config) -> tuple[RoutePlan, ...]:
    out: list[RoutePlan] = []
    for route in config.static_routes:
        if route.routing_instance or route.discard or route.reject:
            continue
        hops = [*route.next_hops, *(q.next_hop for q in route.qualified_next_hops)]
        for hop in hops[:1]:
            text = str(hop)
            if text.startswith("st0."):
                out.append(RoutePlan(str(route.prefix), text, None, route.metric or 0))
            else:
                dev = _st0_for(config, text)
                if dev is not None:
                    out.append(RoutePlan(str(route.prefix), dev, text, route.metric or 0))
    return tuple(out)


def _st0_for(config: Config, next_hop: str) -> str | None:
    """The st0 unit whose subnet holds `next_hop` (routes via other devices are not ours)."""
    try:
        ip = ipaddress.ip_address(next_hop)
    except ValueError:
        return None
    for unit in config.st0_units.values():
        if any(ip in a.network for a in unit.addresses):
            return unit.name
    return None
