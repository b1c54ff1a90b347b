"""IKEv1 ID payloads: phase-1 identities and the quick-mode proxy IDs (IDci/IDcr).

The IPsec DOI numbers the identity types as IKEv2 does (address, FQDN, user FQDN, DN, key id), so
phase-1 IDs map straight onto the shared `Identity`; proxy IDs map onto `TrafficSelector`.
"""

from __future__ import annotations

import ipaddress

from xfrmctl.keying.constants import IdType as V2IdType
from xfrmctl.keying.errors import ParseError
from xfrmctl.keying.ikev1.constants import IdType
from xfrmctl.keying.ikev1.wire import IdBody
from xfrmctl.keying.ikev2.identity import Identity
from xfrmctl.keying.ikev2.ts import TrafficSelector, TrafficSelectorError

_PHASE1_TYPES = {IdType.IPV4_ADDR, IdType.FQDN, IdType.USER_FQDN, IdType.IPV6_ADDR,
                 IdType.DER_ASN1_DN, IdType.KEY_ID}  # fmt: skip


def identity_body(identity: Identity) -> IdBody:
    if identity.id_type is None:
        raise ValueError("cannot send the %any identity")
    return IdBody(int(identity.id_type), identity.data)


def body_identity(body: IdBody) -> Identity:
    if body.id_type not in _PHASE1_TYPES:
        raise ParseError(f"ISAKMP: ID type {body.id_type} is not a phase-1 identity", notify=None)
    return Identity(V2IdType(body.id_type), body.data)


def selector_body(ts: TrafficSelector) -> IdBody:
    """An address, subnet or range ID for a selector (single port or any)."""
    port = ts.start_port if ts.start_port == ts.end_port else 0
    v4 = ts.version == 4
    if ts.start == ts.end:
        return IdBody(IdType.IPV4_ADDR if v4 else IdType.IPV6_ADDR, ts.start.packed,
                      ts.protocol, port)  # fmt: skip
    size = int(ts.end) - int(ts.start) + 1
    if size & (size - 1) == 0 and int(ts.start) % size == 0:
        prefix = ts.start.max_prefixlen - (size.bit_length() - 1)
        net = ipaddress.ip_network(f"{ts.start}/{prefix}")
        return IdBody(IdType.IPV4_ADDR_SUBNET if v4 else IdType.IPV6_ADDR_SUBNET,
                      net.network_address.packed + net.netmask.packed, ts.protocol,
                      port)  # fmt: skip
    return IdBody(IdType.IPV4_ADDR_RANGE if v4 else IdType.IPV6_ADDR_RANGE,
                  ts.start.packed + ts.end.packed, ts.protocol, port)  # fmt: skip


def body_selector(body: IdBody) -> TrafficSelector:
    lo, hi = body.selector_range()
    try:
        if body.port:
            return TrafficSelector(lo, hi, body.protocol, body.port, body.port)
        return TrafficSelector(lo, hi, body.protocol)
    except TrafficSelectorError as exc:
        raise ParseError(f"ISAKMP: proxy ID: {exc}", notify=None) from None


def host_selector(address: str) -> TrafficSelector:
    """The implied proxy ID when quick mode carries none: the ISAKMP peer's address."""
    return TrafficSelector.from_network(address)
