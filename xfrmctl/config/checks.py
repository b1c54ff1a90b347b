"""Commit checks (spec §2.21) and cross references, run on the built model.

Each check adds diagnostics and never stops the others, so one ``config check`` run lists every
problem of a file.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict

from xfrmctl.config import algorithms
from xfrmctl.config.errors import Diagnostics, Location
from xfrmctl.config.model import (
    Config,
    IkeGateway,
    IkePolicy,
    IkeProposal,
    IpsecPolicy,
    IpsecProposal,
    ManualKey,
    Vpn,
)
from xfrmctl.config.values import IPNetwork, St0Unit


def run_checks(config: Config, diags: Diagnostics) -> None:
    for proposal in config.ike_proposals.values():
        _ike_proposal(proposal, diags)
    for policy in config.ike_policies.values():
        _ike_policy(config, policy, diags)
    for gateway in config.gateways.values():
        _gateway(config, gateway, diags)
    _duplicate_gateways(config, diags)
    for ipsec_proposal in config.ipsec_proposals.values():
        _ipsec_proposal(ipsec_proposal, diags)
    for ipsec_policy in config.ipsec_policies.values():
        _ipsec_policy(config, ipsec_policy, diags)
    for vpn in config.vpns.values():
        _vpn(config, vpn, diags)
    _bindings(config, diags)
    _multipoint_overlap(config, diags)
    _routes(config, diags)
    _security_policies(config, diags)
    _traceoptions(config, diags)
    _routing_instances(config, diags)
    _certificate_files(config, diags)


def _legacy(diags: Diagnostics, where: str, origin_loc: Location, kind: str, keyword: str) -> None:
    if algorithms.is_legacy(kind, keyword):
        diags.warning(
            origin_loc,
            where,
            f"{keyword} is a legacy algorithm (weak); accepted for interoperability only",
        )


def _ike_proposal(p: IkeProposal, diags: Diagnostics) -> None:
    path = f"security ike proposal {p.name}"
    for field, keyword in (
        ("authentication-method", p.authentication_method),
        ("dh-group", p.dh_group),
        ("encryption-algorithm", p.encryption_algorithm),
    ):
        if keyword is None:
            diags.error(p.origin.location, path, f"{field} is required")
    aead = (
        p.encryption_algorithm is not None
        and algorithms.transform("ike-encryption", p.encryption_algorithm).aead
    )
    if p.authentication_algorithm is None and not aead:
        diags.error(p.origin.location, path, "authentication-algorithm is required")
    for field, kind, keyword in (
        ("dh-group", "dh-group", p.dh_group),
        ("encryption-algorithm", "ike-encryption", p.encryption_algorithm),
        ("authentication-algorithm", "ike-authentication", p.authentication_algorithm),
    ):
        if keyword is not None:
            _legacy(diags, f"{path} {field}", p.origin.of(field), kind, keyword)


def _proposal_list(
    diags: Diagnostics,
    path: str,
    origin_loc: Location,
    proposals: tuple[str, ...],
    proposal_set: str | None,
) -> None:
    if proposals and proposal_set:
        diags.error(origin_loc, path, "proposals and proposal-set are mutually exclusive")
    elif not proposals and not proposal_set:
        diags.error(origin_loc, path, "proposals or proposal-set is required")


def _ike_policy(config: Config, p: IkePolicy, diags: Diagnostics) -> None:
    path = f"security ike policy {p.name}"
    _proposal_list(diags, path, p.origin.location, p.proposals, p.proposal_set)
    predefined = algorithms.predefined_ike_proposals()
    groups: set[str] = set()
    methods: set[str] = set()
    for name in p.proposals:
        if name in config.ike_proposals:
            proposal = config.ike_proposals[name]
            if proposal.dh_group:
                groups.add(proposal.dh_group)
            if proposal.authentication_method:
                methods.add(proposal.authentication_method)
        elif name in predefined:
            groups.add(predefined[name].dh_group.junos_ike or "")
            methods.add(predefined[name].authentication_method)
        else:
            diags.error(
                p.origin.of("proposals"),
                f"{path} proposals",
                f"IKE proposal '{name}' is not defined",
            )
    if p.proposal_set:
        methods.update(algorithms.ike_set_methods(p.proposal_set))
        where = f"{path} proposal-set"
        _legacy_set(diags, where, p.origin.of("proposal-set"), "ike-proposal-set", p.proposal_set)
    if len(groups) > 1:
        diags.warning(
            p.origin.of("proposals"),
            f"{path} proposals",
            f"proposals use different DH groups ({', '.join(sorted(groups))}); "
            "use the same group in all proposals",
        )
    if "pre-shared-keys" in methods and p.pre_shared_key is None:
        diags.error(p.origin.location, path, "pre-shared-key is required by the proposals")
    if methods - {"pre-shared-keys"}:
        _certificate(config, p, diags)


def _certificate(config: Config, p: IkePolicy, diags: Diagnostics) -> None:
    """Signature authentication needs the files behind the Junos certificate ids."""
    path = f"security ike policy {p.name} certificate"
    cert = p.certificate
    if cert is None or cert.local_certificate is None:
        diags.error(
            p.origin.of("certificate"),
            path,
            "signature authentication needs 'certificate local-certificate ID' (with "
            "'xfrmctl certificate ID file PATH key PATH')",
        )
    elif cert.local_certificate not in config.certificates:
        diags.error(
            p.origin.of("certificate.local-certificate"),
            f"{path} local-certificate",
            f"certificate '{cert.local_certificate}' has no files: configure 'xfrmctl "
            f"certificate {cert.local_certificate} file PATH key PATH'",
        )
    trusted = cert.trusted_ca if cert is not None else None
    if trusted in (None, "use-all"):
        if not config.ca_profiles:
            diags.error(
                p.origin.of("certificate"),
                path,
                "no trusted CA: configure 'xfrmctl ca-profile NAME file PATH'",
            )
    elif trusted not in config.ca_profiles:
        diags.error(
            p.origin.of("certificate.trusted-ca"),
            f"{path} trusted-ca",
            f"CA profile '{trusted}' is not defined: configure 'xfrmctl ca-profile {trusted} "
            "file PATH'",
        )


def _certificate_files(config: Config, diags: Diagnostics) -> None:
    for c in config.certificates.values():
        for field, value in (("file", c.certificate_file), ("key", c.key_file)):
            if value is None:
                diags.error(
                    c.origin.location, f"xfrmctl certificate {c.name}", f"{field} is required"
                )
    for ca in config.ca_profiles.values():
        if ca.file is None:
            diags.error(ca.origin.location, f"xfrmctl ca-profile {ca.name}", "file is required")


def _legacy_set(diags: Diagnostics, where: str, loc: Location, kind: str, name: str) -> None:
    if algorithms.proposal_set_is_legacy(kind, name):
        diags.warning(
            loc,
            where,
            f"proposal-set {name} contains legacy algorithms (DES/3DES/MD5, DH group 1/2/5); "
            "accepted for interoperability only",
        )


def _gateway(config: Config, g: IkeGateway, diags: Diagnostics) -> None:
    path = f"security ike gateway {g.name}"
    if g.ike_policy is None:
        diags.error(g.origin.location, path, "ike-policy is required")
    elif g.ike_policy not in config.ike_policies:
        diags.error(
            g.origin.of("ike-policy"),
            f"{path} ike-policy",
            f"IKE policy '{g.ike_policy}' is not defined",
        )
    if g.external_interface is None:
        diags.error(g.origin.location, path, "external-interface is required")
    elif isinstance(g.external_interface, St0Unit):
        diags.error(
            g.origin.of("external-interface"),
            f"{path} external-interface",
            "a tunnel interface cannot carry IKE; name the physical interface",
        )
    if not g.addresses and g.dynamic is None:
        diags.error(g.origin.location, path, "address or dynamic is required")
    if g.addresses and g.dynamic is not None:
        diags.error(g.origin.location, path, "address and dynamic are mutually exclusive")
    if len(g.addresses) > 1:
        diags.warning(
            g.origin.of("address"),
            f"{path} address",
            f"not realised yet: backup gateways are not tried; only {g.addresses[0]} is used",
        )
    if g.addresses and isinstance(g.addresses[0], str):
        diags.warning(
            g.origin.of("address"),
            f"{path} address {g.addresses[0]}",
            "not realised yet: host names are not resolved; the VPNs on this gateway stay down "
            "(configure the peer's IP address)",
        )
    if g.local_address is not None:
        for address in g.addresses:
            if isinstance(address, str):
                continue
            if address.version != g.local_address.version:
                diags.error(
                    g.origin.of("local-address"),
                    f"{path} local-address",
                    f"address family differs from the peer address {address}",
                )
    policy = config.ike_policies.get(g.ike_policy or "")
    if g.version == "v2-only" and policy is not None and policy.mode == "aggressive":
        diags.warning(
            policy.origin.of("mode"),
            f"security ike policy {policy.name} mode",
            f"aggressive mode does not exist in IKEv2 (gateway {g.name} is v2-only); ignored",
        )


def _duplicate_gateways(config: Config, diags: Diagnostics) -> None:
    seen: dict[tuple[object, ...], str] = {}
    for g in config.gateways.values():
        if not g.addresses:
            continue
        key = (g.addresses[0], g.external_interface, g.local_address)
        if key in seen:
            diags.error(
                g.origin.of("address"),
                f"security ike gateway {g.name} address",
                f"gateway '{seen[key]}' already uses peer {g.addresses[0]} from the same "
                "local interface and address",
            )
        else:
            seen[key] = g.name


def _ipsec_proposal(p: IpsecProposal, diags: Diagnostics) -> None:
    path = f"security ipsec proposal {p.name}"
    if p.protocol == "ah":
        if p.encryption_algorithm is not None:
            diags.error(
                p.origin.of("encryption-algorithm"),
                f"{path} encryption-algorithm",
                "AH does not encrypt; remove encryption-algorithm or use protocol esp",
            )
        if p.authentication_algorithm is None:
            diags.error(p.origin.location, path, "authentication-algorithm is required for AH")
        diags.warning(
            p.origin.of("protocol"),
            f"{path} protocol",
            "not realised yet: AH is not negotiated by IKE; VPNs using this proposal stay down "
            "(use protocol esp)",
        )
    elif p.encryption_algorithm is None:
        diags.error(p.origin.location, path, "encryption-algorithm is required for ESP")
    elif algorithms.is_aead(p.encryption_algorithm):
        if p.authentication_algorithm is not None:
            diags.error(
                p.origin.of("authentication-algorithm"),
                f"{path} authentication-algorithm",
                f"{p.encryption_algorithm} authenticates itself; remove authentication-algorithm",
            )
    elif p.authentication_algorithm is None:
        diags.error(
            p.origin.location,
            path,
            "authentication-algorithm is required with a non-AEAD cipher",
        )
    for field, kind, keyword in (
        ("encryption-algorithm", "ipsec-encryption", p.encryption_algorithm),
        ("authentication-algorithm", "ipsec-authentication", p.authentication_algorithm),
    ):
        if keyword is not None:
            _legacy(diags, f"{path} {field}", p.origin.of(field), kind, keyword)


def _ipsec_policy(config: Config, p: IpsecPolicy, diags: Diagnostics) -> None:
    path = f"security ipsec policy {p.name}"
    _proposal_list(diags, path, p.origin.location, p.proposals, p.proposal_set)
    predefined = algorithms.predefined_ipsec_proposals()
    for name in p.proposals:
        if name not in config.ipsec_proposals and name not in predefined:
            diags.error(
                p.origin.of("proposals"),
                f"{path} proposals",
                f"IPsec proposal '{name}' is not defined",
            )
    if p.proposal_set:
        where = f"{path} proposal-set"
        _legacy_set(diags, where, p.origin.of("proposal-set"), "ipsec-proposal-set", p.proposal_set)
    if p.pfs_group is not None:
        _legacy(
            diags,
            f"{path} perfect-forward-secrecy keys",
            p.origin.of("perfect-forward-secrecy.keys"),
            "pfs-group",
            p.pfs_group,
        )


def _vpn(config: Config, v: Vpn, diags: Diagnostics) -> None:
    path = f"security ipsec vpn {v.name}"
    if v.ike is None and v.manual is None:
        diags.error(v.origin.location, path, "ike or manual is required")
    if v.ike is not None and v.manual is not None:
        diags.error(v.origin.location, path, "ike and manual are mutually exclusive")
    if v.df_bit == "set":
        diags.error(
            v.origin.of("df-bit"),
            f"{path} df-bit set",
            "the Linux kernel cannot force DF on the outer header (it clears or copies it); "
            "use clear or copy",
        )
    gateway = None
    if v.ike is not None:
        if v.ike.gateway is None:
            diags.error(v.origin.of("ike"), f"{path} ike", "gateway is required")
        else:
            gateway = config.gateways.get(v.ike.gateway)
            if gateway is None:
                diags.error(
                    v.origin.of("ike.gateway"),
                    f"{path} ike gateway",
                    f"IKE gateway '{v.ike.gateway}' is not defined",
                )
        if v.ike.ipsec_policy is None:
            diags.error(v.origin.of("ike"), f"{path} ike", "ipsec-policy is required")
        elif v.ike.ipsec_policy not in config.ipsec_policies:
            diags.error(
                v.origin.of("ike.ipsec-policy"),
                f"{path} ike ipsec-policy",
                f"IPsec policy '{v.ike.ipsec_policy}' is not defined",
            )
        proxy = v.ike.proxy_identity
        if proxy is not None and proxy.service != "any":
            diags.warning(
                v.origin.of("ike.proxy-identity.service"),
                f"{path} ike proxy-identity service",
                f"not realised yet: service {proxy.service} is not negotiated; the proxy "
                "identity protects every protocol and port (service any)",
            )
        if proxy is not None and proxy.local.version != proxy.remote.version:
            diags.error(
                v.origin.of("ike.proxy-identity"),
                f"{path} ike proxy-identity",
                "local and remote must be of the same address family",
            )
        if proxy is not None and v.traffic_selectors:
            diags.error(
                v.origin.of("traffic-selector"),
                f"{path} traffic-selector",
                "traffic-selector and proxy-identity are mutually exclusive",
            )
    for ts in v.traffic_selectors:
        ts_path = f"{path} traffic-selector {ts.name}"
        if ts.local_ip is None or ts.remote_ip is None:
            diags.error(
                v.origin.of("traffic-selector"), ts_path, "local-ip and remote-ip are required"
            )
        elif ts.local_ip.version != ts.remote_ip.version:
            diags.error(
                v.origin.of("traffic-selector"),
                ts_path,
                "local-ip and remote-ip must be of the same address family",
            )
    if v.traffic_selectors and v.bind_interface is None:
        diags.error(
            v.origin.of("traffic-selector"),
            f"{path} traffic-selector",
            "traffic selectors need a route-based VPN (bind-interface)",
        )
    if v.manual is not None:
        _manual(v, diags)
    if v.vpn_monitor is not None:
        if gateway is not None and gateway.dead_peer_detection is not None:
            diags.error(
                v.origin.of("vpn-monitor"),
                f"{path} vpn-monitor",
                f"cannot be configured together with dead-peer-detection on gateway "
                f"'{gateway.name}'",
            )
        if gateway is not None and gateway.dynamic is not None:
            diags.error(
                v.origin.of("vpn-monitor"),
                f"{path} vpn-monitor",
                "not supported for dynamic peers",
            )
    if v.bind_interface is not None and v.bind_interface.unit not in config.st0_units:
        diags.error(
            v.origin.of("bind-interface"),
            f"{path} bind-interface",
            f"interface {v.bind_interface} is not configured (interfaces st0 unit "
            f"{v.bind_interface.unit})",
        )


def _manual(v: Vpn, diags: Diagnostics) -> None:
    assert v.manual is not None
    manual = v.manual
    path = f"security ipsec vpn {v.name} manual"
    loc = v.origin.of("manual")
    if v.bind_interface is None:
        diags.warning(
            loc,
            path,
            "not realised yet: manual SAs are installed only for route-based VPNs "
            "(bind-interface); this VPN stays down",
        )
    if manual.spi is None:
        diags.error(loc, path, "spi is required")
    if manual.gateway is None:
        diags.error(loc, path, "gateway is required")
    if manual.external_interface is None:
        diags.error(loc, path, "external-interface is required")
    if manual.protocol == "ah" and manual.encryption is not None:
        diags.error(loc, f"{path} encryption", "AH does not encrypt; remove encryption")
    if manual.protocol == "esp" and manual.encryption is None:
        diags.error(loc, path, "encryption is required for ESP")
    if manual.authentication is None and (
        manual.protocol == "ah"
        or manual.encryption is None
        or manual.encryption.algorithm is None
        or not algorithms.is_aead(manual.encryption.algorithm)
    ):
        diags.error(loc, path, "authentication is required")
    for name, kind, key in (
        ("authentication", "ipsec-authentication", manual.authentication),
        ("encryption", "ipsec-encryption", manual.encryption),
    ):
        if key is not None:
            where = v.origin.of(f"manual.{name}.key")
            _manual_key(diags, where, f"{path} {name}", kind, key)


def _manual_key(diags: Diagnostics, loc: Location, path: str, kind: str, key: ManualKey) -> None:
    if key.algorithm is None:
        diags.error(loc, path, "algorithm is required")
        return
    if key.key is None:
        diags.error(loc, path, "key is required")
        return
    _legacy(diags, f"{path} algorithm", loc, kind, key.algorithm)
    size = algorithms.key_bytes(kind, key.algorithm)
    have = len(key.key.value)
    if have != size:
        digits = "hexadecimal digits" if key.key.form == "hexadecimal" else "ASCII characters"
        wanted = size * 2 if key.key.form == "hexadecimal" else size
        got = have * 2 if key.key.form == "hexadecimal" else have
        diags.error(
            loc,
            f"{path} key",
            f"{key.algorithm} needs a key of {wanted} {digits}, got {got}",
        )


def _bindings(config: Config, diags: Diagnostics) -> None:
    bound: dict[int, list[Vpn]] = defaultdict(list)
    for v in config.vpns.values():
        if v.bind_interface is not None:
            bound[v.bind_interface.unit].append(v)
    if_ids: dict[int, int] = {}
    for unit in config.st0_units.values():
        path = f"interfaces st0 unit {unit.unit}"
        if unit.if_id in if_ids:
            diags.error(
                unit.origin.of("if-id"),
                f"{path} if-id",
                f"if_id {unit.if_id} is already used by st0.{if_ids[unit.if_id]}",
            )
        if_ids[unit.if_id] = unit.unit
        vpns = bound.get(unit.unit, [])
        if len(vpns) > 1 and not unit.multipoint:
            names = ", ".join(v.name for v in vpns)
            diags.error(
                unit.origin.location,
                path,
                f"bound by several VPNs ({names}); a point-to-point unit takes one VPN, "
                "configure 'multipoint'",
            )
        static_vpns = set()
        for nhtb in unit.next_hop_tunnels:
            family = "inet" if nhtb.address.version == 4 else "inet6"
            nh_path = f"{path} family {family} next-hop-tunnel {nhtb.address}"
            if not unit.multipoint:
                diags.error(nhtb.origin.location, nh_path, "needs a multipoint unit")
            if nhtb.vpn is None:
                diags.error(nhtb.origin.location, nh_path, "ipsec-vpn is required")
                continue
            static_vpns.add(nhtb.vpn)
            target = config.vpns.get(nhtb.vpn)
            if target is None:
                diags.error(
                    nhtb.origin.of("ipsec-vpn"),
                    f"{nh_path} ipsec-vpn",
                    f"VPN '{nhtb.vpn}' is not defined",
                )
            elif target.bind_interface != St0Unit(unit.unit):
                diags.error(
                    nhtb.origin.of("ipsec-vpn"),
                    f"{nh_path} ipsec-vpn",
                    f"VPN '{nhtb.vpn}' is not bound to st0.{unit.unit}",
                )
            nets = unit.inet if nhtb.address.version == 4 else unit.inet6
            if nets and not any(nhtb.address in n.network for n in nets):
                diags.warning(
                    nhtb.origin.location,
                    nh_path,
                    "next hop is outside the unit's subnets",
                )
        if unit.multipoint:
            for v in vpns:
                if v.name not in static_vpns:
                    diags.warning(
                        v.origin.of("bind-interface"),
                        f"security ipsec vpn {v.name} bind-interface",
                        f"no next-hop-tunnel entry on multipoint st0.{unit.unit}: the binding "
                        "is learned automatically only from an xfrmctl (or SRX) peer; for "
                        f"other peers configure 'next-hop-tunnel ADDRESS ipsec-vpn {v.name}'",
                    )


def _multipoint_overlap(config: Config, diags: Diagnostics) -> None:
    """Spec §2.15: st0 addresses must not overlap on point-to-multipoint (NHTB) units, since
    the next hop alone must say which unit (and VPN) a route uses."""
    seen: list[tuple[int, IPNetwork]] = []
    for unit in config.st0_units.values():
        if not unit.multipoint:
            continue
        for address in unit.addresses:
            for other, network in seen:
                if address.network.overlaps(network):
                    diags.error(
                        unit.origin.of("family"),
                        f"interfaces st0 unit {unit.unit} family",
                        f"{address} overlaps st0.{other} ({network}); multipoint units need "
                        "distinct subnets",
                    )
            seen.append((unit.unit, address.network))


def _routes(config: Config, diags: Diagnostics) -> None:
    for route in config.static_routes:
        prefix = (
            "routing-options static"
            if route.routing_instance is None
            else (f"routing-instances {route.routing_instance} routing-options static")
        )
        path = f"{prefix} route {route.prefix}"
        hops = [*route.next_hops, *(q.next_hop for q in route.qualified_next_hops)]
        if not hops and not route.discard and not route.reject:
            diags.error(route.origin.location, path, "next-hop, discard or reject is required")
        if len(route.next_hops) > 1:
            diags.warning(
                route.origin.of("next-hop"),
                f"{path} next-hop",
                "not realised yet: only the first next hop is installed (no multipath)",
            )
        if route.next_hops and _tunnel_unit(config, route.next_hops[0]) is None:
            diags.warning(
                route.origin.of("next-hop"),
                f"{path} next-hop {route.next_hops[0]}",
                "not through a tunnel interface: xfrmctl installs only routes via st0 units; "
                "leave this route to the host's network configuration",
            )
        for hop in hops:
            if isinstance(hop, St0Unit):
                unit = config.st0_units.get(hop.unit)
                if unit is None:
                    diags.error(
                        route.origin.location,
                        f"{path} next-hop {hop}",
                        f"interface {hop} is not configured",
                    )
                elif unit.multipoint:
                    diags.warning(
                        route.origin.location,
                        f"{path} next-hop {hop}",
                        "ambiguous on a multipoint unit: use the peer's tunnel address as next "
                        "hop so next-hop tunnel binding can choose the VPN",
                    )
            elif (
                isinstance(hop, ipaddress.IPv4Address | ipaddress.IPv6Address)
                and hop.version != route.prefix.version
            ):
                diags.error(
                    route.origin.location,
                    f"{path} next-hop {hop}",
                    "next hop address family differs from the prefix",
                )


def _tunnel_unit(config: Config, hop: object) -> int | None:
    """The st0 unit a next hop goes out of: named directly, or an address in its subnet."""
    if isinstance(hop, St0Unit):
        return hop.unit
    if isinstance(hop, ipaddress.IPv4Address | ipaddress.IPv6Address):
        for unit in config.st0_units.values():
            if any(hop in a.network for a in unit.addresses):
                return unit.unit
    return None


def _security_policies(config: Config, diags: Diagnostics) -> None:
    names_by_zone: dict[str | None, set[str]] = defaultdict(set)
    global_names: set[str] = set()
    for book in config.address_books:
        names = {e.name for e in book.addresses} | set(book.address_sets)
        if book.name.startswith("zone:") or book.zones:
            for zone in book.zones:
                names_by_zone[zone] |= names
        else:
            global_names |= names
    policies = {p.name for p in config.security_policies}
    used_vpns: set[str] = set()
    special = {"any", "any-ipv4", "any-ipv6"}
    for p in config.security_policies:
        scope = "global" if p.from_zone is None else f"from-zone {p.from_zone} to-zone {p.to_zone}"
        path = f"security policies {scope} policy {p.name}"
        for field, addresses, side in (
            ("source-address", p.source_addresses, p.from_zone),
            ("destination-address", p.destination_addresses, p.to_zone),
        ):
            for name in addresses:
                known = global_names | names_by_zone.get(side, set()) | special
                if p.from_zone is None:
                    known = known.union(*names_by_zone.values())
                if name not in known:
                    diags.error(
                        p.origin.of("match"),
                        f"{path} match {field}",
                        f"address '{name}' is not in an address book of zone "
                        f"{side or 'any'} or the global book",
                    )
        if p.tunnel_vpn is not None and any(a != "any" for a in p.applications):
            diags.warning(
                p.origin.of("match"),
                f"{path} match application",
                "not realised yet: the tunnel's selectors cover every protocol and port "
                "(application any)",
            )
        if p.tunnel_vpn is not None:
            used_vpns.add(p.tunnel_vpn)
            vpn = config.vpns.get(p.tunnel_vpn)
            if vpn is None:
                diags.error(
                    p.origin.of("then"),
                    f"{path} then permit tunnel ipsec-vpn",
                    f"VPN '{p.tunnel_vpn}' is not defined",
                )
            elif vpn.bind_interface is not None:
                diags.error(
                    p.origin.of("then"),
                    f"{path} then permit tunnel ipsec-vpn",
                    f"VPN '{p.tunnel_vpn}' is route-based (bind-interface "
                    f"{vpn.bind_interface}); a tunnel policy needs a policy-based VPN",
                )
        if p.pair_policy is not None and p.pair_policy not in policies:
            diags.error(
                p.origin.of("then"),
                f"{path} then permit tunnel pair-policy",
                f"policy '{p.pair_policy}' is not defined",
            )
    for vpn in config.vpns.values():
        if vpn.bind_interface is None and vpn.name not in used_vpns:
            diags.warning(
                vpn.origin.location,
                f"security ipsec vpn {vpn.name}",
                "no bind-interface and no security policy tunnels to it: the VPN carries "
                "no traffic",
            )


def _traceoptions(config: Config, diags: Diagnostics) -> None:
    """Spec §2.21.8: a number of files needs a size and a file name."""
    trace = config.ike_traceoptions
    if trace is None or trace.file is None:
        return
    f = trace.file
    path = "security ike traceoptions file"
    has_files = "file.files" in trace.origin.fields
    if has_files and f.size is None:
        diags.error(trace.origin.of("file"), path, "size is required when files is set")
    if (has_files or f.size is not None) and f.name is None:
        diags.error(trace.origin.of("file"), path, "a file name is required with files and size")


def _routing_instances(config: Config, diags: Diagnostics) -> None:
    owner: dict[str, str] = {}
    for ri in config.routing_instances.values():
        for iface in ri.interfaces:
            name = str(iface)
            if name in owner:
                diags.error(
                    ri.origin.of("interface"),
                    f"routing-instances {ri.name} interface {name}",
                    f"already in routing instance '{owner[name]}'",
                )
            owner[name] = ri.name
            if isinstance(iface, St0Unit) and iface.unit not in config.st0_units:
                diags.error(
                    ri.origin.of("interface"),
                    f"routing-instances {ri.name} interface {name}",
                    f"interface {name} is not configured",
                )
