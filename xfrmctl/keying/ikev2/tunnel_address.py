"""The NHTB tunnel-address notify in child SA exchanges (docs/nhtb.md, "what the engine must do").

Both ends announce their bound st0 unit's address in every exchange that creates or rekeys a
child, so a hub learns a spoke's next hop (an Auto binding) without configuration. The notify is
advisory: a malformed one is counted and ignored, never a reason to fail the exchange.
"""

from __future__ import annotations

from collections.abc import Callable

from xfrmctl.keying import payloads as pl
from xfrmctl.keying.ikev2 import wire
from xfrmctl.keying.ikev2.settings import ChildConfig
from xfrmctl.nhtb.errors import NhtbNotifyError
from xfrmctl.nhtb.notify import (
    XFRMCTL_TUNNEL_ADDRESS,
    TunnelAddress,
    decode_tunnel_addresses,
    encode_tunnel_address,
)

MALFORMED = "malformed tunnel-address notify ignored"
"""Counter bumped for each message whose tunnel-address notifies could not be decoded."""


def notifies(config: ChildConfig) -> list[wire.Payload]:
    """One status notify per configured address (ChildConfig has validated them)."""
    return [
        pl.NotifyPayload(XFRMCTL_TUNNEL_ADDRESS, encode_tunnel_address(addr))
        for addr in config.local_tunnel_addresses
    ]


def learned(msg: wire.Inbound, count: Callable[[str], None]) -> tuple[TunnelAddress, ...]:
    """The peer's addresses from this message; () when it sent none or sent garbage."""
    found = [
        p.data
        for p in msg.payloads
        if isinstance(p, pl.NotifyPayload) and p.notify_type == XFRMCTL_TUNNEL_ADDRESS
    ]
    if not found:
        return ()
    try:
        return decode_tunnel_addresses(found)
    except NhtbNotifyError:
        count(MALFORMED)
        return ()
