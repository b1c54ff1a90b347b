"""Statements xfrmctl parses and validates but cannot realise yet, with the reason.

Nothing an operator configures is silently ignored: ``config check`` names each of these with a
warning. Remove an entry when the daemon implements the statement. Paths use ``*`` for a name.
"""

from __future__ import annotations

from collections.abc import Iterator

from xfrmctl.config.errors import Diagnostics, Location
from xfrmctl.config.tree import Block, FlagSet, NamedItems, Value

NO_FILTERING = (
    "xfrmctl does no packet filtering: traffic is not dropped by this policy; "
    "filter with nftables"
)

NOT_REALISED: dict[tuple[str, ...], str] = {
    ("security", "ike", "respond-bad-spi"): (
        "bad-SPI responses are not sent: the kernel drops ESP with an unknown SPI without "
        "telling the daemon (counted as XfrmInNoStates in /proc/net/xfrm_stat)"
    ),
    ("security", "ike", "traceoptions"): (
        "IKE tracing is replaced by the daemon's structured log (journald); use --log-level"
    ),
    ("security", "ike", "gateway", "*", "dynamic", "connections-limit"): (
        "the number of dynamic peers is not limited yet"
    ),
    ("security", "ike", "gateway", "*", "xauth"): "XAuth is not supported",
    ("security", "ike", "gateway", "*", "no-nat-traversal"): (
        "NAT traversal cannot be disabled yet"
    ),
    ("security", "ipsec", "traceoptions"): (
        "IPsec tracing is replaced by the daemon's structured log (journald); use --log-level"
    ),
    ("routing-options", "static", "route", "*", "discard"): "discard routes are not installed",
    ("routing-options", "static", "route", "*", "reject"): "reject routes are not installed",
    ("routing-options", "static", "route", "*", "preference"): (
        "route preference is not applied (metric is)"
    ),
    ("routing-options", "static", "route", "*", "qualified-next-hop"): (
        "qualified next hops are not installed yet"
    ),
    ("routing-options", "rib", "*", "static", "route", "*", "qualified-next-hop"): (
        "qualified next hops are not installed yet"
    ),
    ("routing-options", "rib", "*", "static", "route", "*", "discard"): (
        "discard routes are not installed"
    ),
    ("routing-options", "rib", "*", "static", "route", "*", "reject"): (
        "reject routes are not installed"
    ),
    ("routing-options", "rib", "*", "static", "route", "*", "preference"): (
        "route preference is not applied (metric is)"
    ),
    ("security", "policies", "from-zone", "*", "to-zone", "*", "policy", "*", "then", "deny"): (
        NO_FILTERING
    ),
    ("security", "policies", "from-zone", "*", "to-zone", "*", "policy", "*", "then",
     "reject"): NO_FILTERING,
    ("security", "policies", "global", "policy", "*", "then", "deny"): NO_FILTERING,
    ("security", "policies", "global", "policy", "*", "then", "reject"): NO_FILTERING,
    ("security", "policies", "default-policy", "deny-all"): NO_FILTERING,
    ("security", "alarms"): "security alarms are not raised yet",
    ("routing-instances",): "routing instances (VRFs) are not created yet",
}  # fmt: skip


Found = tuple[tuple[str, ...], tuple[str, ...], Location]


def _walk(block: Block, pattern: tuple[str, ...], real: tuple[str, ...]) -> Iterator[Found]:
    """(path with ``*`` for names, path with the names, location) of every statement."""
    for keyword, item in block.items.items():
        here, shown = (*pattern, keyword), (*real, keyword)
        if isinstance(item, Value | FlagSet):
            yield here, shown, item.location
        elif isinstance(item, list) and item:
            yield here, shown, item[0].location
        elif isinstance(item, Block):
            yield here, shown, item.location
            yield from _walk(item, here, shown)
        elif isinstance(item, NamedItems):
            if item.entries:
                yield here, shown, block.location_of(keyword)
            for entry in item.entries.values():
                yield from _walk(entry, (*here, "*"), (*shown, entry.path[-1]))


def report_unrealised(root: Block, diags: Diagnostics) -> None:
    for pattern, shown, location in _walk(root, (), ()):
        reason = NOT_REALISED.get(pattern)
        if reason is not None:
            diags.warning(location, " ".join(shown), f"not realised yet: {reason}")
