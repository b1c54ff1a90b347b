"""Routes + NHTB table + VPN states -> the exact XFRM policy set of the multipoint units.

Why per-prefix policies (see ``docs/nhtb.md``): routes on a multipoint ``st0.N`` keep their next
hop whatever installed them (configuration, ``ip route``, FRR). The kernel routes the packet to
the xfrm interface, which looks up an *out* policy with the unit's if_id; we give it one policy
per route prefix whose template is the outer addresses and reqid of the VPN that the route's
next hop is bound to. The kernel's own route lookup has already chosen the route, and the policy
lookup (lowest priority value first) picks the same longest prefix because of the priority
formula below.

Priority formula: ``priority = PRIORITY_BASE - prefix length`` with
``PRIORITY_BASE = XFRMCTL_PRIORITY_MIN + 0x400`` (the daemon's formula for route-based 0/0
policies, whose source prefix length is 0 as ours is). A /24 gets BASE-24, a /32 BASE-32, an
IPv6 /128 BASE-128, the wildcard in/fwd pair BASE; every value stays inside the reserved band, so
``flush_owned`` recognises even the template-less in/fwd pair after a crash. Lower value wins in
XFRM, so the longest prefix wins.

Per unit and route prefix at most one out policy: among the unit's routes to one prefix, the
preferred one (lowest metric, then lowest table, then lowest next hop) whose VPN is up; the others
are reported "shadowed". So a backup route via another next hop on the same unit carries the
traffic as soon as the preferred VPN goes down, even while the preferred route stays in the
kernel. For every effective NHTB entry whose VPN is up, an out policy for the next hop itself
(/32 or /128) makes the peer's tunnel address reachable over the connected subnet; an active
route to exactly that host prefix overrides it. One wildcard in/fwd pair per unit and inner family
(template: ESP tunnel, no addresses, no reqid) accepts any SA carrying the unit's if_id.

Routes through next hops without a usable binding produce no policy; the plan says why for each.
Traffic routed to them is dropped by the xfrm interface (no policy, no SA), never sent in clear.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from xfrmctl.netlink.codec import ANY4, Selector, Tmpl, XfrmPolicy
from xfrmctl.netlink.constants import (
    AF_INET,
    AF_INET6,
    IPPROTO_ESP,
    XFRMCTL_PRIORITY_MIN,
    XfrmDir,
    XfrmMode,
)
from xfrmctl.netlink.port import (
    AddPolicy,
    DeletePolicy,
    KernelOp,
    RouteInfo,
    mark_value,
    owned_policy,
)
from xfrmctl.nhtb.errors import NhtbError
from xfrmctl.nhtb.table import NextHop, NhtbTable, family_of

PRIORITY_BASE = XFRMCTL_PRIORITY_MIN + 0x400

ANY6 = "::"
_ANY = {AF_INET: ANY4, AF_INET6: ANY6}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=1 << 16)
def _ip(text: str) -> NextHop | None:
    """Parsed address (memoised: the same next hops and outer addresses recur thousands of
    times in one plan), None if unparsable."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


@functools.lru_cache(maxsize=1 << 16)
def _net(text: str) -> Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def policy_priority(prefixlen: int) -> int:
    """Priority of an out policy for a destination prefix (lower = preferred by XFRM)."""
    return PRIORITY_BASE - prefixlen


@dataclass(frozen=True, slots=True)
class MultipointUnit:
    """A multipoint ``st0`` unit: its interface name, if_id and the inner families it carries."""

    name: str
    if_id: int
    families: tuple[int, ...] = (AF_INET, AF_INET6)


@dataclass(frozen=True, slots=True)
class VpnState:
    """What the planner needs of a VPN: where it is bound and, while up, its outer SA shape.

    ``reqid`` is the kernel reqid of the VPN's child SAs (stable across rekeys).
    """

    name: str
    unit: str
    up: bool
    local: str | None = None
    remote: str | None = None
    reqid: int = 0
    proto: int = IPPROTO_ESP


class RouteStatus(enum.Enum):
    ACTIVE = "active"
    SHADOWED = "a preferred route to the same prefix is active"
    NO_ENTRY = "no next-hop tunnel binding for the next hop"
    VPN_DOWN = "VPN down"
    VPN_UNKNOWN = "bound VPN is not configured"
    VPN_NOT_BOUND = "bound VPN is bound to another interface"
    AMBIGUOUS = "no gateway on a multipoint unit with several VPNs"
    FAMILY_MISMATCH = "next hop family differs from the prefix"
    INVALID = "unparsable prefix or next hop"


