"""IKEv1 gateways in the daemon: two in-process daemons on fake kernels run real main mode,
aggressive mode and quick mode exchanges; exact kernel objects, `show` state and shutdown.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path

from daemon_harness import (  # type: ignore[import-not-found, unused-ignore]
    A,
    B,
    Wire,
    config,
    make_daemon,
    seed,
    until,
)

from xfrmctl.cli.render.ike import render_ike_sa_detail
from xfrmctl.daemon.runtime import Daemon
from xfrmctl.dpd import DownReason, PeerDead
from xfrmctl.netlink.constants import XFRMCTL_REQID_MIN, XfrmDir
from xfrmctl.netlink.fake import FakeKernel
from xfrmctl.state.model import Snapshot
from xfrmctl.state.query import IkeSaView

GOLDEN = Path(__file__).parent.parent / "cli" / "golden"
VPN_A = {"unit": 0, "address": "198.18.255.1/30", "route": "198.18.2.0/24"}
VPN_B = {"unit": 0, "address": "198.18.255.2/30", "route": "198.18.1.0/24"}
# seed 000: pre-shared keys, 3DES/SHA1, DH group 2, 1800 s; ESP 3DES/HMAC-SHA1
SEED000_IKE = {"dh-group": "group2", "authentication-algorithm": "sha1",
               "encryption-algorithm": "3des-cbc", "lifetime-seconds": "1800"}  # fmt: skip
SEED000_ESP = {"encryption-algorithm": "3des-cbc", "authentication-algorithm": "hmac-sha1-96"}
MODERN_IKE = {"dh-group": "group14", "authentication-algorithm": "sha-256",
              "encryption-algorithm": "aes-256-cbc"}  # fmt: skip
MODERN_ESP = {"encryption-algorithm": "aes-256-cbc",
              "authentication-algorithm": "hmac-sha-256-128"}  # fmt: skip


def fake(d: Daemon) -> FakeKernel:
    assert isinstance(d.kernel, FakeKernel)
    return d.kernel


def snap(d: Daemon) -> Snapshot:
    return d.snapshot()


def up(d: Daemon, vpn: str) -> bool:
    rec = d.store.vpns.get(vpn)
    return rec is not None and bool(rec.children)


async def pair(
    tmp: Path,
    *,
    mode: str = "main",
    ike: dict[str, str] = SEED000_IKE,
    esp: dict[str, str] = SEED000_ESP,
    version_b: str = "v1-only",
) -> tuple[Daemon, Daemon, Wire]:
    wire = Wire()
    text_a = config(local=A, remote=B, vpns={"vpn1": {**VPN_A, "esp": esp}}, ike=ike,
                    version="v1-only", mode=mode)  # fmt: skip
    text_b = config(local=B, remote=A, vpns={"vpn1": {**VPN_B, "esp": esp}}, ike=ike,
                    version=version_b, mode=mode, establish="on-traffic")  # fmt: skip
    a = make_daemon(tmp, "a", A, text_a, wire)
    b = make_daemon(tmp, "b", B, text_b, wire)
    await seed(a, A)
    await seed(b, B)
    await b.start()
    await a.start()
    return a, b, wire


def test_main_mode_seed000_exact_kernel_state_show_and_shutdown(tmp_path: Path) -> None:
    async def main() -> None:
        a, b, _ = await pair(tmp_path)
        await until(lambda: up(a, "vpn1") and up(b, "vpn1"))
        ka, kb = fake(a), fake(b)
        sas_a, sas_b = await ka.list_sas(), await kb.list_sas()
        assert len(sas_a) == 2 and len(sas_b) == 2
        inbound = next(s for s in sas_a if s.daddr == A)
        outbound = next(s for s in sas_a if s.daddr == B)
        peer_out = next(s for s in sas_b if s.spi == inbound.spi)
        assert (peer_out.saddr, peer_out.daddr) == (B, A)
        assert inbound.crypt is not None and peer_out.crypt is not None
        assert inbound.crypt.name == "cbc(des3_ede)" and len(inbound.crypt.key) == 24
        assert peer_out.crypt.key == inbound.crypt.key
        assert inbound.auth_trunc is not None and inbound.auth_trunc.name == "hmac(sha1)"
        assert inbound.auth_trunc.trunc_len == 96
        assert inbound.if_id == outbound.if_id == 1
        assert inbound.reqid == outbound.reqid == XFRMCTL_REQID_MIN + 1
        assert inbound.encap is None
        assert inbound.lft.hard_add_expires_seconds == 3600
        pols = await ka.list_policies()
        assert sorted((p.dir, p.sel.src, p.sel.dst, p.if_id) for p in pols) == [
            (int(XfrmDir.XFRM_POLICY_IN), "0.0.0.0/0", "0.0.0.0/0", 1),
            (int(XfrmDir.XFRM_POLICY_OUT), "0.0.0.0/0", "0.0.0.0/0", 1),
            (int(XfrmDir.XFRM_POLICY_FWD), "0.0.0.0/0", "0.0.0.0/0", 1),
        ]
        assert [(r.dst, r.dev) for r in await ka.list_routes()] == [("198.18.2.0/24", "st0.0")]

        s = snap(a)
        [ike] = s.ike_security_associations
        assert (ike.exchange_type, ike.role, ike.state) == ("Main", "Initiator", "UP")
        assert (ike.local_address, ike.local_port, ike.remote_address, ike.remote_port) == (
            A, 500, B, 500
        )  # fmt: skip
        assert ike.authentication_method == "Pre-shared-keys"
        algorithms = (ike.authentication_algorithm, ike.encryption_algorithm, ike.prf_algorithm)
        assert algorithms == ("hmac-sha1-96", "3des-cbc", "hmac-sha1")
        assert ike.dh_group == "DH-group-2"
        assert ike.lifetime == 1800 and 0 < ike.lifetime_remaining <= 1800
        assert ike.peer_ike_id == B
        assert ike.phase2_negotiations_in_progress == 0 and ike.negotiations == ()
        assert ike.ipsec_sas_created == 1
        [ike_b] = snap(b).ike_security_associations
        assert (ike_b.exchange_type, ike_b.role) == ("Main", "Responder")
        assert (ike_b.initiator_cookie, ike_b.responder_cookie) == (
            ike.initiator_cookie, ike.responder_cookie
        )  # fmt: skip
        [tunnel] = s.tunnels
        assert tunnel.version == "IKEv1" and tunnel.tunnel_id == 131073
        assert [(sa.direction, sa.spi) for sa in tunnel.sas] == [
            ("inbound", inbound.spi), ("outbound", outbound.spi)
        ]  # fmt: skip
        assert tunnel.sas[0].algorithm == "ESP:3des/sha1"
        assert tunnel.local_identity == "ipv4_subnet(any:0,[0..7]=0.0.0.0/0)"
        # b, the responder, prints seed 000's detail layout line for line with its own values
        seed = (GOLDEN / "ike_sa_detail_seed000.txt").read_text().splitlines()
        seed = seed[: seed.index("  Phase 2 negotiations in progress: 0") + 1]
        own = {  # the seed's value -> ours (the counters keep their column)
               "212.45.64.2": A, "192.168.179.2": B, "5957443": str(ike_b.index),
               "gw-hub": "GW", "4ede589f52cef9c9": ike_b.initiator_cookie,
               "8c9d70cb3a4ce3f2": ike_b.responder_cookie,
               "560 seconds": f"{ike_b.lifetime_remaining} seconds",
               "  6460": "     0", "  6400": "     0", ":                   73": f":{0:>21}",
               ":                   74": f":{0:>21}", "0 created": "1 created"}
        want = []
        for line in seed:
            text = line
            for theirs, mine in own.items():
                text = text.replace(theirs, mine)
            want.append(text)
        assert render_ike_sa_detail(IkeSaView(ike_security_associations=(ike_b,))) == want

        await a.shutdown()
        assert await ka.list_sas() == [] and await ka.list_policies() == []
        # the delete informationals reached b: its SAs of the tunnel went too
        await until(lambda: not up(b, "vpn1"))
        assert await kb.list_sas() == []
        await b.shutdown()

    asyncio.run(main())


def test_aggressive_mode_modern_suite(tmp_path: Path) -> None:
    async def main() -> None:
        a, b, _ = await pair(tmp_path, mode="aggressive", ike=MODERN_IKE, esp=MODERN_ESP)
        await until(lambda: up(a, "vpn1") and up(b, "vpn1"))
        [ike] = snap(a).ike_security_associations
        assert (ike.exchange_type, ike.role) == ("Aggressive", "Initiator")
        assert (ike.encryption_algorithm, ike.prf_algorithm, ike.dh_group) == (
            "aes-cbc (256 bits)", "hmac-sha256", "DH-group-14"
        )  # fmt: skip
        assert ike.lifetime == 28800
        [ike_b] = snap(b).ike_security_associations
        assert (ike_b.exchange_type, ike_b.role) == ("Aggressive", "Responder")
        sas_a = await fake(a).list_sas()
        inbound = next(s for s in sas_a if s.daddr == A)
        assert inbound.crypt is not None and inbound.crypt.name == "cbc(aes)"
        assert len(inbound.crypt.key) == 32
        assert inbound.auth_trunc is not None and inbound.auth_trunc.name == "hmac(sha256)"
        assert inbound.auth_trunc.trunc_len == 128
        [tunnel] = snap(b).tunnels
        assert tunnel.version == "IKEv1" and tunnel.sas[0].algorithm == "ESP:aes-256/sha256"
        await a.shutdown()
        await b.shutdown()

    asyncio.run(main())


def test_a_version_the_gateway_is_not_configured_for_is_dropped(tmp_path: Path) -> None:
    """No fallback (spec §1.2): a v2-only responder drops the v1 initiator's main mode."""

    async def main() -> None:
        a, b, wire = await pair(tmp_path, version_b="v2-only")
        await until(lambda: wire.sent >= 1)
        for _ in range(50):
            await asyncio.sleep(0)
        assert b.engine is not None
        assert b.engine.counters == {"dropped: IKEv1 from a gateway not configured for it": 1}
        assert b.engine.v2.counters == {} and b.store.ike == {}
        assert not up(a, "vpn1") and await fake(b).list_sas() == []
        await a.shutdown()
        await b.shutdown()

    asyncio.run(main())


