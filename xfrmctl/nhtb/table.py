"""The next-hop tunnel binding table of the multipoint ``st0`` units (spec §3.1).

Keyed by (unit, family, next hop); the family is the next hop's, so an IPv4 and an IPv6 next hop
never collide. Two kinds of entry:

* Static, from ``interfaces st0 unit N family inet next-hop-tunnel ADDR ipsec-vpn V``: exist
  while V is down, listed in configuration order, replaced as a whole on every config load.
* Auto, learned when a child SA comes up with a peer that advertised its tunnel address (see
  :mod:`xfrmctl.nhtb.notify`); they vanish when the VPN's last SA goes (``forget_vpn``) and are
  listed in learn order. A VPN holds at most one Auto entry per unit and family: a new address
  replaces its old one.

A Static entry for a key always wins over an Auto one. The Auto entry is kept underneath so it
reappears if the Static one is removed from the configuration while the VPN is still up. Learn
order is a counter, never the clock.
"""

from __future__ import annotations

import enum
import ipaddress
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from xfrmctl.config.model import St0Interface
from xfrmctl.netlink.constants import AF_INET, AF_INET6
from xfrmctl.nhtb.errors import NhtbError
from xfrmctl.state.model import NhtbEntry, NhtbFlag

NextHop = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_next_hop(value: NextHop | str) -> NextHop:
    """A next hop as an address object; anything but a unicast address is an ``NhtbError``."""
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        addr: NextHop = value
    else:
        try:
            addr = ipaddress.ip_address(value)
        except ValueError as exc:
            raise NhtbError(f"next hop {value!r} is not an IP address") from exc
    if addr.is_unspecified or addr.is_multicast:
        raise NhtbError(f"next hop {addr} is not a unicast address")
    return addr


def family_of(addr: NextHop) -> int:
    return AF_INET if addr.version == 4 else AF_INET6


@dataclass(frozen=True, slots=True, order=True)
class NhtbKey:
    unit: str  # interface name of the multipoint unit, e.g. "st0.0"
    family: int
    next_hop: NextHop

    @classmethod
    def of(cls, unit: str, next_hop: NextHop | str) -> NhtbKey:
        addr = parse_next_hop(next_hop)
        return cls(unit, family_of(addr), addr)


@dataclass(frozen=True, slots=True)
class Binding:
    """One table entry: which VPN carries traffic routed via ``next_hop`` on ``unit``."""

    unit: str
    next_hop: NextHop
    vpn: str
    flag: NhtbFlag
    order: int  # configuration position (Static) or learn sequence (Auto)

    @property
    def key(self) -> NhtbKey:
        return NhtbKey(self.unit, family_of(self.next_hop), self.next_hop)


@dataclass(frozen=True, slots=True)
class StaticBinding:
    """A ``next-hop-tunnel`` statement, as the table takes it."""

    unit: str
    next_hop: NextHop | str
    vpn: str


class LearnOutcome(enum.Enum):
    LEARNED = "learned"  # new Auto entry, now effective
    UNCHANGED = "unchanged"  # the VPN already had exactly this entry
    SHADOWED = "shadowed"  # stored, but a Static entry for the same next hop wins
    CONFLICT = "conflict"  # another VPN's Auto entry holds this next hop; nothing stored


class NhtbTable:
    """Static and Auto bindings of every multipoint unit; pure state, no I/O."""

    def __init__(self) -> None:
        self._static: dict[NhtbKey, Binding] = {}
        self._auto: dict[NhtbKey, Binding] = {}
        self._seq = itertools.count()

    # ------------------------------------------------------------------ Static entries

    def set_static(self, entries: Iterable[StaticBinding]) -> None:
        """Replace every Static entry (a configuration load); duplicates are an ``NhtbError``."""
        new: dict[NhtbKey, Binding] = {}
        for i, e in enumerate(entries):
            key = NhtbKey.of(e.unit, e.next_hop)
            if key in new:
                raise NhtbError(
                    f"next-hop-tunnel {key.next_hop} on {key.unit} is bound twice "
                    f"({new[key].vpn}, {e.vpn})"
                )
            new[key] = Binding(key.unit, key.next_hop, e.vpn, "Static", i)
        self._static = new

    # ------------------------------------------------------------------ Auto entries

    def learn(self, unit: str, vpn: str, address: NextHop | str) -> LearnOutcome:
        """The peer of ``vpn`` (bound to multipoint ``unit``) advertised its tunnel address."""
        key = NhtbKey.of(unit, address)
        held = self._auto.get(key)
        if held is not None and held.vpn != vpn:
            return LearnOutcome.CONFLICT
        if held is not None:
            outcome = LearnOutcome.UNCHANGED
        else:
            # The VPN's previous address of this family on this unit is replaced.
            for k, b in list(self._auto.items()):
                if b.vpn == vpn and k.unit == unit and k.family == key.family:
                    del self._auto[k]
            self._auto[key] = Binding(unit, key.next_hop, vpn, "Auto", next(self._seq))
            outcome = LearnOutcome.LEARNED
        if key in self._static:
            return LearnOutcome.SHADOWED
        return outcome

    def forget_vpn(self, vpn: str) -> tuple[Binding, ...]:
        """The VPN's last SA went: drop its Auto entries (Static ones stay); returns them."""
        gone = tuple(b for b in self._auto.values() if b.vpn == vpn)
        for b in gone:
            del self._auto[b.key]
        return gone

    # ------------------------------------------------------------------ queries

    def lookup(self, unit: str, next_hop: NextHop | str) -> Binding | None:
        """The effective binding of a next hop (Static beats Auto), or None."""
        key = NhtbKey.of(unit, next_hop)
        return self._static.get(key) or self._auto.get(key)

    def lookup_key(self, key: NhtbKey) -> Binding | None:
        return self._static.get(key) or self._auto.get(key)

    def entries(self, unit: str | None = None) -> tuple[Binding, ...]:
        """Effective entries: Static in configuration order, then Auto in learn order."""
        static = sorted(self._static.values(), key=lambda b: b.order)
        auto = sorted(
            (b for k, b in self._auto.items() if k not in self._static), key=lambda b: b.order
        )
        return tuple(b for b in (*static, *auto) if unit is None or b.unit == unit)

    def __len__(self) -> int:
        return len(self.entries())


def static_bindings(units: Iterable[St0Interface]) -> list[StaticBinding]:
    """The Static entries of a configuration's st0 units, in configuration order.

    Entries without ``ipsec-vpn`` or on a point-to-point unit are configuration errors reported
    by ``config check``; they bind nothing here.
    """
    out: list[StaticBinding] = []
    for unit in units:
        if not unit.multipoint:
            continue
        for nh in unit.next_hop_tunnels:
            if nh.vpn is not None:
                out.append(StaticBinding(unit.name, nh.address, nh.vpn))
    return out


def show_entries(
    table: NhtbTable, *, tunnel_ids: Mapping[str, int], interface: str | None = None
) -> tuple[NhtbEntry, ...]:
    """Records of ``show security ipsec next-hop-tunnels [interface-name IF]`` (spec §4.5).

    ``tunnel_ids`` maps a VPN name to its tunnel ID; a VPN without one (never up) has none.
    """
    return tuple(
        NhtbEntry(
            next_hop=str(b.next_hop),
            interface=b.unit,
            vpn_name=b.vpn,
            flag=b.flag,
            tunnel_id=tunnel_ids.get(b.vpn),
        )
        for b in table.entries(interface)
    )
