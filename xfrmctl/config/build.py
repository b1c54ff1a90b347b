"""The validated statement tree into the typed model, with the grammar's defaults filled in."""

from __future__ import annotations

import ipaddress
from typing import cast

from xfrmctl.config import model as m
from xfrmctl.config.errors import Location
from xfrmctl.config.secrets import Secret
from xfrmctl.config.tree import Block, Value
from xfrmctl.config.values import IPAddress, IPNetwork, St0Unit


def _origin(block: Block) -> m.Origin:
    """Locations of the block's statements, nested ones as ``ike.ipsec-policy``."""
    fields: dict[str, Location] = {}

    def collect(b: Block, prefix: str) -> None:
        for keyword, item in b.items.items():
            fields[prefix + keyword] = b.location_of(keyword)
            if isinstance(item, Block):
                collect(item, f"{prefix}{keyword}.")

    collect(block, "")
    return m.Origin(block.location, fields)


def _str(block: Block | None, keyword: str) -> str | None:
    if block is None:
        return None
    value = block.value(keyword)
    return None if value is None else str(value)


def _int(block: Block, keyword: str) -> int:
    return cast(int, block.value(keyword))


def _opt_int(block: Block | None, keyword: str) -> int | None:
    if block is None:
        return None
    return cast("int | None", block.value(keyword))


def _secret_choice(block: Block | None) -> Secret | None:
    if block is None:
        return None
    for item in block.items.values():
        if isinstance(item, Value) and isinstance(item.value, Secret):
            return item.value
    return None


def _identity(block: Block | None) -> m.Identity | None:
    if block is None:
        return None
    for keyword, item in block.items.items():
        if isinstance(item, Value):
            return m.Identity(keyword, str(item.value))
        if isinstance(item, Block):
            return m.Identity(keyword, None, _str(item, "container"), _str(item, "wildcard"))
        return m.Identity(keyword)
    return None


def _ike_proposal(name: str, b: Block) -> m.IkeProposal:
    return m.IkeProposal(
        name=name,
        authentication_method=_str(b, "authentication-method"),
        dh_group=_str(b, "dh-group"),
        authentication_algorithm=_str(b, "authentication-algorithm"),
        encryption_algorithm=_str(b, "encryption-algorithm"),
        lifetime_seconds=_int(b, "lifetime-seconds"),
        description=_str(b, "description"),
        origin=_origin(b),
    )


def _ike_policy(name: str, b: Block) -> m.IkePolicy:
    cert = b.block("certificate")
    return m.IkePolicy(
        name=name,
        mode=cast(str, b.value("mode")),
        proposals=tuple(str(p) for p in b.values("proposals")),
        proposal_set=_str(b, "proposal-set"),
        pre_shared_key=_secret_choice(b.block("pre-shared-key")),
        certificate=None
        if cert is None
        else m.Certificate(
            _str(cert, "local-certificate"),
            _str(cert, "peer-certificate-type"),
            _str(cert, "trusted-ca"),
        ),
        description=_str(b, "description"),
        origin=_origin(b),
    )


