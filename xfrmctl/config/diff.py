"""What a reload must change: the difference of two configuration models.

A VPN is *changed* with ``renegotiate=True`` only when something that shapes its SAs or kernel
objects differs (its own statements, its IPsec policy and proposals, its gateway's endpoints and
identities, the if_id of its st0 unit), so every other VPN keeps its SAs and SPIs across a reload.
Per spec §2.22 a change of the gateway's IKE proposals renegotiates the IKE SA but not the VPNs'
IPsec SAs. Changes that the daemon applies in place (VPN monitoring, DPD timers,
``establish-tunnels``) are reported with ``renegotiate=False``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from xfrmctl.config import algorithms
from xfrmctl.config.model import Config, IkeGateway, Vpn

# Fields the daemon applies to running SAs without renegotiating them.
VPN_IN_PLACE = frozenset({"vpn_monitor", "establish_tunnels"})
GATEWAY_IN_PLACE = frozenset({"dead_peer_detection", "nat_keepalive"})
# Gateway fields that shape the VPNs' child SAs (endpoints and identities).
GATEWAY_ENDPOINT = frozenset(
    {
        "addresses", "dynamic", "external_interface", "local_address", "local_identity",
        "remote_identity", "version", "nat_traversal",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Change:
    name: str
    fields: tuple[str, ...]
    """What differs, in model terms (``ike``, ``gateway.addresses``, ``ipsec-policy``...)."""
    renegotiate: bool


@dataclass(frozen=True)
class ObjectDiff:
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[Change, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)

    def changed_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.changed)


@dataclass(frozen=True)
class ConfigDiff:
    gateways: ObjectDiff
    vpns: ObjectDiff
    st0_units: ObjectDiff
    routes: ObjectDiff
    other: tuple[str, ...]
    """Global settings that differ (``vpn-monitor-options``, ``security-policies``...)."""

    @property
    def empty(self) -> bool:
        return not (self.gateways or self.vpns or self.st0_units or self.routes or self.other)

    def unchanged_vpns(self, new: Config) -> tuple[str, ...]:
        """VPNs of `new` whose SAs survive the reload."""
        touched = {c.name for c in self.vpns.changed if c.renegotiate} | set(self.vpns.added)
        return tuple(name for name in new.vpns if name not in touched)


def _field_diff(old: object, new: object, prefix: str = "") -> list[str]:
    assert dataclasses.is_dataclass(old) and dataclasses.is_dataclass(new)
    return [
        prefix + f.name
        for f in dataclasses.fields(old)
        if f.compare and getattr(old, f.name) != getattr(new, f.name)
    ]


def _objects(
    old: Mapping[str, object],
    new: Mapping[str, object],
    compare: Callable[[str], tuple[list[str], bool]],
) -> ObjectDiff:
    changed = []
    for name in new:
        if name in old:
            fields, renegotiate = compare(name)
            if fields:
                changed.append(Change(name, tuple(fields), renegotiate))
    return ObjectDiff(
        added=tuple(n for n in new if n not in old),
        removed=tuple(n for n in old if n not in new),
        changed=tuple(changed),
    )


def _ike_view(config: Config, gateway: IkeGateway) -> object:
    policy = config.ike_policies.get(gateway.ike_policy or "")
    if policy is None:
        return None
    predefined = algorithms.predefined_ike_proposals()
    proposals = tuple(
        config.ike_proposals.get(name) or predefined.get(name) for name in policy.proposals
    )
    return (policy, proposals)


def _ipsec_view(config: Config, vpn: Vpn) -> object:
    if vpn.ike is None:
        return None
    policy = config.ipsec_policies.get(vpn.ike.ipsec_policy or "")
    if policy is None:
        return None
    predefined = algorithms.predefined_ipsec_proposals()
    proposals = tuple(
        config.ipsec_proposals.get(name) or predefined.get(name) for name in policy.proposals
    )
    return (policy, proposals)


def _unit_if_id(config: Config, vpn: Vpn) -> int | None:
    if vpn.bind_interface is None:
        return None
    unit = config.st0_units.get(vpn.bind_interface.unit)
    return None if unit is None else unit.if_id


def diff(old: Config, new: Config) -> ConfigDiff:
    def gateway_change(name: str) -> tuple[list[str], bool]:
        a, b = old.gateways[name], new.gateways[name]
        fields = _field_diff(a, b)
        if _ike_view(old, a) != _ike_view(new, b):
            fields.append("ike-policy")
        return fields, any(f not in GATEWAY_IN_PLACE for f in fields)

    def vpn_change(name: str) -> tuple[list[str], bool]:
        a, b = old.vpns[name], new.vpns[name]
        fields = _field_diff(a, b)
        if _ipsec_view(old, a) != _ipsec_view(new, b):
            fields.append("ipsec-policy")
        ga = old.gateways.get(a.ike.gateway or "") if a.ike else None
        gb = new.gateways.get(b.ike.gateway or "") if b.ike else None
        if ga is not None and gb is not None:
            fields += [f"gateway.{f}" for f in _field_diff(ga, gb) if f in GATEWAY_ENDPOINT]
        elif (ga is None) != (gb is None):
            fields.append("gateway")
        if _unit_if_id(old, a) != _unit_if_id(new, b):
            fields.append("bind-interface.if_id")
        return fields, any(f not in VPN_IN_PLACE for f in fields)

    def unit_change(name: str) -> tuple[list[str], bool]:
        unit = int(name.removeprefix("st0."))
        fields = _field_diff(old.st0_units[unit], new.st0_units[unit])
        return fields, "if_id" in fields or "multipoint" in fields

    old_units = {f"st0.{u}": v for u, v in old.st0_units.items()}
    new_units = {f"st0.{u}": v for u, v in new.st0_units.items()}

    def route_key(routes: Iterable[object]) -> dict[str, object]:
        out: dict[str, object] = {}
        for r in routes:
            assert dataclasses.is_dataclass(r)
            instance = getattr(r, "routing_instance", None)
            out[f"{instance + ':' if instance else ''}{getattr(r, 'prefix', '')}"] = r
        return out

    old_routes, new_routes = route_key(old.static_routes), route_key(new.static_routes)

    def route_change(name: str) -> tuple[list[str], bool]:
        return _field_diff(old_routes[name], new_routes[name]), True

    other = [
        label
        for label, attr in (
            ("vpn-monitor-options", "vpn_monitor_options"),
            ("respond-bad-spi", "respond_bad_spi"),
            ("ike-flood-protection", "ike_flood_protection"),
            ("ike traceoptions", "ike_traceoptions"),
            ("ipsec traceoptions", "ipsec_trace_flags"),
            ("routing-instances", "routing_instances"),
            ("address-book", "address_books"),
            ("security policies", "security_policies"),
            ("default-policy", "default_policy"),
            ("tcp-mss", "tcp_mss_ipsec_vpn"),
            ("alarms", "alarms"),
        )
        if getattr(old, attr) != getattr(new, attr)
    ]
    return ConfigDiff(
        gateways=_objects(old.gateways, new.gateways, gateway_change),
        vpns=_objects(old.vpns, new.vpns, vpn_change),
        st0_units=_objects(old_units, new_units, unit_change),
        routes=_objects(old_routes, new_routes, route_change),
        other=tuple(other),
    )
