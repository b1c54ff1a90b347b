"""Kernel events drive the daemon: ACQUIRE (on-traffic) initiates, soft EXPIRE rekeys under the
same tunnel ID, hard EXPIRE removes the child."""

from __future__ import annotations

import asyncio
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

from xfrmctl.daemon.runtime import Daemon
from xfrmctl.keying import transforms as t
from xfrmctl.keying.ikev2.actions import IkeSaRef, InstallChild, Lifetime
from xfrmctl.keying.ikev2.ts import TrafficSelector
from xfrmctl.netlink.fake import FakeKernel

VPN_A = {"unit": 0, "address": "198.18.255.1/30", "route": "198.18.2.0/24"}
VPN_B = {"unit": 0, "address": "198.18.255.2/30", "route": "198.18.1.0/24"}


def fake(d: Daemon) -> FakeKernel:
    assert isinstance(d.kernel, FakeKernel)
    return d.kernel


def children(d: Daemon) -> set[int]:
    return set(d.store.vpns["vpn1"].children)


def test_acquire_then_soft_and_hard_expire(tmp_path: Path) -> None:
    clock = [0.0]

    async def main() -> None:
        wire = Wire()
        text_a = config(local=A, remote=B, vpns={"vpn1": VPN_A}, establish="on-traffic")
        text_b = config(local=B, remote=A, vpns={"vpn1": VPN_B}, establish="on-traffic")
        a = make_daemon(tmp_path, "a", A, text_a, wire, clock=lambda: clock[0])
        b = make_daemon(tmp_path, "b", B, text_b, wire, clock=lambda: clock[0])
        await seed(a, A)
        await seed(b, B)
        await b.start()
        await a.start()
        for _ in range(50):
            await asyncio.sleep(0)
        assert wire.sent == 0  # on-traffic: nothing until traffic shows up
        assert a.store.vpns["vpn1"].down_reason == "Not initiated yet"

        fake(a).trigger_acquire("198.18.1.1", "198.18.2.1")
        await until(lambda: bool(children(a)) and bool(children(b)))
        assert a.store.vpns["vpn1"].nego_count == 1
        first = children(a)
        first_spis = {(s.daddr, s.spi) for s in await fake(a).list_sas()}

        # soft lifetime reached: the kernel's soft EXPIRE makes a rekey, same tunnel
        soft = max(s.lft.soft_add_expires_seconds for s in await fake(a).list_sas())
        clock[0] = float(soft + 1)
        fake(a).tick()
        await until(lambda: bool(children(a)) and children(a).isdisjoint(first)
                    and len(children(a)) == 1 and len(children(b)) == 1)  # fmt: skip
        sas_a = await fake(a).list_sas()
        assert len(sas_a) == 2
        assert {(s.daddr, s.spi) for s in sas_a}.isdisjoint(first_spis)
        [tunnel] = a.store.snapshot(a.now(), a.wall_offset, {}).tunnels
        assert tunnel.tunnel_id == 131073
        assert {sa.spi for sa in tunnel.sas} == {s.spi for s in sas_a}

        # hard lifetime: the kernel drops the SAs itself; the daemon forgets the child
        clock[0] += 3600
        fake(a).tick()
        await until(lambda: not children(a))
        assert await fake(a).list_sas() == []
        assert len(await fake(a).list_policies()) == 3  # on-traffic policies stay for ACQUIRE
        await a.shutdown()
        await b.shutdown()

    asyncio.run(main())


def test_immediately_retries_with_backoff(tmp_path: Path) -> None:
    async def main() -> None:
        wire = Wire()
        wire.cut = True  # the peer never answers
        a = make_daemon(tmp_path, "a", A, config(local=A, remote=B, vpns={"vpn1": VPN_A}), wire)
        await seed(a, A)
        await a.start()
        assert a.store.vpns["vpn1"].nego_count == 1
        delays = []
        for _ in range(7):
            a._schedule_retry(["vpn1"])  # what a failure report does
            retry = a._retry["vpn1"]
            delays.append(retry.delay)
            assert retry.at == a.now() + retry.delay or retry.at > a.now()
            a._schedule_retry(["vpn1"])  # a second report while scheduled changes nothing
            assert a._retry["vpn1"] is retry
            retry.at = a.now()  # due: the timer fires and initiates again
            a._on_timer()
        assert delays == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
        assert a.store.vpns["vpn1"].nego_count == 8
        await a.shutdown()

    asyncio.run(main())


def test_nat_mapping_moves_the_encapsulation_port(tmp_path: Path) -> None:
    async def main() -> None:
        wire = Wire()
        text = config(local=A, remote=B, vpns={"vpn1": VPN_A}, establish="on-traffic")
        a = make_daemon(tmp_path, "a", A, text, wire)
        await seed(a, A)
        await a.start()
        action = InstallChild(
            ike_sa=IkeSaRef(1, 2), child="vpn1", unique_id=1, reqid=1, protocol=3,
            mode="tunnel", spi_in=0xC0000001, spi_out=0xC0000002, local=A, remote=B,
            encr=t.AES256_GCM_16, integ=None, encr_key_in=bytes(36), integ_key_in=b"",
            encr_key_out=bytes(36), integ_key_out=b"", esn=False, replay_window=64,
            local_ts=(TrafficSelector.any(4),), remote_ts=(TrafficSelector.any(4),), if_id=1,
            encap=(4500, 4500), lifetime=Lifetime(3000, 3600), initiator=True, dh_group=None,
        )  # fmt: skip
        await a._install_child(action)
        fake(a).trigger_mapping(A, 0xC0000001, B, 40000)

        async def ports() -> tuple[int, int]:
            inbound = await fake(a).get_sa(A, 0xC0000001)
            outbound = await fake(a).get_sa(B, 0xC0000002)
            assert inbound.encap is not None and outbound.encap is not None
            return inbound.encap.sport, outbound.encap.dport

        for _ in range(200):
            if await ports() == (40000, 40000):
                break
            await asyncio.sleep(0)
        assert await ports() == (40000, 40000)
        [tunnel] = a.store.snapshot(a.now(), a.wall_offset, {}).tunnels
        assert tunnel.port == 40000
        await a.shutdown()

    asyncio.run(main())