def _gateway(name: str, b: Block) -> m.IkeGateway:
    dynamic = b.block("dynamic")
    dpd = b.block("dead-peer-detection")
    dpd_model = None
    if dpd is not None:
        mode = "optimized"
        for candidate in ("always-send", "probe-idle-tunnel"):
            if dpd.flag(candidate):
                mode = candidate
        dpd_model = m.DeadPeerDetection(mode, _int(dpd, "interval"), _int(dpd, "threshold"))
    dynamic_model = None
    if dynamic is not None:
        ident_block = Block(dynamic.schema, dynamic.location, dynamic.path)
        ident_block.items = {
            k: v
            for k, v in dynamic.items.items()
            if k in ("hostname", "user-at-hostname", "inet", "inet6", "distinguished-name")
        }
        dynamic_model = m.DynamicPeer(
            _identity(ident_block),
            _opt_int(dynamic, "connections-limit"),
            _str(dynamic, "ike-user-type"),
        )
    xauth = b.block("xauth")
    return m.IkeGateway(
        name=name,
        ike_policy=_str(b, "ike-policy"),
        addresses=tuple(cast("IPAddress | str", a) for a in b.values("address")),
        dynamic=dynamic_model,
        external_interface=cast("str | St0Unit | None", b.value("external-interface")),
        local_address=cast("IPAddress | None", b.value("local-address")),
        local_identity=_identity(b.block("local-identity")),
        remote_identity=_identity(b.block("remote-identity")),
        general_ikeid=b.flag("general-ikeid"),
        dead_peer_detection=dpd_model,
        nat_keepalive=_int(b, "nat-keepalive"),
        nat_traversal=not b.flag("no-nat-traversal"),
        version=cast(str, b.value("version")),
        xauth_access_profile=_str(xauth, "access-profile"),
        origin=_origin(b),
    )


def _ipsec_proposal(name: str, b: Block) -> m.IpsecProposal:
    return m.IpsecProposal(
        name=name,
        protocol=cast(str, b.value("protocol")),
        authentication_algorithm=_str(b, "authentication-algorithm"),
        encryption_algorithm=_str(b, "encryption-algorithm"),
        lifetime_seconds=_int(b, "lifetime-seconds"),
        lifetime_kilobytes=_opt_int(b, "lifetime-kilobytes"),
        description=_str(b, "description"),
        origin=_origin(b),
    )


def _ipsec_policy(name: str, b: Block) -> m.IpsecPolicy:
    return m.IpsecPolicy(
        name=name,
        proposals=tuple(str(p) for p in b.values("proposals")),
        proposal_set=_str(b, "proposal-set"),
        pfs_group=_str(b.block("perfect-forward-secrecy"), "keys"),
        description=_str(b, "description"),
        origin=_origin(b),
    )


def _manual_key(b: Block | None) -> m.ManualKey | None:
    if b is None:
        return None
    return m.ManualKey(_str(b, "algorithm"), _secret_choice(b.block("key")))


def _vpn(name: str, b: Block) -> m.Vpn:
    ike = b.block("ike")
    ike_model = None
    if ike is not None:
        proxy = ike.block("proxy-identity")
        proxy_model = None
        if proxy is not None:
            local = cast("IPNetwork | None", proxy.value("local"))
            remote = cast("IPNetwork | None", proxy.value("remote"))
            v6 = any(p is not None and p.version == 6 for p in (local, remote))
            any_net = ipaddress.ip_network("::/0" if v6 else "0.0.0.0/0")
            proxy_model = m.ProxyIdentity(
                local or any_net, remote or any_net, _str(proxy, "service") or "any"
            )
        anti_replay = not ike.flag("no-anti-replay")
        ike_model = m.VpnIke(
            gateway=_str(ike, "gateway"),
            ipsec_policy=_str(ike, "ipsec-policy"),
            proxy_identity=proxy_model,
            idle_time=_opt_int(ike, "idle-time"),
            install_interval=_int(ike, "install-interval"),
            anti_replay=anti_replay,
            replay_window=_int(ike, "anti-replay-window-size") if anti_replay else 0,
        )
    manual = b.block("manual")
    manual_model = None
    if manual is not None:
        manual_model = m.ManualSa(
            gateway=cast("IPAddress | None", manual.value("gateway")),
            spi=_opt_int(manual, "spi"),
            protocol=cast(str, manual.value("protocol")),
            authentication=_manual_key(manual.block("authentication")),
            encryption=_manual_key(manual.block("encryption")),
            external_interface=cast("str | St0Unit | None", manual.value("external-interface")),
        )
    monitor = b.block("vpn-monitor")
    return m.Vpn(
        name=name,
        bind_interface=cast("St0Unit | None", b.value("bind-interface")),
        df_bit=cast(str, b.value("df-bit")),
        establish_tunnels=cast(str, b.value("establish-tunnels")),
        ike=ike_model,
        manual=manual_model,
        traffic_selectors=tuple(
            m.TrafficSelector(
                str(ts_name),
                cast("IPNetwork | None", ts.value("local-ip")),
                cast("IPNetwork | None", ts.value("remote-ip")),
            )
            for ts_name, ts in b.named("traffic-selector").items()
        ),
        vpn_monitor=None
        if monitor is None
        else m.VpnMonitor(
            cast("IPAddress | None", monitor.value("destination-ip")),
            monitor.flag("optimized"),
            cast("str | St0Unit | None", monitor.value("source-interface")),
        ),
        origin=_origin(b),
    )


