"""The runtime against fake kernels: real IKEv2 exchanges between two in-process daemons.

Exact kernel objects after an InstallChild, nothing left after shutdown, a reload that keeps
the unchanged VPN's SPIs, and the control socket answering real requests.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from daemon_harness import (  # type: ignore[import-not-found, unused-ignore]
    VPN1,
    VPN1_B,
    A,
    B,
    Wire,
    config,
    make_daemon,
    seed,
    until,
)

from xfrmctl.cli.client import ControlClient, DaemonError
from xfrmctl.daemon.runtime import Daemon
from xfrmctl.netlink.codec import Algo, AuthTruncAlgo, XfrmState
from xfrmctl.netlink.constants import XFRMCTL_REQID_MIN, XfrmDir
from xfrmctl.netlink.fake import FakeKernel
from xfrmctl.state.model import Snapshot

# two VPNs to one gateway: distinct proxy identities tell their child SAs apart
PVPN1 = {**VPN1, "proxy": ("198.18.1.0/24", "198.18.2.0/24")}
PVPN1_B = {**VPN1_B, "proxy": ("198.18.2.0/24", "198.18.1.0/24")}
VPN2 = {"unit": 1, "address": "198.18.255.5/30", "route": "198.18.4.0/24",
        "proxy": ("198.18.3.0/24", "198.18.4.0/24")}  # fmt: skip
VPN2_B = {"unit": 1, "address": "198.18.255.6/30", "route": "198.18.3.0/24",
          "proxy": ("198.18.4.0/24", "198.18.3.0/24")}  # fmt: skip


def fake(d: Daemon) -> FakeKernel:
    assert isinstance(d.kernel, FakeKernel)
    return d.kernel


def snap(d: Daemon) -> Snapshot:
    return d.store.snapshot(d.now(), d.wall_offset, {})


def up(d: Daemon, vpn: str) -> bool:
    rec = d.store.vpns.get(vpn)
    return rec is not None and bool(rec.children)


async def pair(
    tmp: Path, vpns_a: dict[str, dict[str, object]], vpns_b: dict[str, dict[str, object]]
) -> tuple[Daemon, Daemon, Wire]:
    wire = Wire()
    a = make_daemon(tmp, "a", A, config(local=A, remote=B, vpns=vpns_a), wire)
    b = make_daemon(tmp, "b", B, config(local=B, remote=A, vpns=vpns_b,
                                        establish="on-traffic"), wire)  # fmt: skip
    await seed(a, A)
    await seed(b, B)
    await b.start()
    await a.start()
    return a, b, wire


def test_tunnel_up_exact_kernel_objects_and_clean_shutdown(tmp_path: Path) -> None:
    async def main() -> None:
        a, b, _ = await pair(tmp_path, {"vpn1": VPN1}, {"vpn1": VPN1_B})
        await until(lambda: up(a, "vpn1") and up(b, "vpn1"))
        ka, kb = fake(a), fake(b)
        sas_a = await ka.list_sas()
        sas_b = await kb.list_sas()
        assert len(sas_a) == 2 and len(sas_b) == 2
        inbound = next(s for s in sas_a if s.daddr == A)
        outbound = next(s for s in sas_a if s.daddr == B)
        # the peer's SAs are ours with directions swapped, keys included
        peer_out = next(s for s in sas_b if s.spi == inbound.spi)
        assert peer_out.daddr == A and peer_out.saddr == B
        assert peer_out.aead is not None and inbound.aead is not None
        assert peer_out.aead.key == inbound.aead.key
        assert inbound.aead.name == "rfc4106(gcm(aes))" and inbound.aead.icv_len == 128
        assert len(inbound.aead.key) == 36
        assert inbound.if_id == 1 and outbound.if_id == 1
        assert inbound.reqid == outbound.reqid == XFRMCTL_REQID_MIN + 1
        assert inbound.replay_esn is not None and inbound.replay_esn.replay_window == 64
        assert inbound.lft.hard_add_expires_seconds == 3600
        assert 2970 <= inbound.lft.soft_add_expires_seconds <= 3030
        pols = await ka.list_policies()
        assert sorted((p.dir, p.sel.src, p.sel.dst, p.if_id) for p in pols) == [
            (int(XfrmDir.XFRM_POLICY_IN), "0.0.0.0/0", "0.0.0.0/0", 1),
            (int(XfrmDir.XFRM_POLICY_OUT), "0.0.0.0/0", "0.0.0.0/0", 1),
            (int(XfrmDir.XFRM_POLICY_FWD), "0.0.0.0/0", "0.0.0.0/0", 1),
        ]
        out = next(p for p in pols if p.dir == XfrmDir.XFRM_POLICY_OUT)
        assert out.tmpls is not None
        assert (out.tmpls[0].saddr, out.tmpls[0].daddr) == (A, B)
        assert out.tmpls[0].reqid == inbound.reqid
        links = {ln.name: ln for ln in await ka.list_links("xfrm")}
        assert links["st0.0"].if_id == 1 and links["st0.0"].up
        assert await ka.list_addresses("st0.0") == ["198.18.255.1/30"]
        assert [(r.dst, r.dev) for r in await ka.list_routes()] == [("198.18.2.0/24", "st0.0")]
        s = snap(a)
        assert [t.tunnel_id for t in s.tunnels] == [131073]
        tunnel = s.tunnels[0]
        assert [(sa.direction, sa.spi) for sa in tunnel.sas] == [
            ("inbound", inbound.spi),
            ("outbound", outbound.spi),
        ]
        assert tunnel.sas[0].algorithm == "ESP:aes-gcm-256/none"
        assert tunnel.local_identity == "ipv4_subnet(any:0,[0..7]=0.0.0.0/0)"
        assert tunnel.nego_count == 1 and tunnel.bind_interface == "st0.0"
        [ike] = s.ike_security_associations
        assert ike.role == "Initiator" and ike.exchange_type == "IKEv2"
        assert ike.encryption_algorithm == "aes-gcm (256 bits)"
        assert ike.dh_group == "DH-group-31"
        [ike_b] = snap(b).ike_security_associations
        assert (ike_b.initiator_cookie, ike_b.role) == (ike.initiator_cookie, "Responder")

        await a.shutdown()
        assert await ka.list_sas() == []
        assert await ka.list_policies() == []
        assert await ka.list_links("xfrm") == []
        assert await ka.list_routes() == []
        # the peer heard the IKE delete and removed its child SA; on-traffic policies stay
        await until(lambda: not up(b, "vpn1"))
        assert await kb.list_sas() == []
        assert len(await kb.list_policies()) == 3
        inactive = snap(b).inactive_tunnels
        assert [(t.vpn_name, t.tunnel_down_reason) for t in inactive] == [
            ("vpn1", "deleted by peer")
        ]
        await b.shutdown()
        assert await kb.list_policies() == []

    asyncio.run(main())


def test_reload_keeps_unchanged_vpn_spis(tmp_path: Path) -> None:
    async def main() -> None:
        vpns_a = {"vpn1": PVPN1, "vpn2": VPN2}
        a, b, _ = await pair(tmp_path, vpns_a, {"vpn1": PVPN1_B, "vpn2": VPN2_B})
        await until(lambda: all(up(d, v) for d in (a, b) for v in ("vpn1", "vpn2")))
        before = {v: set(a.store.vpns[v].children) for v in ("vpn1", "vpn2")}
        spis_before = {(s.daddr, s.spi) for s in await fake(a).list_sas()}
        vpn1_spis = {
            spi
            for c in a.store.vpns["vpn1"].children.values()
            for spi in (c.spi_in, c.spi_out)
        }
        # change vpn2's ESP proposal on both sides
        cbc = {"encryption-algorithm": "aes-128-cbc",
               "authentication-algorithm": "hmac-sha-256-128"}  # fmt: skip
        new_a = config(local=A, remote=B, vpns={"vpn1": PVPN1, "vpn2": {**VPN2, "esp": cbc}})
        new_b = config(local=B, remote=A, vpns={"vpn1": PVPN1_B, "vpn2": {**VPN2_B, "esp": cbc}},
                       establish="on-traffic")  # fmt: skip
        (tmp_path / "b.yaml").write_text(new_b)
        await b.reload()
        (tmp_path / "a.yaml").write_text(new_a)
        message = await a.reload()
        assert message == "reloaded: 0 added, 0 removed, 1 renegotiated, 1 kept"
        await until(lambda: up(a, "vpn2") and set(a.store.vpns["vpn2"].children) != before["vpn2"])
        assert set(a.store.vpns["vpn1"].children) == before["vpn1"]
        spis_after = {(s.daddr, s.spi) for s in await fake(a).list_sas()}
        assert {s for _, s in spis_after} >= vpn1_spis
        assert spis_after != spis_before
        vpn2 = next(t for t in snap(a).tunnels if t.vpn_name == "vpn2")
        assert vpn2.sas[0].algorithm == "ESP:aes-128/sha256"
        assert vpn2.tunnel_id == 131074
        # a broken file is refused with its line, and nothing changes
        (tmp_path / "a.yaml").write_text(new_a.replace('"v2-only"', '"v9-only"'))
        try:
            await a.reload()
        except Exception as exc:
            assert type(exc).__name__ == "ReloadRefused"
            assert "a.yaml:" in str(exc) and "version" in str(exc)
        else:
            raise AssertionError("a broken configuration was accepted")
        assert {(s.daddr, s.spi) for s in await fake(a).list_sas()} == spis_after
        await a.shutdown()
        await b.shutdown()

    asyncio.run(main())


def test_control_socket_answers_and_survives_garbage(tmp_path: Path) -> None:
    async def main() -> None:
        a, b, _ = await pair(tmp_path, {"vpn1": VPN1}, {"vpn1": VPN1_B})
        await until(lambda: up(a, "vpn1") and up(b, "vpn1"))
        client = ControlClient(a.socket_path, timeout=5)
        result = await asyncio.to_thread(
            client.call, ("show", "security", "ike", "security-associations"), {}
        )
        assert isinstance(result, dict)
        sas = result["ike_security_associations"]
        assert isinstance(sas, list) and len(sas) == 1
        ike = sas[0]
        assert isinstance(ike, dict)
        assert ike["state"] == "UP" and ike["gateway_name"] == "GW"
        assert oct(Path(a.socket_path).stat().st_mode & 0o777) == "0o600"
        # garbage and unknown commands get error answers; the daemon keeps answering
        reader, writer = await asyncio.open_unix_connection(a.socket_path)
        writer.write(b"\xff{not json\n")
        writer.write(b'{"id": 7, "command": ["show", "nothing"]}\n')
        await writer.drain()
        first = await reader.readline()
        second = await reader.readline()
        writer.close()
        assert b'"ok":false' in first and b"parse-error" in first
        assert second.startswith(b'{"id":7,"ok":false,"error":{"code":"unknown-command"')
        try:
            await asyncio.to_thread(
                client.call, ("show", "security", "ipsec", "statistics"), {"index": 5}
            )
        except DaemonError as exc:
            assert exc.code == "not-found"
        else:
            raise AssertionError("index 5 should not exist")
        result = await asyncio.to_thread(
            client.call, ("clear", "security", "ipsec", "security-associations"), {}
        )
        assert result == {"affected": 1, "message": None}
        await until(lambda: not up(b, "vpn1") or a.store.vpns["vpn1"].nego_count > 1)
        await a.shutdown()
        await b.shutdown()
        assert not Path(a.socket_path).exists()

    asyncio.run(main())


def test_start_after_a_crash_removes_stale_state(tmp_path: Path) -> None:
    async def main() -> None:
        wire = Wire()
        a = make_daemon(tmp_path, "a", A, config(local=A, remote=B, vpns={"vpn1": VPN1},
                                                 establish="on-traffic"), wire)  # fmt: skip
        await seed(a, A)
        k = fake(a)
        # what a killed daemon left behind, plus a foreign SA that must survive
        await k.add_xfrm_interface("st0.0", 1, underlying="eth0")
        await k.add_route("198.18.2.0/24", dev="st0.0")
        stale = XfrmState(daddr=B, spi=0x1234, saddr=A, reqid=XFRMCTL_REQID_MIN + 9,
                          crypt=Algo("cbc(aes)", bytes(16)),
                          auth_trunc=AuthTruncAlgo("hmac(sha256)", bytes(32), 128))  # fmt: skip
        foreign = XfrmState(daddr=B, spi=0x5678, saddr=A, reqid=7,
                            crypt=Algo("cbc(aes)", bytes(16)),
                            auth_trunc=AuthTruncAlgo("hmac(sha256)", bytes(32), 128))  # fmt: skip
        await k.add_sa(stale)
        await k.add_sa(foreign)
        await a.start()
        assert [s.spi for s in await k.list_sas()] == [0x5678]
        [link] = await k.list_links("xfrm")
        assert (link.name, link.if_id, link.up) == ("st0.0", 1, True)
        assert [(r.dst, r.dev) for r in await k.list_routes()] == [("198.18.2.0/24", "st0.0")]
        await a.shutdown()
        assert [s.spi for s in await k.list_sas()] == [0x5678]

    asyncio.run(main())


def test_ipv6_gateways(tmp_path: Path) -> None:
    a6, b6 = "2001:db8::1", "2001:db8::2"

    async def main() -> None:
        wire = Wire()
        a = make_daemon(tmp_path, "a", a6, config(local=a6, remote=b6, vpns={"vpn1": VPN1}), wire)
        b = make_daemon(tmp_path, "b", b6, config(local=b6, remote=a6, vpns={"vpn1": VPN1_B},
                                                  establish="on-traffic"), wire)  # fmt: skip
        await fake(a).add_address("eth0", f"{a6}/64")
        await fake(b).add_address("eth0", f"{b6}/64")
        await b.start()
        await a.start()
        await until(lambda: up(a, "vpn1") and up(b, "vpn1"))
        sas = await fake(a).list_sas()
        assert sorted((s.daddr, s.family) for s in sas) == [(a6, 10), (b6, 10)]
        pols = await fake(a).list_policies()
        # the st0 unit has only IPv4 addresses and routes: IPv4 inside IPv6
        assert {(p.sel.src, p.sel.dst) for p in pols} == {("0.0.0.0/0", "0.0.0.0/0")}
        [tunnel] = snap(a).tunnels
        assert (tunnel.local_gateway, tunnel.remote_gateway) == (a6, b6)
        assert tunnel.local_identity == "ipv4_subnet(any:0,[0..7]=0.0.0.0/0)"
        await a.shutdown()
        await b.shutdown()
        assert await fake(a).list_sas() == [] and await fake(b).list_sas() == []

    asyncio.run(main())


def test_first_reload_after_a_start_without_vpns_answers(tmp_path: Path) -> None:
    """A router provisioned empty (e.g. by Ansible) gets its first VPN by a reload."""

    async def main() -> None:
        wire = Wire()
        a = make_daemon(tmp_path, "a", A, "{}\n", wire)
        await seed(a, A)
        await a.start()
        (tmp_path / "a.yaml").write_text(config(local=A, remote=B, vpns={"vpn1": VPN1}))
        message = await asyncio.wait_for(a.reload(), timeout=30)
        assert message.startswith("reloaded: 1 added, 0 removed")
        await a.shutdown()

    asyncio.run(main())