@dataclass(frozen=True, slots=True)
class RouteOutcome:
    """One route's fate: ``vpn`` is the VPN its next hop is bound to, ``carried_by`` the VPN
    that carries its prefix on the unit (another route's when this one is not usable)."""

    route: RouteInfo
    status: RouteStatus
    vpn: str | None = None
    carried_by: str | None = None


@dataclass(frozen=True, slots=True)
class HostBinding:
    """The out policy for a bound next hop itself."""

    unit: str
    next_hop: NextHop
    vpn: str


@dataclass(frozen=True, slots=True)
class Plan:
    """The desired policy set and why each route does or does not get a policy."""

    policies: tuple[XfrmPolicy, ...]
    routes: tuple[RouteOutcome, ...]
    hosts: tuple[HostBinding, ...]
    if_ids: frozenset[int]

    def counts(self) -> dict[RouteStatus, int]:
        """Routes per outcome (only outcomes that occur)."""
        return dict(Counter(o.status for o in self.routes))

    def active_routes(self) -> frozenset[tuple[str, str, str | None, str]]:
        """(unit, prefix, next hop, VPN) of every route that carries traffic."""
        return frozenset(
            (o.route.dev or "", o.route.dst, o.route.via, o.vpn or "")
            for o in self.routes
            if o.status is RouteStatus.ACTIVE
        )

    def dead_routes(self) -> tuple[RouteOutcome, ...]:
        """Routes that attract traffic the unit will drop: no route to their prefix on the
        unit has a usable binding. The daemon withdraws those it installed itself."""
        return tuple(o for o in self.routes if o.carried_by is None)


@dataclass(frozen=True, slots=True)
class RouteChange:
    """Routes that stopped (``lost``) or started (``gained``) carrying traffic between plans."""

    lost: tuple[tuple[str, str, str | None, str], ...]
    gained: tuple[tuple[str, str, str | None, str], ...]


def route_changes(before: Plan, after: Plan) -> RouteChange:
    a, b = before.active_routes(), after.active_routes()
    return RouteChange(lost=tuple(sorted(a - b, key=str)), gained=tuple(sorted(b - a, key=str)))


# ---------------------------------------------------------------------------- planning


def _parse_prefix(dst: str, via: NextHop | None) -> Network | None:
    if dst == "default":
        return ipaddress.ip_network("::/0" if via is not None and via.version == 6 else "0.0.0.0/0")
    return _net(dst)


def _parse_via(via: str | None) -> tuple[bool, NextHop | None]:
    """(valid, gateway); a route without a gateway is valid with None."""
    if via is None:
        return True, None
    addr = _ip(via)
    if addr is None:
        return False, None
    if addr.is_unspecified or addr.is_multicast:
        return False, None
    return True, addr


def _selector(dst: Network) -> Selector:
    fam = AF_INET if dst.version == 4 else AF_INET6
    return Selector(
        daddr=str(dst.network_address),
        saddr=_ANY[fam],
        family=fam,
        prefixlen_d=dst.prefixlen,
        prefixlen_s=0,
    )


def out_policy(dst: Network, unit: MultipointUnit, vpn: VpnState) -> XfrmPolicy:
    """The out policy sending traffic for ``dst`` on ``unit`` into ``vpn``'s SA."""
    if vpn.local is None or vpn.remote is None:
        raise NhtbError(f"VPN {vpn.name} has no outer addresses (not up)")
    local = _ip(vpn.local)
    if local is None:
        raise NhtbError(f"VPN {vpn.name}: bad local address {vpn.local!r}")
    outer = family_of(local)
    tmpl = Tmpl(
        daddr=vpn.remote,
        saddr=vpn.local,
        family=outer,
        proto=vpn.proto,
        reqid=vpn.reqid,
        mode=int(XfrmMode.XFRM_MODE_TUNNEL),
    )
    return XfrmPolicy(
        sel=_selector(dst),
        dir=int(XfrmDir.XFRM_POLICY_OUT),
        priority=policy_priority(dst.prefixlen),
        tmpls=(tmpl,),
        if_id=unit.if_id,
    )