def _st0_unit(unit: int, b: Block) -> m.St0Interface:
    family = b.block("family")
    inet = family.block("inet") if family else None
    inet6 = family.block("inet6") if family else None
    tunnels: list[m.NextHopTunnel] = []
    for fam in (inet, inet6):
        if fam is None:
            continue
        for address, entry in fam.named("next-hop-tunnel").items():
            tunnels.append(
                m.NextHopTunnel(cast(IPAddress, address), _str(entry, "ipsec-vpn"), _origin(entry))
            )
    if_id = _opt_int(b, "if-id")
    return m.St0Interface(
        unit=unit,
        if_id=if_id if if_id is not None else unit + m.IF_ID_OFFSET,
        multipoint=b.flag("multipoint"),
        inet=tuple(
            cast(ipaddress.IPv4Interface, a) for a in (inet.named("address") if inet else {})
        ),
        inet6=tuple(
            cast(ipaddress.IPv6Interface, a) for a in (inet6.named("address") if inet6 else {})
        ),
        next_hop_tunnels=tuple(tunnels),
        mtu=_opt_int(inet, "mtu"),
        mtu6=_opt_int(inet6, "mtu"),
        description=_str(b, "description"),
        origin=_origin(b),
    )


def _routes(options: Block | None, instance: str | None) -> list[m.StaticRoute]:
    if options is None:
        return []
    statics = [options.block("static")]
    statics += [rib.block("static") for rib in options.named("rib").values()]
    routes: list[m.StaticRoute] = []
    for static in statics:
        if static is None:
            continue
        for prefix, r in static.named("route").items():
            routes.append(
                m.StaticRoute(
                    prefix=cast(IPNetwork, prefix),
                    next_hops=tuple(
                        cast("IPAddress | str | St0Unit", h) for h in r.values("next-hop")
                    ),
                    qualified_next_hops=tuple(
                        m.QualifiedNextHop(
                            cast("IPAddress | str | St0Unit", hop),
                            _opt_int(q, "metric"),
                            _opt_int(q, "preference"),
                        )
                        for hop, q in r.named("qualified-next-hop").items()
                    ),
                    metric=_opt_int(r, "metric"),
                    preference=_opt_int(r, "preference"),
                    discard=r.flag("discard"),
                    reject=r.flag("reject"),
                    routing_instance=instance,
                    origin=_origin(r),
                )
            )
    return routes


def _address_book(name: str, b: Block, zones: tuple[str, ...]) -> m.AddressBook:
    entries = []
    for entry_name, e in b.named("address").items():
        rng = e.named("range-address")
        range_value = None
        for low, r in rng.items():
            high = r.value("to")
            if high is not None:
                range_value = (cast(IPAddress, low), cast(IPAddress, high))
        entries.append(
            m.AddressEntry(
                str(entry_name),
                cast("IPNetwork | None", e.positional.value if e.positional else None),
                _str(e, "dns-name"),
                range_value,
            )
        )
    sets = {
        str(set_name): tuple(str(a) for a in (*s.values("address"), *s.values("address-set")))
        for set_name, s in b.named("address-set").items()
    }
    return m.AddressBook(name, tuple(entries), sets, zones)


