"""Operational queries, their results, and the one place where snapshots are filtered.

A query is the typed form of a command line (``show security ipsec sa index 131073``) and of
the ``args`` of a control request; the daemon answers it with :func:`answer` (for ``show``)
or :func:`select_ike_sas` / :func:`select_tunnels` (for ``clear``), and tests call the same
functions. Each query field's :class:`Syntax` tells the CLI grammar how the operator types it,
so a new option is declared once, here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import ClassVar, Final, Literal

from xfrmctl.state.codec import JsonValue, StateDecodeError, from_json, to_json
from xfrmctl.state.model import (
    IkeSa,
    InactiveTunnel,
    IpsecSa,
    IpsecStatistics,
    NhtbEntry,
    Snapshot,
    Tunnel,
)

Family = Literal["inet", "inet6"]
Level = Literal["brief", "detail"]
ArgKind = Literal["word", "int", "port", "address", "name", "choice"]

_INDEX_MAX: Final = 0xFFFFFFFF


class QueryError(ValueError):
    """A request the daemon cannot answer; ``code`` goes into the control error response."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Syntax:
    """How a query field is typed on the command line.

    ``keyword`` introduces a value (``index 5``); without a keyword the field is either one of
    the bare ``choices`` (``detail``) or, for kind ``address``, a positional peer address.
    """

    kind: ArgKind
    keyword: str | None = None
    choices: tuple[str, ...] = ()
    help: str = ""


def syntax_of(query_type: type[Query]) -> dict[str, Syntax]:
    """The command-line syntax of every argument of ``query_type``, in declaration order."""
    return {f.name: f.metadata["syntax"] for f in fields(query_type) if "syntax" in f.metadata}


_INDEX = Syntax("int", "index", help="Index of the IKE SA or tunnel")
_FAMILY = Syntax(
    "choice", "family", ("inet", "inet6"), help="Address family of the peer (inet or inet6)"
)
_LEVEL = Syntax("word", None, ("brief", "detail"), help="Level of output")
_PEER = Syntax("address", None, help="Peer address")
_PORT = Syntax("port", "port", help="Peer port (1..65535)")
_VPN_NAME = Syntax("name", "vpn-name", help="IPsec VPN name")
_INTERFACE = Syntax("name", "interface-name", help="Secure tunnel interface, e.g. st0.0")


def _check_index(value: int | None, name: str = "index") -> None:
    if value is not None and not 1 <= value <= _INDEX_MAX:
        raise ValueError(f"{name} {value} out of range (1..{_INDEX_MAX})")


def _family_of(address: str) -> Family | None:
    try:
        return "inet" if ipaddress.ip_address(address).version == 4 else "inet6"
    except ValueError:
        return None


def _same_address(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a) == ipaddress.ip_address(b)
    except ValueError:
        return a == b


def _normalise_address(value: str | None) -> str | None:
    if value is None:
        return None
    return str(ipaddress.ip_address(value))