def wildcard_policies(unit: MultipointUnit) -> list[XfrmPolicy]:
    """The unit's in/fwd pair per inner family: any ESP tunnel SA with the unit's if_id."""
    out: list[XfrmPolicy] = []
    for fam in unit.families:
        any_addr = _ANY[fam]
        tmpl = Tmpl(
            daddr=any_addr,
            saddr=any_addr,
            family=fam,
            proto=IPPROTO_ESP,
            reqid=0,
            mode=int(XfrmMode.XFRM_MODE_TUNNEL),
        )
        sel = Selector(daddr=any_addr, saddr=any_addr, family=fam)
        for d in (XfrmDir.XFRM_POLICY_IN, XfrmDir.XFRM_POLICY_FWD):
            out.append(
                XfrmPolicy(
                    sel=sel,
                    dir=int(d),
                    priority=policy_priority(0),
                    tmpls=(tmpl,),
                    if_id=unit.if_id,
                )
            )
    return out


def _usable(vpn: VpnState) -> bool:
    return vpn.up and vpn.local is not None and vpn.remote is not None and vpn.reqid != 0


def _resolve(
    route: RouteInfo,
    unit: MultipointUnit,
    table: NhtbTable,
    vpns: Mapping[str, VpnState],
    bound: Mapping[str, list[str]],
) -> tuple[Network | None, RouteStatus, str | None]:
    valid, via = _parse_via(route.via)
    if not valid:
        return None, RouteStatus.INVALID, None
    prefix = _parse_prefix(route.dst, via)
    if prefix is None:
        return None, RouteStatus.INVALID, None
    if via is None:
        names = bound.get(unit.name, [])
        if len(names) != 1:
            return prefix, RouteStatus.AMBIGUOUS, None
        name = names[0]
    else:
        if via.version != prefix.version:
            return prefix, RouteStatus.FAMILY_MISMATCH, None
        binding = table.lookup(unit.name, via)
        if binding is None:
            return prefix, RouteStatus.NO_ENTRY, None
        name = binding.vpn
    vpn = vpns.get(name)
    if vpn is None:
        return prefix, RouteStatus.VPN_UNKNOWN, name
    if vpn.unit != unit.name:
        return prefix, RouteStatus.VPN_NOT_BOUND, name
    if not _usable(vpn):
        return prefix, RouteStatus.VPN_DOWN, name
    return prefix, RouteStatus.ACTIVE, name


_RouteRank = tuple[int, int, int, int, str, int, bool]
_Rank = tuple[str, str, _RouteRank]  # (unit, destination as given, preference)


def _route_rank(route: RouteInfo) -> _RouteRank:
    """Preference among routes to one prefix; the tail only makes the order total."""
    via = _ip(route.via) if route.via is not None else None
    return (
        route.metric,
        route.table,
        0 if via is None else via.version,
        0 if via is None else int(via),
        route.via or "",
        route.proto,
        route.onlink,
    )


def plan(
    *,
    units: Iterable[MultipointUnit],
    routes: Iterable[RouteInfo],
    table: NhtbTable,
    vpns: Iterable[VpnState],
) -> Plan:
    """The exact desired policy set; deterministic whatever the input order.

    ``routes`` may hold any routes: only those whose device is a multipoint unit count.
    """
    unit_by_name = {u.name: u for u in units}
    vpn_by_name = {v.name: v for v in vpns}
    bound: dict[str, list[str]] = {}
    for v in sorted(vpn_by_name.values(), key=lambda v: v.name):
        bound.setdefault(v.unit, []).append(v.name)

    # Candidates per (unit, prefix), preferred first; each route ranked once.
    ranked = sorted(
        (((r.dev or "", r.dst, _route_rank(r)), r) for r in routes if r.dev in unit_by_name),
        key=lambda rr: rr[0],
    )
    groups: dict[tuple[str, Network], list[tuple[RouteInfo, RouteStatus, str | None]]] = {}
    placed: list[tuple[_Rank, RouteOutcome]] = []
    for rank, route in ranked:
        unit = unit_by_name[rank[0]]
        prefix, status, vpn = _resolve(route, unit, table, vpn_by_name, bound)
        if prefix is None:
            placed.append((rank, RouteOutcome(route, status, vpn)))
            continue
        groups.setdefault((unit.name, prefix), []).append((route, status, vpn))
    order = {id(route): rank for rank, route in ranked}

    desired: dict[tuple[str, int, Network], XfrmPolicy] = {}
    host_keys: dict[tuple[str, int, Network], HostBinding] = {}
    for unit in sorted(unit_by_name.values(), key=lambda u: u.name):
        for b in table.entries(unit.name):
            bvpn = vpn_by_name.get(b.vpn)
            if bvpn is None or bvpn.unit != unit.name or not _usable(bvpn):
                continue
            host = ipaddress.ip_network(b.next_hop)
            key = (unit.name, int(XfrmDir.XFRM_POLICY_OUT), host)
            desired[key] = out_policy(host, unit, bvpn)
            host_keys[key] = HostBinding(unit.name, b.next_hop, b.vpn)
        for pol in wildcard_policies(unit):
            net = ipaddress.ip_network(f"{pol.sel.daddr}/0")
            desired[(unit.name, pol.dir, net)] = pol

    for (unit_name, prefix), cands in groups.items():
        cands.sort(key=lambda c: order[id(c[0])][2])
        winner = next((i for i, c in enumerate(cands) if c[1] is RouteStatus.ACTIVE), None)
        carrier = None if winner is None else cands[winner][2]
        for i, (route, status, vpn_name) in enumerate(cands):
            if status is RouteStatus.ACTIVE and i != winner:
                status = RouteStatus.SHADOWED  # noqa: PLW2901 - a losing usable route
            placed.append((order[id(route)], RouteOutcome(route, status, vpn_name, carrier)))
        if winner is not None:
            unit = unit_by_name[unit_name]
            vpn_state = vpn_by_name[cands[winner][2] or ""]
            key = (unit_name, int(XfrmDir.XFRM_POLICY_OUT), prefix)
            desired[key] = out_policy(prefix, unit, vpn_state)
            host_keys.pop(key, None)

    policies = sorted(desired.values(), key=policy_key)
    placed.sort(key=lambda p: p[0])
    return Plan(
        policies=tuple(policies),
        routes=tuple(o for _, o in placed),
        hosts=tuple(host_keys[k] for k in sorted(host_keys, key=_desired_order)),
        if_ids=frozenset(u.if_id for u in unit_by_name.values()),
    )


