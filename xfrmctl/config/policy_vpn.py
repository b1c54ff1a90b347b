"""Policy-based VPNs: the selectors each tunnel policy gives its VPN's child SA (spec §2.13).

"The local address and remote address are derived from the address book entries and the service
is derived from the application configured for the policy." A policy carries traffic from its
from-zone to its to-zone, so which of source and destination is local depends on the side the
peer is on: the zone holding the gateway's external interface is the peer's side. When zones do
not say (members unknown), the first policy of a pair is taken as the outbound one, which is how
every example writes them. A policy and its ``pair-policy`` give one selector set (one SA pair).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from xfrmctl.config.model import AddressBook, Config, SecurityPolicy, Vpn
from xfrmctl.config.values import IPNetwork

ANY = {
    "any": (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")),
    "any-ipv4": (ipaddress.ip_network("0.0.0.0/0"),),
    "any-ipv6": (ipaddress.ip_network("::/0"),),
}


@dataclass(frozen=True)
class PolicySelector:
    policies: tuple[str, ...]
    """The tunnel policy, then its pair if it has one."""
    local: tuple[IPNetwork, ...]
    remote: tuple[IPNetwork, ...]
    applications: tuple[str, ...]


def _books_for(config: Config, zone: str | None) -> list[AddressBook]:
    return [b for b in config.address_books if not b.zones or zone is None or zone in b.zones]


def resolve_address(config: Config, zone: str | None, name: str) -> tuple[IPNetwork, ...]:
    """The prefixes behind an address-book name as seen from `zone` (sets expanded)."""
    if name in ANY:
        return ANY[name]
    books = _books_for(config, zone)
    out: list[IPNetwork] = []
    seen: set[str] = set()

    def expand(item: str) -> None:
        if item in seen:
            return
        seen.add(item)
        for book in books:
            for entry in book.addresses:
                if entry.name != item:
                    continue
                if entry.prefix is not None:
                    out.append(entry.prefix)
                if entry.range is not None:
                    low, high = entry.range
                    out.extend(ipaddress.summarize_address_range(low, high))
            for member in book.address_sets.get(item, ()):
                expand(member)

    expand(name)
    return tuple(dict.fromkeys(out))


def _peer_zones(config: Config, vpn: Vpn) -> set[str]:
    gateway = config.gateways.get(vpn.ike.gateway or "") if vpn.ike else None
    external = gateway.external_interface if gateway else None
    if vpn.manual is not None:
        external = vpn.manual.external_interface
    return {
        zone.name
        for zone in config.zones.values()
        if external is not None and external in zone.interfaces
    }


def tunnel_selectors(config: Config) -> dict[str, tuple[PolicySelector, ...]]:
    """Per policy-based VPN, the selector sets of the tunnel policies that use it."""
    by_name = {p.name: p for p in config.security_policies}
    out: dict[str, list[PolicySelector]] = {}
    done: set[str] = set()
    for policy in config.security_policies:
        vpn = config.vpns.get(policy.tunnel_vpn or "")
        if vpn is None or vpn.bind_interface is not None or policy.name in done:
            continue
        pair = by_name.get(policy.pair_policy or "")
        done.update({policy.name, *((pair.name,) if pair else ())})
        peer = _peer_zones(config, vpn)
        outbound = policy
        if pair is not None and policy.from_zone in peer and pair.to_zone in peer:
            outbound = pair  # this one carries traffic from the peer's side
        inbound = policy.from_zone in peer and policy.to_zone not in peer and pair is None
        out.setdefault(vpn.name, []).append(
            _selector(config, outbound, inbound, (policy.name, *((pair.name,) if pair else ())))
        )
    return {name: tuple(selectors) for name, selectors in out.items()}


def _selector(
    config: Config, policy: SecurityPolicy, inbound: bool, names: tuple[str, ...]
) -> PolicySelector:
    sources = tuple(
        n for a in policy.source_addresses for n in resolve_address(config, policy.from_zone, a)
    )
    destinations = tuple(
        n for a in policy.destination_addresses for n in resolve_address(config, policy.to_zone, a)
    )
    local, remote = (destinations, sources) if inbound else (sources, destinations)
    return PolicySelector(names, local, remote, policy.applications or ("any",))
