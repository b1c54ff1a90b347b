"""The private-use IKEv2 notify that carries a peer's tunnel-interface (st0) address.

Junos learns "Auto" next-hop tunnel bindings from an SRX peer during Phase 2; the wire format it
uses is undocumented, so xfrmctl defines its own, in the IKEv2 private-use status range
(RFC 7296 §3.10.1: 40960-65535; a peer that does not know the type MUST ignore it, so sending it
to strongSwan, Libreswan or an SRX is harmless).

Notify type ``XFRMCTL_TUNNEL_ADDRESS`` = 47192 (0xB858; 0x58 is the byte xfrmctl also uses for
its reqid and policy-priority bands). Protocol ID 0 (NONE), SPI size 0. Notification data::

     0                   1                   2
     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 ...
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
    | Address Family|   Tunnel-interface address (4 or 16 octets)
    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

Address Family is the IANA "Address Family Numbers" value: 1 = IPv4 (4 address octets follow),
2 = IPv6 (16 octets follow). Nothing else may follow. The address must be a unicast address
(not unspecified, multicast, loopback or IPv4 broadcast); IPv6 link-local is allowed because
routing daemons use it as next hop. A sender with both an IPv4 and an IPv6 address on the bound
unit sends two notifies, one per family; at most one per family is meaningful.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from xfrmctl.nhtb.errors import NhtbNotifyError

XFRMCTL_TUNNEL_ADDRESS = 0xB858

IANA_AF_IPV4 = 1
IANA_AF_IPV6 = 2

_ADDR_LEN = {IANA_AF_IPV4: 4, IANA_AF_IPV6: 16}

TunnelAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _check_unicast(addr: TunnelAddress) -> None:
    bad = addr.is_unspecified or addr.is_multicast or addr.is_loopback
    if isinstance(addr, ipaddress.IPv4Address) and addr == ipaddress.IPv4Address(0xFFFFFFFF):
        bad = True
    if bad:
        raise NhtbNotifyError(f"tunnel address {addr} is not a unicast address")


def encode_tunnel_address(address: TunnelAddress | str) -> bytes:
    """Notification data for our tunnel-interface address."""
    try:
        addr = ipaddress.ip_address(address)
    except ValueError as exc:
        raise NhtbNotifyError(f"not an IP address: {address!r}") from exc
    _check_unicast(addr)
    family = IANA_AF_IPV4 if addr.version == 4 else IANA_AF_IPV6
    return bytes((family,)) + addr.packed


def decode_tunnel_address(data: bytes) -> TunnelAddress:
    """The peer's tunnel-interface address; malformed data raises ``NhtbNotifyError`` only."""
    if not data:
        raise NhtbNotifyError("tunnel-address notify without data")
    family = data[0]
    want = _ADDR_LEN.get(family)
    if want is None:
        raise NhtbNotifyError(f"tunnel-address notify: unknown address family {family}")
    if len(data) != 1 + want:
        raise NhtbNotifyError(
            f"tunnel-address notify: {len(data) - 1} address octets for family {family}, "
            f"need {want}"
        )
    raw = bytes(data[1:])
    addr: TunnelAddress = (
        ipaddress.IPv4Address(raw) if family == IANA_AF_IPV4 else ipaddress.IPv6Address(raw)
    )
    _check_unicast(addr)
    return addr


def decode_tunnel_addresses(datas: Iterable[bytes]) -> tuple[TunnelAddress, ...]:
    """One address per family from all such notifies of a message (the first of each family).

    A malformed notify raises ``NhtbNotifyError``; the engine should then learn nothing from
    the message rather than fail the exchange (the notify is advisory).
    """
    seen: dict[int, TunnelAddress] = {}
    for data in datas:
        addr = decode_tunnel_address(data)
        seen.setdefault(addr.version, addr)
    return tuple(seen[v] for v in sorted(seen))
