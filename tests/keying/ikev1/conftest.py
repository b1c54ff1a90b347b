"""The IKEv1 test harness: two engines on the in-memory `Net` of `tests/keying/netsim.py`.

`Net` carries datagrams between engine "a" (192.0.2.1, nets 10.1/16) and engine "b"
(198.51.100.2, nets 10.2/16); `tamper` can drop, duplicate or rewrite them; an optional NAT in
front of "a" rewrites its address and port.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from tests.keying.netsim import NAT_PUBLIC, Net, Rng, mirrored
from xfrmctl.keying.constants import ProtocolId
from xfrmctl.keying.ikev1.engine import Ikev1Engine
from xfrmctl.keying.ikev1.settings import ExchangeMode, Ikev1PeerConfig, Phase1Proposal
from xfrmctl.keying.ikev2.settings import Auth, ChildConfig, PskAuth
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.keying.transforms import by_name, parse_proposal

A_ADDR = "192.0.2.1"
B_ADDR = "198.51.100.2"
PSK = b"seed-000 shared secret"


def peer(
    name: str,
    local: str,
    remote: str | None,
    *,
    auth: Auth | None = None,
    ike: str = "3des-sha1-modp1024",
    ike_lifetime: int = 1800,
    esp: str = "3des-sha1",
    local_ts: str = "10.1.0.0/16",
    remote_ts: str = "10.2.0.0/16",
    pfs: str | None = None,
    child_lifetime: int = 3600,
    mode: ExchangeMode = ExchangeMode.MAIN,
    **kw: Any,
) -> Ikev1PeerConfig:
    child = ChildConfig(
        name="vpn",
        local_ts=(TrafficSelector.from_network(local_ts),),
        remote_ts=(TrafficSelector.from_network(remote_ts),),
        proposals=tuple(parse_proposal(p, ProtocolId.ESP) for p in esp.split(",")),
        pfs_group=by_name(pfs) if pfs else None,
        lifetime_seconds=child_lifetime,
        if_id=7,
    )
    return Ikev1PeerConfig(
        name=name,
        local_address=local,
        remote_address=remote,
        auth=auth or PskAuth(PSK),
        proposals=tuple(Phase1Proposal.parse(p, ike_lifetime) for p in ike.split(",")),
        mode=mode,
        children=kw.pop("children", (child,)),
        **kw,
    )


def pair(
    *, a_kw: dict[str, Any] | None = None, b_kw: dict[str, Any] | None = None,
    nat_a: bool = False, seed: str = "",
) -> Net:  # fmt: skip
    a_kw = dict(a_kw or {})
    b_kw = dict(b_kw or {})
    b_kw.setdefault("local_ts", "10.2.0.0/16")
    b_kw.setdefault("remote_ts", "10.1.0.0/16")
    pa = peer("to-b", A_ADDR, B_ADDR, **a_kw)
    pb = peer("to-a", B_ADDR, b_kw.pop("remote", A_ADDR), **b_kw)
    ea = Ikev1Engine([pa], Rng("a" + seed))
    eb = Ikev1Engine([pb], Rng("b" + seed))
    ea.raise_internal_errors = True
    eb.raise_internal_errors = True
    return Net(ea, eb, nat_a=nat_a, now=1000.0)


__all__ = ["A_ADDR", "B_ADDR", "NAT_PUBLIC", "PSK", "Net", "Rng", "mirrored", "pair", "peer"]


@pytest.fixture
def v1() -> types.ModuleType:
    """This module: tests reach the harness as `v1.pair()`, `v1.mirrored(...)`."""
    return sys.modules[__name__]
