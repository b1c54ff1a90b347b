"""Shared hub fixtures for the NHTB tests: one multipoint st0.0 (if_id 5), three spokes."""

from __future__ import annotations

from xfrmctl.netlink.codec import Selector, Tmpl, XfrmPolicy
from xfrmctl.netlink.constants import AF_INET, AF_INET6
from xfrmctl.netlink.port import RouteInfo
from xfrmctl.nhtb.planner import MultipointUnit, VpnState
from xfrmctl.nhtb.table import NhtbTable, StaticBinding

HUB = "192.0.2.1"
UNIT = MultipointUnit("st0.0", 5)
REQ_A, REQ_B, REQ_C = 0x58000011, 0x58000012, 0x58000013
BASE = 0x58400


def vpns(*, a: bool = True, b: bool = True, c: bool = True) -> list[VpnState]:
    return [
        VpnState("vpn-a", "st0.0", a, HUB, "192.0.2.11", REQ_A),
        VpnState("vpn-b", "st0.0", b, HUB, "192.0.2.12", REQ_B),
        VpnState("vpn-c", "st0.0", c, HUB, "192.0.2.13", REQ_C),
    ]


def table() -> NhtbTable:
    """a: Static 10.11.11.11 and 2001:db8:ff::11; b: Auto 10.11.11.12; c: Auto 10.11.11.13."""
    t = NhtbTable()
    t.set_static(
        [
            StaticBinding("st0.0", "10.11.11.11", "vpn-a"),
            StaticBinding("st0.0", "2001:db8:ff::11", "vpn-a"),
        ]
    )
    t.learn("st0.0", "vpn-b", "10.11.11.12")
    t.learn("st0.0", "vpn-c", "10.11.11.13")
    return t


def route(dst: str, via: str | None, *, metric: int = 0, dev: str = "st0.0") -> RouteInfo:
    return RouteInfo(dst=dst, dev=dev, via=via, metric=metric, onlink=True)


def out(dst: str, remote: str, reqid: int, *, if_id: int = 5) -> XfrmPolicy:
    """The expected out policy, spelled out field by field."""
    addr, _, plen = dst.partition("/")
    fam = AF_INET6 if ":" in addr else AF_INET
    return XfrmPolicy(
        sel=Selector(
            daddr=addr,
            saddr="::" if fam == AF_INET6 else "0.0.0.0",
            family=fam,
            prefixlen_d=int(plen),
        ),
        dir=1,
        priority=BASE - int(plen),
        tmpls=(Tmpl(daddr=remote, saddr=HUB, family=AF_INET, proto=50, reqid=reqid, mode=1),),
        if_id=if_id,
    )


def wildcards(if_id: int = 5) -> list[XfrmPolicy]:
    pols = []
    for fam, anyaddr in ((AF_INET, "0.0.0.0"), (AF_INET6, "::")):
        for d in (0, 2):
            pols.append(
                XfrmPolicy(
                    sel=Selector(daddr=anyaddr, saddr=anyaddr, family=fam),
                    dir=d,
                    priority=BASE,
                    tmpls=(
                        Tmpl(daddr=anyaddr, saddr=anyaddr, family=fam, proto=50, reqid=0, mode=1),
                    ),
                    if_id=if_id,
                )
            )
    return pols