def test_nat_keepalive_every_interval_while_behind_a_nat(tmp_path: Path) -> None:
    """`nat-keepalive` (default 5 s): one 0xff datagram per interval to each IKE SA's peer for
    which NAT detection found us behind a NAT; none for the others."""

    async def main() -> None:
        a, b, wire = await pair(tmp_path)
        await until(lambda: up(a, "vpn1") and up(b, "vpn1"))
        [rec] = a.store.ike.values()
        t0 = rec.info.established_at
        a.nat_keepalive_tick(t0 + 10)
        assert wire.keepalives == []  # not behind a NAT
        rec.info = dataclasses.replace(rec.info, local=(A, 4500), remote=(B, 4500),
                                       nat_local=True)  # fmt: skip
        for dt in (4.9, 5.0, 7.0, 9.9, 10.0):
            a.nat_keepalive_tick(t0 + dt)
        assert wire.keepalives == [((A, 4500), (B, 4500))] * 2
        await a.shutdown()
        await b.shutdown()

    asyncio.run(main())


def test_quick_mode_in_progress_is_listed_under_its_isakmp_sa(tmp_path: Path) -> None:
    """`Phase 2 negotiations in progress` and one block per unanswered quick mode."""

    async def main() -> None:
        a, b, wire = await pair(tmp_path)
        await until(lambda: up(a, "vpn1") and up(b, "vpn1"))
        assert a.engine is not None
        [uid] = a.store.vpns["vpn1"].children
        wire.cut = True
        a._enqueue(a.engine.v1.rekey_child(uid, a.now()))
        [ike] = snap(a).ike_security_associations
        assert ike.phase2_negotiations_in_progress == 1
        [neg] = ike.negotiations
        [isakmp] = a.engine.v1.sas.values()
        [quick] = [q for q in isakmp.quick.values() if q.keys is None]
        assert (neg.negotiation_type, neg.role, neg.message_id) == (
            "Quick mode", "Initiator", quick.message_id
        )  # fmt: skip
        assert (neg.local_address, neg.local_port, neg.remote_address, neg.remote_port) == (
            A, 500, B, 500
        )  # fmt: skip
        assert neg.local_identity == neg.remote_identity == "ipv4_subnet(any:0,[0..7]=0.0.0.0/0)"
        assert neg.flags == ("Caller notification sent", "Waiting for done")
        [ike_b] = snap(b).ike_security_associations
        assert ike_b.phase2_negotiations_in_progress == 0 and ike_b.negotiations == ()
        wire.cut = False
        await a.shutdown()
        await b.shutdown()

    asyncio.run(main())