def _policy(zone_from: str | None, zone_to: str | None, name: str, b: Block) -> m.SecurityPolicy:
    match = b.block("match")
    then = b.block("then")
    action = "deny"
    tunnel_vpn = pair = None
    if then is not None:
        permit = then.block("permit")
        if permit is not None or then.has("permit"):
            action = "permit"
            tunnel = permit.block("tunnel") if permit else None
            tunnel_vpn = _str(tunnel, "ipsec-vpn")
            pair = _str(tunnel, "pair-policy")
        elif then.flag("reject"):
            action = "reject"
    return m.SecurityPolicy(
        from_zone=zone_from,
        to_zone=zone_to,
        name=name,
        source_addresses=tuple(str(a) for a in (match.values("source-address") if match else [])),
        destination_addresses=tuple(
            str(a) for a in (match.values("destination-address") if match else [])
        ),
        applications=tuple(str(a) for a in (match.values("application") if match else [])),
        action=action,
        tunnel_vpn=tunnel_vpn,
        pair_policy=pair,
        origin=_origin(b),
    )


def _alarms(b: Block | None) -> m.AlarmThresholds | None:
    if b is None:
        return None
    pv = b.block("potential-violation")

    def threshold(keyword: str) -> int | None:
        sub = pv.block(keyword) if pv else None
        return None if sub is None else _int(sub, "threshold")

    self_tests = tuple(
        k
        for k in (
            "cryptographic-self-test",
            "non-cryptographic-self-test",
            "key-generation-self-test",
        )
        if pv is not None and pv.flag(k)
    )
    return m.AlarmThresholds(
        audible=b.flag("audible"),
        authentication=_opt_int(pv, "authentication"),
        decryption_failures=threshold("decryption-failures"),
        encryption_failures=threshold("encryption-failures"),
        ike_phase1_failures=threshold("ike-phase1-failures"),
        ike_phase2_failures=threshold("ike-phase2-failures"),
        replay_attacks=threshold("replay-attacks"),
        self_tests=self_tests,
        origin=_origin(b),
    )