@dataclass(frozen=True, slots=True, kw_only=True)
class Query:
    """Base of all queries; ``command`` is the canonical keyword path sent on the socket."""

    command: ClassVar[tuple[str, ...]]
    summary: ClassVar[str]

    def to_args(self) -> dict[str, JsonValue]:
        data = to_json(self)
        assert isinstance(data, dict)
        return {k: v for k, v in data.items() if v is not None}


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowIkeSa(Query):
    command = ("show", "security", "ike", "security-associations")
    summary = "Show IKE security associations"
    peer: str | None = field(default=None, metadata={"syntax": _PEER})
    index: int | None = field(default=None, metadata={"syntax": _INDEX})
    level: Level | None = field(default=None, metadata={"syntax": _LEVEL})
    family: Family | None = field(default=None, metadata={"syntax": _FAMILY})

    def __post_init__(self) -> None:
        _check_index(self.index)
        object.__setattr__(self, "peer", _normalise_address(self.peer))


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowIpsecSa(Query):
    command = ("show", "security", "ipsec", "security-associations")
    summary = "Show IPsec security associations"
    level: Level | None = field(default=None, metadata={"syntax": _LEVEL})
    index: int | None = field(default=None, metadata={"syntax": _INDEX})
    family: Family | None = field(default=None, metadata={"syntax": _FAMILY})
    vpn_name: str | None = field(default=None, metadata={"syntax": _VPN_NAME})

    def __post_init__(self) -> None:
        _check_index(self.index)

    @property
    def detail(self) -> bool:
        """``index N`` alone prints the detail layout, as on Junos."""
        return self.level == "detail" or (self.index is not None and self.level != "brief")


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowIpsecStatistics(Query):
    command = ("show", "security", "ipsec", "statistics")
    summary = "Show IPsec statistics"
    index: int | None = field(default=None, metadata={"syntax": _INDEX})

    def __post_init__(self) -> None:
        _check_index(self.index)


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowIpsecInactiveTunnels(Query):
    command = ("show", "security", "ipsec", "inactive-tunnels")
    summary = "Show configured IPsec VPNs that are not up"
    level: Level | None = field(default=None, metadata={"syntax": _LEVEL})
    vpn_name: str | None = field(default=None, metadata={"syntax": _VPN_NAME})


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowIpsecNextHopTunnels(Query):
    command = ("show", "security", "ipsec", "next-hop-tunnels")
    summary = "Show next-hop tunnel bindings"
    interface_name: str | None = field(default=None, metadata={"syntax": _INTERFACE})


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearIkeSa(Query):
    command = ("clear", "security", "ike", "security-associations")
    summary = "Clear IKE security associations"
    peer: str | None = field(default=None, metadata={"syntax": _PEER})
    port: int | None = field(default=None, metadata={"syntax": _PORT})
    index: int | None = field(default=None, metadata={"syntax": _INDEX})
    family: Family | None = field(default=None, metadata={"syntax": _FAMILY})

    def __post_init__(self) -> None:
        _check_index(self.index)
        if self.port is not None and not 1 <= self.port <= 0xFFFF:
            raise ValueError(f"port {self.port} out of range (1..65535)")
        object.__setattr__(self, "peer", _normalise_address(self.peer))


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearIpsecSa(Query):
    command = ("clear", "security", "ipsec", "security-associations")
    summary = "Clear IPsec security associations"
    index: int | None = field(default=None, metadata={"syntax": _INDEX})
    family: Family | None = field(default=None, metadata={"syntax": _FAMILY})

    def __post_init__(self) -> None:
        _check_index(self.index)


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearIpsecStatistics(Query):
    command = ("clear", "security", "ipsec", "statistics")
    summary = "Clear IPsec statistics"
    index: int | None = field(default=None, metadata={"syntax": _INDEX})

    def __post_init__(self) -> None:
        _check_index(self.index)


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestSystemReload(Query):
    command = ("request", "system", "reload")
    summary = "Reload the configuration file (only changed VPNs renegotiate)"


QUERY_TYPES: Final[tuple[type[Query], ...]] = (
    ShowIkeSa,
    ShowIpsecSa,
    ShowIpsecStatistics,
    ShowIpsecInactiveTunnels,
    ShowIpsecNextHopTunnels,
    ClearIkeSa,
    ClearIpsecSa,
    ClearIpsecStatistics,
    RequestSystemReload,
)
QUERY_BY_COMMAND: Final[Mapping[tuple[str, ...], type[Query]]] = {q.command: q for q in QUERY_TYPES}


def parse_query(command: tuple[str, ...], args: Mapping[str, object]) -> Query:
    """The typed query of a control request; :class:`QueryError` names what is wrong."""
    query_type = QUERY_BY_COMMAND.get(command)
    if query_type is None:
        raise QueryError("unknown-command", f"unknown command: {' '.join(command) or '(empty)'}")
    try:
        return from_json(query_type, dict(args))
    except StateDecodeError as exc:
        raise QueryError("invalid-argument", f"{' '.join(command)}: {exc}") from None
    except ValueError as exc:
        raise QueryError("invalid-argument", f"{' '.join(command)}: {exc}") from None