def test_aggressive_mode_dynamic_peer_identified_by_fqdn_and_email(tmp_path: Path) -> None:
    """Spec §1.2/§2.4: a dial-up peer (`dynamic hostname` / `user-at-hostname`) is found by the
    IKE ID of aggressive mode's first message; its policies come with its first child SA."""

    async def main() -> None:
        for kind, value in (("hostname", "spoke.example.net"),
                            ("user-at-hostname", "spoke@example.net")):  # fmt: skip
            wire = Wire()
            text_a = json.loads(config(local=A, remote=B, vpns={"vpn1": {**VPN_A,
                                "esp": SEED000_ESP}}, ike=SEED000_IKE, version="v1-only",
                                mode="aggressive"))  # fmt: skip
            text_a["security"]["ike"]["gateway"]["GW"]["local-identity"] = {kind: value}
            text_b = json.loads(config(local=B, remote=A, vpns={"vpn1": {**VPN_B,
                                "esp": SEED000_ESP}}, ike=SEED000_IKE, version="v1-only",
                                mode="aggressive", establish="on-traffic"))  # fmt: skip
            gw_b = text_b["security"]["ike"]["gateway"]["GW"]
            del gw_b["address"]
            gw_b["dynamic"] = {kind: value}
            work = tmp_path / kind
            work.mkdir()
            a = make_daemon(work, "a", A, json.dumps(text_a), wire)
            b = make_daemon(work, "b", B, json.dumps(text_b), wire)
            await seed(a, A)
            await seed(b, B)
            await b.start()
            assert await fake(b).list_policies() == []  # no peer address yet
            await a.start()
            await until(lambda a=a, b=b: up(a, "vpn1") and up(b, "vpn1"))
            [ike_b] = snap(b).ike_security_associations
            assert (ike_b.exchange_type, ike_b.role, ike_b.peer_ike_id) == (
                "Aggressive", "Responder", value
            )  # fmt: skip
            assert ike_b.remote_address == A
            pols = await fake(b).list_policies()
            out = next(p for p in pols if p.dir == XfrmDir.XFRM_POLICY_OUT)
            assert out.tmpls is not None and (out.tmpls[0].saddr, out.tmpls[0].daddr) == (B, A)
            [tunnel] = snap(b).tunnels
            assert tunnel.remote_gateway == A and tunnel.version == "IKEv1"
            await a.shutdown()
            await b.shutdown()

    asyncio.run(main())