def build_model(root: Block, interface_map: dict[str, str]) -> m.Config:
    security = root.block("security")
    ike = security.block("ike") if security else None
    ipsec = security.block("ipsec") if security else None
    trace = ike.block("traceoptions") if ike else None
    trace_model = None
    if trace is not None:
        tf = trace.block("file")
        trace_model = m.TraceOptions(
            None
            if tf is None
            else m.TraceFile(
                str(tf.positional.value) if tf.positional else None,
                _int(tf, "files"),
                _str(tf, "size"),
                _str(tf, "match"),
                tf.flag("world-readable"),
            ),
            tuple(str(f) for f in trace.values("flag")),
            _origin(trace),
        )
    monitor_options = ipsec.block("vpn-monitor-options") if ipsec else None
    ipsec_trace = ipsec.block("traceoptions") if ipsec else None

    st0_units: dict[int, m.St0Interface] = {}
    for ifname, iface in root.named("interfaces").items():
        if ifname == "st0":
            for unit, ub in iface.named("unit").items():
                st0_units[cast(int, unit)] = _st0_unit(cast(int, unit), ub)

    routes = _routes(root.block("routing-options"), None)
    instances: dict[str, m.RoutingInstance] = {}
    for ri_name, ri in root.named("routing-instances").items():
        instances[str(ri_name)] = m.RoutingInstance(
            str(ri_name),
            cast(str, ri.value("instance-type")),
            tuple(cast("str | St0Unit", i) for i in ri.named("interface")),
            _origin(ri),
        )
        routes += _routes(ri.block("routing-options"), str(ri_name))

    books: list[m.AddressBook] = []
    zones: dict[str, m.SecurityZone] = {}
    policies: list[m.SecurityPolicy] = []
    default_policy = None
    tcp_mss = None
    if security is not None:
        for book_name, book in security.named("address-book").items():
            attach = book.block("attach")
            attached = tuple(str(z) for z in attach.values("zone")) if attach else ()
            books.append(_address_book(str(book_name), book, attached))
        zones_block = security.block("zones")
        for zone, zb in (zones_block.named("security-zone") if zones_block else {}).items():
            zones[str(zone)] = m.SecurityZone(
                str(zone), tuple(cast("str | St0Unit", i) for i in zb.named("interfaces"))
            )
            zbook = zb.block("address-book")
            if zbook is not None:
                books.append(_address_book(f"zone:{zone}", zbook, (str(zone),)))
        pol = security.block("policies")
        if pol is not None:
            for from_zone, fz in pol.named("from-zone").items():
                for to_zone, tz in fz.named("to-zone").items():
                    for name, p in tz.named("policy").items():
                        policies.append(_policy(str(from_zone), str(to_zone), str(name), p))
            glob = pol.block("global")
            for name, p in (glob.named("policy") if glob else {}).items():
                policies.append(_policy(None, None, str(name), p))
            dp = pol.block("default-policy")
            if dp is not None and dp.items:
                default_policy = next(iter(dp.items))
        flow = security.block("flow")
        tcp = flow.block("tcp-mss") if flow else None
        ipsec_vpn = tcp.block("ipsec-vpn") if tcp else None
        if ipsec_vpn is not None:
            tcp_mss = _int(ipsec_vpn, "mss")

    xfrmctl = root.block("xfrmctl")
    flood = xfrmctl.block("ike-flood-protection") if xfrmctl else None
    flood_protection = (
        m.IkeFloodProtection()
        if flood is None
        else m.IkeFloodProtection(
            half_open_limit=_int(flood, "half-open-limit"),
            cookie_threshold=_int(flood, "cookie-threshold"),
            half_open_timeout=_int(flood, "half-open-timeout"),
            init_rate=_int(flood, "init-rate"),
        )
    )
    certificates = {
        str(name): m.CertificateFiles(str(name), _str(c, "file"), _str(c, "key"), _origin(c))
        for name, c in _named(xfrmctl, "certificate")
    }
    ca_profiles = {
        str(name): m.CaProfile(str(name), _str(c, "file"), _origin(c))
        for name, c in _named(xfrmctl, "ca-profile")
    }
    return m.Config(
        ike_proposals={str(k): _ike_proposal(str(k), b) for k, b in _named(ike, "proposal")},
        ike_policies={str(k): _ike_policy(str(k), b) for k, b in _named(ike, "policy")},
        gateways={str(k): _gateway(str(k), b) for k, b in _named(ike, "gateway")},
        respond_bad_spi=_opt_int(ike, "respond-bad-spi"),
        ike_traceoptions=trace_model,
        ipsec_proposals={str(k): _ipsec_proposal(str(k), b) for k, b in _named(ipsec, "proposal")},
        ipsec_policies={str(k): _ipsec_policy(str(k), b) for k, b in _named(ipsec, "policy")},
        vpns={str(k): _vpn(str(k), b) for k, b in _named(ipsec, "vpn")},
        vpn_monitor_options=m.VpnMonitorOptions()
        if monitor_options is None
        else m.VpnMonitorOptions(
            _int(monitor_options, "interval"), _int(monitor_options, "threshold")
        ),
        ike_flood_protection=flood_protection,
        ipsec_trace_flags=tuple(str(f) for f in ipsec_trace.values("flag")) if ipsec_trace else (),
        st0_units=st0_units,
        static_routes=tuple(routes),
        routing_instances=instances,
        zones=zones,
        address_books=tuple(books),
        security_policies=tuple(policies),
        default_policy=default_policy,
        tcp_mss_ipsec_vpn=tcp_mss,
        alarms=_alarms(security.block("alarms") if security else None),
        certificates=certificates,
        ca_profiles=ca_profiles,
        interface_map=dict(interface_map),
    )


def _named(block: Block | None, keyword: str) -> list[tuple[object, Block]]:
    return list(block.named(keyword).items()) if block is not None else []