def _desired_order(key: tuple[str, int, Network]) -> tuple[str, int, int, int, int]:
    unit, d, net = key
    return (unit, d, net.version, int(net.network_address), net.prefixlen)


# ---------------------------------------------------------------------------- diff


@functools.lru_cache(maxsize=1 << 16)
def _canon(addr: str) -> str:
    ip = _ip(addr)
    return addr if ip is None else str(ip)


def policy_key(p: XfrmPolicy) -> tuple[object, ...]:
    """A policy's identity in the kernel: (if_id, dir, selector, mark); priority excluded."""
    s = p.sel
    ip = _ip(s.daddr)
    daddr = -1 if ip is None else int(ip)
    return (
        p.if_id or 0,
        p.dir,
        s.family,
        daddr,
        s.prefixlen_d,
        _canon(s.saddr),
        s.prefixlen_s,
        s.proto,
        s.dport,
        s.dport_mask,
        s.sport,
        s.sport_mask,
        s.ifindex,
        mark_value(p.mark),
    )


def _tmpl_key(t: Tmpl) -> tuple[object, ...]:
    return (
        _canon(t.daddr),
        t.spi,
        t.proto,
        t.family,
        _canon(t.saddr),
        t.reqid,
        t.mode,
        t.share,
        t.optional,
        t.aalgos,
        t.ealgos,
        t.calgos,
    )


def _content(p: XfrmPolicy) -> tuple[object, ...]:
    return (p.priority, p.action, tuple(_tmpl_key(t) for t in p.tmpls or ()))


def diff(
    desired: Plan, installed: Iterable[XfrmPolicy], *, retired_if_ids: Collection[int] = ()
) -> tuple[KernelOp, ...]:
    """Ops taking the installed NHTB policies to the plan: adds and updates, then deletes.

    Only policies this package manages are touched: owned (reserved priority band or reqid) and
    with the if_id of a planned unit or of a unit in ``retired_if_ids`` (removed from the
    configuration). Planning against what a previous run installed yields no ops. A result of
    EEXIST/ENOENT from ``KernelPort.apply`` means the installed view was stale: dump and re-plan.
    """
    scope = desired.if_ids | frozenset(retired_if_ids)
    have: dict[tuple[object, ...], XfrmPolicy] = {}
    for p in installed:
        if (p.if_id or 0) in scope and owned_policy(p) and p.dir in (0, 1, 2):
            have[policy_key(p)] = p
    adds: list[KernelOp] = []
    want_keys = set()
    for p in desired.policies:
        k = policy_key(p)
        want_keys.add(k)
        old = have.get(k)
        if old is None:
            adds.append(AddPolicy(p))
        elif _content(old) != _content(p):
            adds.append(AddPolicy(p, update=True))
    deletes: list[KernelOp] = [
        DeletePolicy(sel=p.sel, dir=p.dir, mark=p.mark, if_id=p.if_id)
        for k, p in sorted(have.items(), key=lambda kv: kv[0])
        if k not in want_keys
    ]
    return (*adds, *deletes)