def test_phase1_and_phase2_rekey_independently(tmp_path: Path) -> None:
    """Spec §3.5: a phase-1 rekey leaves the IPsec SAs as they are (same SPIs, same kernel
    states); a soft EXPIRE of the phase-2 SA brings a new pair by quick mode and the old goes."""

    async def main() -> None:
        a, b, _ = await pair(tmp_path)
        await until(lambda: up(a, "vpn1") and up(b, "vpn1"))
        assert a.engine is not None
        before = sorted((s.daddr, s.spi) for s in await fake(a).list_sas())
        [old_ref] = a.store.ike
        a._enqueue(a.engine.v1.rekey_ike(old_ref, a.now()))
        await until(lambda: len(a.store.ike) == 1 and old_ref not in a.store.ike)
        await a.wait_idle()
        [new_ref] = a.store.ike
        assert a.store.ike[new_ref].exchange_type == "Main"
        assert sorted((s.daddr, s.spi) for s in await fake(a).list_sas()) == before
        [child] = a.store.vpns["vpn1"].children.values()
        assert child.ike_sa == new_ref
        await until(lambda: len(b.store.ike) == 1 and old_ref not in b.store.ike)

        def spis_in(d: Daemon) -> list[int]:
            return [c.spi_in for c in d.store.vpns["vpn1"].children.values()]

        a._enqueue(a.engine.child_expired(child.spi_in, False, a.now()))
        await until(lambda: len(spis_in(a)) == 1 and spis_in(a) != [child.spi_in])
        # b drops its old pair on our delete
        await until(lambda: len(spis_in(b)) == 1 and spis_in(b) != [child.spi_out])
        await a.wait_idle()
        [fresh] = a.store.vpns["vpn1"].children.values()
        after = sorted((s.daddr, s.spi) for s in await fake(a).list_sas())
        assert after == sorted([(A, fresh.spi_in), (B, fresh.spi_out)])
        assert fresh.ike_sa == new_ref
        await a.shutdown()
        await b.shutdown()

    asyncio.run(main())


def test_dpd_verdict_is_the_tunnels_down_reason(tmp_path: Path) -> None:
    """The quick mode SA fails because its ISAKMP SA went: the tunnel keeps DPD's reason."""

    async def main() -> None:
        a, b, wire = await pair(tmp_path, ike=MODERN_IKE, esp=MODERN_ESP)
        await until(lambda: up(a, "vpn1") and up(b, "vpn1"))
        [ref] = [r for r in a.store.ike]
        wire.cut = True
        a._dpd_peers[ref] = "GW"  # as if `dead-peer-detection` were configured
        a.dpd_actions([PeerDead(ref, DownReason.PEER_NOT_RESPONDING, a.now() + 60, 0.0)])
        await until(lambda: not up(a, "vpn1"))
        [inactive] = snap(a).inactive_tunnels
        assert inactive.tunnel_down_reason == "Peer is not responding"
        await a.shutdown()
        await b.shutdown()

    asyncio.run(main())