# ---- results ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class IkeSaView:
    ike_security_associations: tuple[IkeSa, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class IpsecSaView:
    total_active_tunnels: int
    tunnels: tuple[Tunnel, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class IpsecStatisticsView:
    # Printed as the first line of the all-tunnel form; None for ``index N``.
    virtual_system: str | None
    statistics: IpsecStatistics


@dataclass(frozen=True, slots=True, kw_only=True)
class InactiveTunnelsView:
    total_inactive_tunnels: int
    total_inactive_tunnels_immediately: int
    tunnels: tuple[InactiveTunnel, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class NextHopTunnelsView:
    next_hop_tunnels: tuple[NhtbEntry, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ActionResult:
    """Result of ``clear``/``request``: how many objects were affected, and a note if any."""

    affected: int = 0
    message: str | None = None


View = (
    IkeSaView
    | IpsecSaView
    | IpsecStatisticsView
    | InactiveTunnelsView
    | NextHopTunnelsView
    | ActionResult
)


def result_type(query: Query | type[Query]) -> type[View]:
    """Which result the daemon sends back for a query (the CLI decodes with it)."""
    qtype = query if isinstance(query, type) else type(query)
    return _RESULT_TYPES.get(qtype, ActionResult)


_RESULT_TYPES: Final[Mapping[type[Query], type[View]]] = {
    ShowIkeSa: IkeSaView,
    ShowIpsecSa: IpsecSaView,
    ShowIpsecStatistics: IpsecStatisticsView,
    ShowIpsecInactiveTunnels: InactiveTunnelsView,
    ShowIpsecNextHopTunnels: NextHopTunnelsView,
}


# ---- filtering --------------------------------------------------------------------------


def select_ike_sas(snapshot: Snapshot, query: ShowIkeSa | ClearIkeSa) -> tuple[IkeSa, ...]:
    """IKE SAs matching the query's peer, port, index and family, by index."""
    port = query.port if isinstance(query, ClearIkeSa) else None
    chosen = [
        sa
        for sa in snapshot.ike_security_associations
        if (query.peer is None or _same_address(sa.remote_address, query.peer))
        and (port is None or sa.remote_port == port)
        and (query.index is None or sa.index == query.index)
        and (query.family is None or _family_of(sa.remote_address) == query.family)
    ]
    return tuple(sorted(chosen, key=lambda sa: sa.index))


def _inbound_first(tunnel: Tunnel) -> Tunnel:
    ordered = tuple(sorted(tunnel.sas, key=lambda sa: sa.direction != "inbound"))
    if ordered == tunnel.sas:
        return tunnel
    return _replace_sas(tunnel, ordered)


def _replace_sas(tunnel: Tunnel, sas: tuple[IpsecSa, ...]) -> Tunnel:
    return replace(tunnel, sas=sas)


TunnelQuery = ShowIpsecSa | ClearIpsecSa | ShowIpsecStatistics | ClearIpsecStatistics


def select_tunnels(snapshot: Snapshot, query: TunnelQuery) -> tuple[Tunnel, ...]:
    """Tunnels matching the query, by tunnel ID, each listing its inbound SAs first."""
    family = query.family if isinstance(query, ShowIpsecSa | ClearIpsecSa) else None
    vpn_name = query.vpn_name if isinstance(query, ShowIpsecSa) else None
    chosen = [
        _inbound_first(t)
        for t in snapshot.tunnels
        if (query.index is None or t.tunnel_id == query.index)
        and (family is None or _family_of(t.remote_gateway) == family)
        and (vpn_name is None or t.vpn_name == vpn_name)
    ]
    return tuple(sorted(chosen, key=lambda t: t.tunnel_id))


def answer(snapshot: Snapshot, query: Query) -> View:
    """The result of a ``show`` query against a snapshot (``clear`` is the daemon's to do)."""
    if isinstance(query, ShowIkeSa):
        return IkeSaView(ike_security_associations=select_ike_sas(snapshot, query))
    if isinstance(query, ShowIpsecSa):
        tunnels = select_tunnels(snapshot, query)
        return IpsecSaView(total_active_tunnels=len(tunnels), tunnels=tunnels)
    if isinstance(query, ShowIpsecStatistics):
        tunnels = select_tunnels(snapshot, query)
        if query.index is not None and not tunnels:
            raise QueryError("not-found", f"no IPsec SA with index {query.index}")
        total = IpsecStatistics()
        for tunnel in tunnels:
            total = total + tunnel.statistics
        vsys = None if query.index is not None else "Root"
        return IpsecStatisticsView(virtual_system=vsys, statistics=total)
    if isinstance(query, ShowIpsecInactiveTunnels):
        inactive = tuple(
            sorted(
                (
                    t
                    for t in snapshot.inactive_tunnels
                    if query.vpn_name is None or t.vpn_name == query.vpn_name
                ),
                key=lambda t: t.tunnel_id,
            )
        )
        return InactiveTunnelsView(
            total_inactive_tunnels=len(inactive),
            total_inactive_tunnels_immediately=sum(t.establish_immediately for t in inactive),
            tunnels=inactive,
        )
    if isinstance(query, ShowIpsecNextHopTunnels):
        entries = [
            e
            for e in snapshot.next_hop_tunnels
            if query.interface_name is None or e.interface == query.interface_name
        ]
        # Per unit, the table's own order (spec §3.1 rule 8): Static entries in configuration
        # order, then Auto ones in learn order. The sort is stable and only groups the units.
        entries.sort(key=lambda e: e.interface)
        return NextHopTunnelsView(next_hop_tunnels=tuple(entries))
    raise QueryError("unsupported", f"{' '.join(query.command)} is not a show command")
