"""NHTB wired into the daemon: a hub with one multipoint st0.0 and spokes on real IKEv2 exchanges.

The hub's fake kernel must hold exactly the policies the NHTB plan gives: per route prefix an
out policy into the VPN its next hop is bound to, a host policy per bound next hop, and one
wildcard in/fwd pair per family; no 0/0 child policies.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from daemon_harness import (  # type: ignore[import-not-found, unused-ignore]
    FakeEcho,
    Wire,
    make_daemon,
    seed,
    until,
)

from xfrmctl.cli.client import ControlClient
from xfrmctl.daemon.runtime import Daemon
from xfrmctl.dpd import MonState
from xfrmctl.netlink.codec import XfrmPolicy
from xfrmctl.netlink.constants import XfrmDir
from xfrmctl.netlink.fake import FakeKernel
from xfrmctl.netlink.port import PolicyFilter, RouteInfo
from xfrmctl.nhtb.planner import PRIORITY_BASE
from xfrmctl.state.model import NhtbEntry

HUB, S1, S2 = "192.0.2.1", "192.0.2.2", "192.0.2.3"
IN, OUT, FWD = (
    int(XfrmDir.XFRM_POLICY_IN),
    int(XfrmDir.XFRM_POLICY_OUT),
    int(XfrmDir.XFRM_POLICY_FWD),
)

COMMON = """\
set security ike proposal P1 authentication-method pre-shared-keys
set security ike proposal P1 dh-group group31
set security ike proposal P1 authentication-algorithm sha-256
set security ike proposal P1 encryption-algorithm aes-256-gcm
set security ike policy IKEPOL mode main
set security ike policy IKEPOL proposals P1
set security ike policy IKEPOL pre-shared-key ascii-text "unit-test-secret-0123456789"
set security ipsec proposal P2 protocol esp
set security ipsec proposal P2 encryption-algorithm aes-256-gcm
set security ipsec policy IPSECPOL proposals P2
"""


def hub_config(spokes: dict[str, tuple[str, str, bool]]) -> str:
    """spokes: VPN name -> (outer address, tunnel address, Static entry), routes to each LAN."""
    lines = [COMMON, "set interfaces st0 unit 0 multipoint\n",
             "set interfaces st0 unit 0 family inet address 10.0.0.1/24\n"]  # fmt: skip
    for n, (vpn, (outer, tunnel, static)) in enumerate(spokes.items(), start=2):
        gw = f"GW-{vpn}"
        lines += [
            f"set security ike gateway {gw} ike-policy IKEPOL\n",
            f"set security ike gateway {gw} address {outer}\n",
            f"set security ike gateway {gw} external-interface eth0\n",
            f"set security ike gateway {gw} version v2-only\n",
            f"set security ipsec vpn {vpn} bind-interface st0.0\n",
            f"set security ipsec vpn {vpn} ike gateway {gw}\n",
            f"set security ipsec vpn {vpn} ike ipsec-policy IPSECPOL\n",
            f"set security ipsec vpn {vpn} establish-tunnels on-traffic\n",
            f"set routing-options static route 198.18.{n}.0/24 next-hop {tunnel}\n",
        ]
        if static:
            lines.append(
                f"set interfaces st0 unit 0 family inet next-hop-tunnel {tunnel} ipsec-vpn {vpn}\n"
            )
    return "".join(lines)


def spoke_config(tunnel: str, *, advertise: bool = True) -> str:
    """A point-to-point spoke; without `advertise` its unit has no address (a peer that sends
    no tunnel address, as strongSwan): the hub needs a Static entry for it."""
    text = COMMON + (
        "set security ike gateway HUB ike-policy IKEPOL\n"
        f"set security ike gateway HUB address {HUB}\n"
        "set security ike gateway HUB external-interface eth0\n"
        "set security ike gateway HUB version v2-only\n"
        "set security ipsec vpn TOHUB bind-interface st0.0\n"
        "set security ipsec vpn TOHUB ike gateway HUB\n"
        "set security ipsec vpn TOHUB ike ipsec-policy IPSECPOL\n"
        "set security ipsec vpn TOHUB establish-tunnels immediately\n"
        "set routing-options static route 198.18.1.0/24 next-hop st0.0\n"
    )
    if advertise:
        text += f"set interfaces st0 unit 0 family inet address {tunnel}/24\n"
    else:
        text += "set interfaces st0 unit 0 family inet\n"
    return text


def fake(d: Daemon) -> FakeKernel:
    assert isinstance(d.kernel, FakeKernel)
    return d.kernel


def up(d: Daemon, vpn: str) -> bool:
    rec = d.store.vpns.get(vpn)
    return rec is not None and bool(rec.children)


async def make(tmp: Path, wire: Wire, name: str, address: str, text: str) -> Daemon:
    path = tmp / f"{name}.set"
    path.write_text(text)
    d: Daemon = make_daemon(tmp, name, address, "", wire)
    d.config_path = str(path)
    d.nhtb.batch_delay = 0.0  # a batch on the next loop turn: no test waits for wall time
    await seed(d, address)
    return d


async def settle(d: Daemon) -> None:
    """Until the NHTB batch has run (nothing pending, no tick in progress)."""
    await until(lambda: d.nhtb.next_due() is None and not d._nhtb_busy)


PolicyRow = tuple[int, str, str, int | None, str | None, str | None, int]


async def policies(d: Daemon) -> list[PolicyRow]:
    rows: list[PolicyRow] = []
    for p in await fake(d).list_policies():
        t = p.tmpls[0] if p.tmpls else None
        rows.append((p.dir, p.sel.src, p.sel.dst, p.if_id,
                     t.saddr if t else None, t.daddr if t else None, p.priority))  # fmt: skip
    return sorted(rows, key=lambda r: (r[0], r[2], r[1], r[3]))


async def hub_and_spokes(
    tmp: Path, spokes: dict[str, tuple[str, str, bool]], advertise: dict[str, bool]
) -> tuple[Daemon, dict[str, Daemon], Wire]:
    wire = Wire()
    hub = await make(tmp, wire, "hub", HUB, hub_config(spokes))
    await hub.start()
    others: dict[str, Daemon] = {}
    for vpn, (outer, tunnel, _) in spokes.items():
        text = spoke_config(tunnel, advertise=advertise.get(vpn, True))
        others[vpn] = await make(tmp, wire, vpn.lower(), outer, text)
    for d in others.values():
        await d.start()
    await until(lambda: all(up(hub, v) for v in spokes))
    await settle(hub)
    return hub, others, wire


def test_hub_two_auto_spokes_exact_policies(tmp_path: Path) -> None:
    async def main() -> None:
        spokes = {"V2": (S1, "10.0.0.2", False), "V3": (S2, "10.0.0.3", False)}
        hub, others, wire = await hub_and_spokes(tmp_path, spokes, {})
        got = await policies(hub)
        assert got == [
            (IN, "0.0.0.0/0", "0.0.0.0/0", 1, "0.0.0.0", "0.0.0.0", PRIORITY_BASE),
            (IN, "::/0", "::/0", 1, "::", "::", PRIORITY_BASE),
            (OUT, "0.0.0.0/0", "10.0.0.2/32", 1, HUB, S1, PRIORITY_BASE - 32),
            (OUT, "0.0.0.0/0", "10.0.0.3/32", 1, HUB, S2, PRIORITY_BASE - 32),
            (OUT, "0.0.0.0/0", "198.18.2.0/24", 1, HUB, S1, PRIORITY_BASE - 24),
            (OUT, "0.0.0.0/0", "198.18.3.0/24", 1, HUB, S2, PRIORITY_BASE - 24),
            (FWD, "0.0.0.0/0", "0.0.0.0/0", 1, "0.0.0.0", "0.0.0.0", PRIORITY_BASE),
            (FWD, "::/0", "::/0", 1, "::", "::", PRIORITY_BASE),
        ]
        # the SAs carry the unit's if_id
        assert {s.if_id for s in await fake(hub).list_sas()} == {1}
        entries = hub.snapshot().next_hop_tunnels
        ids = {v: hub.store.vpns[v].tunnel_id for v in spokes}
        assert entries == (
            NhtbEntry(next_hop="10.0.0.2", interface="st0.0", vpn_name="V2", flag="Auto",
                      tunnel_id=ids["V2"]),
            NhtbEntry(next_hop="10.0.0.3", interface="st0.0", vpn_name="V3", flag="Auto",
                      tunnel_id=ids["V3"]),
        )  # fmt: skip
        # a route from another source (ip route, FRR) via a bound next hop gets its policy
        fake(hub).inject_route(RouteInfo("198.18.20.0/23", "st0.0", "10.0.0.3", proto=4))
        await until(lambda: hub.nhtb.next_due() is not None or hub._nhtb_busy)
        await settle(hub)
        assert (OUT, "0.0.0.0/0", "198.18.20.0/23", 1, HUB, S2, PRIORITY_BASE - 23) in (
            await policies(hub)
        )
        await fake(hub).delete_route("198.18.20.0/23", dev="st0.0")
        await until(lambda: hub.nhtb.next_due() is not None or hub._nhtb_busy)
        await settle(hub)
        assert await policies(hub) == got
        # a restart against the same kernel would plan the same set: no ops
        assert hub.nhtb.sync(await fake(hub).list_policies()) == ()

        # spoke V2 goes: only its policies and its Auto entry go
        await others["V2"].shutdown()
        await until(lambda: not up(hub, "V2"))
        await settle(hub)
        assert await policies(hub) == [r for r in got if r[5] != S1]
        assert [e.next_hop for e in hub.snapshot().next_hop_tunnels] == ["10.0.0.3"]
        # its configured route no longer attracts traffic: withdrawn (a backup route wins)
        assert [r.dst for r in fake(hub)._routes] == ["198.18.3.0/24"]
        assert up(hub, "V3") and up(others["V3"], "TOHUB")
        # it returns: learned again, its policies back
        back = await make(tmp_path, wire, "v2-again", S1, spoke_config("10.0.0.2"))
        await back.start()
        await until(lambda: up(hub, "V2"))
        await settle(hub)
        assert await policies(hub) == got
        assert sorted(r.dst for r in fake(hub)._routes) == ["198.18.2.0/24", "198.18.3.0/24"]
        await back.shutdown()
        await hub.shutdown()
        await others["V3"].shutdown()
        assert await fake(hub).list_policies() == []

    asyncio.run(main())


def test_hub_static_entry_for_a_silent_spoke(tmp_path: Path) -> None:
    async def main() -> None:
        spokes = {"V2": (S1, "10.0.0.2", False), "V3": (S2, "10.0.0.3", True)}
        hub, others, _ = await hub_and_spokes(tmp_path, spokes, {"V3": False})
        got = await policies(hub)
        outs = [r for r in got if r[0] == OUT]
        assert outs == [
            (OUT, "0.0.0.0/0", "10.0.0.2/32", 1, HUB, S1, PRIORITY_BASE - 32),
            (OUT, "0.0.0.0/0", "10.0.0.3/32", 1, HUB, S2, PRIORITY_BASE - 32),
            (OUT, "0.0.0.0/0", "198.18.2.0/24", 1, HUB, S1, PRIORITY_BASE - 24),
            (OUT, "0.0.0.0/0", "198.18.3.0/24", 1, HUB, S2, PRIORITY_BASE - 24),
        ]
        assert [(e.next_hop, e.vpn_name, e.flag) for e in hub.snapshot().next_hop_tunnels] == [
            ("10.0.0.3", "V3", "Static"),
            ("10.0.0.2", "V2", "Auto"),
        ]
        # the control socket answers `show security ipsec next-hop-tunnels interface-name st0.0`
        client = ControlClient(hub.socket_path, timeout=5)
        command = ("show", "security", "ipsec", "next-hop-tunnels")
        result = await asyncio.to_thread(client.call, command, {"interface_name": "st0.0"})
        ids = {v: hub.store.vpns[v].tunnel_id for v in spokes}
        v2 = {"next_hop": "10.0.0.2", "interface": "st0.0", "vpn_name": "V2", "flag": "Auto",
              "tunnel_id": ids["V2"]}  # fmt: skip
        v3 = {"next_hop": "10.0.0.3", "interface": "st0.0", "vpn_name": "V3", "flag": "Static",
              "tunnel_id": ids["V3"]}  # fmt: skip
        assert result == {"next_hop_tunnels": [v3, v2]}  # the table's order: Static first
        # each tunnel of the unit carries its own entries (sa detail, --json)
        show_sa = ("show", "security", "ipsec", "security-associations")
        sa: Any = await asyncio.to_thread(client.call, show_sa, {"level": "detail"})
        by_vpn = {t["vpn_name"]: t for t in sa["tunnels"]}
        assert by_vpn["V2"]["bind_interface"] == by_vpn["V3"]["bind_interface"] == "st0.0"
        assert by_vpn["V2"]["next_hop_tunnels"] == [v2]
        assert by_vpn["V3"]["next_hop_tunnels"] == [v3]
        other = await asyncio.to_thread(client.call, command, {"interface_name": "st0.1"})
        assert other == {"next_hop_tunnels": []}
        # the Static spoke goes: its policies go, its Static entry stays
        await others["V3"].shutdown()
        await until(lambda: not up(hub, "V3"))
        await settle(hub)
        assert [r for r in await policies(hub) if r[0] == OUT] == outs[0:1] + outs[2:3]
        assert [(e.next_hop, e.flag) for e in hub.snapshot().next_hop_tunnels] == [
            ("10.0.0.3", "Static"),
            ("10.0.0.2", "Auto"),
        ]
        await hub.shutdown()
        await others["V2"].shutdown()

    asyncio.run(main())


def test_monitor_down_on_multipoint_takes_out_only_that_spoke(tmp_path: Path) -> None:
    async def main() -> None:
        spokes = {"V2": (S1, "10.0.0.2", False), "V3": (S2, "10.0.0.3", False)}
        text = hub_config(spokes) + (
            "set security ipsec vpn V2 vpn-monitor destination-ip 10.0.0.2\n"
            "set security ipsec vpn V2 vpn-monitor source-interface st0.0\n"
            "set security ipsec vpn-monitor-options interval 10\n"
            "set security ipsec vpn-monitor-options threshold 3\n"
        )
        wire = Wire()
        hub = await make(tmp_path, wire, "hub", HUB, text)
        echo = FakeEcho(hub)
        hub.echo = echo
        await hub.start()
        others = {}
        for vpn, (outer, tunnel, _) in spokes.items():
            others[vpn] = await make(tmp_path, wire, vpn.lower(), outer, spoke_config(tunnel))
            await others[vpn].start()
        await until(lambda: up(hub, "V2") and up(hub, "V3"))
        await settle(hub)
        await until(lambda: bool(echo.sent) and hub.dpd.monitors["V2"].answered == 1)
        assert echo.sent[0] == ("10.0.0.1", "10.0.0.2", 1, 1, "st0.0")
        before = await policies(hub)
        assert [r.dst for r in fake(hub)._routes] == ["198.18.2.0/24", "198.18.3.0/24"]

        # spoke V2's ESP dies (and it no longer answers IKE): D after three failed cycles
        echo.answering = False
        del wire.daemons[S1]
        t0 = hub.now()
        for k in range(1, 5):
            hub.dpd_actions(hub.dpd.on_timer(t0 + 10 * k, {}))
        assert hub.dpd.mon_state("V2") is MonState.DOWN
        await until(lambda: [r.dst for r in fake(hub)._routes] == ["198.18.3.0/24"])
        await settle(hub)
        # V2's policies and route are gone; V3's are untouched
        assert await policies(hub) == [r for r in before if r[5] != S1]
        assert up(hub, "V3")
        await hub.shutdown()
        await others["V3"].shutdown()

    asyncio.run(main())


def test_reload_adds_a_static_entry_for_a_silent_spoke(tmp_path: Path) -> None:
    async def main() -> None:
        spokes = {"V2": (S1, "10.0.0.2", False)}
        hub, others, _ = await hub_and_spokes(tmp_path, spokes, {"V2": False})
        # up, but nothing binds 10.0.0.2: no out policy, the configured route is withdrawn
        assert [r for r in await policies(hub) if r[0] == OUT] == []
        assert fake(hub)._routes == []
        assert hub.snapshot().next_hop_tunnels == ()
        static = hub_config({"V2": (S1, "10.0.0.2", True)})
        Path(hub.config_path).write_text(static)
        assert await hub.reload() == "reloaded: 0 added, 0 removed, 0 renegotiated, 1 kept"
        await until(lambda: [r.dst for r in fake(hub)._routes] == ["198.18.2.0/24"])
        await settle(hub)
        assert [r for r in await policies(hub) if r[0] == OUT] == [
            (OUT, "0.0.0.0/0", "10.0.0.2/32", 1, HUB, S1, PRIORITY_BASE - 32),
            (OUT, "0.0.0.0/0", "198.18.2.0/24", 1, HUB, S1, PRIORITY_BASE - 24),
        ]
        [entry] = hub.snapshot().next_hop_tunnels
        assert (entry.next_hop, entry.vpn_name, entry.flag) == ("10.0.0.2", "V2", "Static")
        await hub.shutdown()
        await others["V2"].shutdown()

    asyncio.run(main())


def test_stale_policy_dump_syncs_again(tmp_path: Path) -> None:
    async def main() -> None:
        spokes = {"V2": (S1, "10.0.0.2", False)}
        hub, others, _ = await hub_and_spokes(tmp_path, spokes, {})
        got = await policies(hub)
        kernel = fake(hub)
        real = kernel.list_policies
        calls: list[int] = []

        async def stale_once(filter: PolicyFilter | None = None) -> list[XfrmPolicy]:
            calls.append(1)
            return [] if len(calls) == 1 else await real(filter)

        kernel.list_policies = stale_once  # type: ignore[method-assign]
        hub.nhtb.invalidate(hub.now())
        await hub._nhtb_tick()
        # the stale (empty) dump planned adds that collided (EEXIST): a fresh dump, no change
        assert len(calls) == 2
        assert await policies(hub) == got
        assert hub.nhtb.next_due() is None
        del kernel.list_policies
        await hub.shutdown()
        await others["V2"].shutdown()

    asyncio.run(main())
