"""The KernelPort contract: one suite, run against the fake here and the real kernel in the VM.

A concrete test class provides ``open_kernel()``: an async context manager yielding
``(port, caps)``. ``caps`` says what the kernel under test can do (ESP states, xfrm
interfaces, VTI); the host kernel without ESP still runs every policy, link and route test.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from xfrmctl.netlink.codec import (
    AeadAlgo,
    Algo,
    AuthTruncAlgo,
    Encap,
    LifetimeCfg,
    Mark,
    ReplayEsn,
    Selector,
    Tmpl,
    XfrmPolicy,
    XfrmState,
)
from xfrmctl.netlink.constants import (
    AF_INET6,
    UDP_ENCAP_ESPINUDP,
    XFRM_INF,
    XFRM_SA_XFLAG_DONT_ENCAP_DSCP,
    XFRM_STATE_AF_UNSPEC,
    XFRM_STATE_ESN,
    XFRM_STATE_NOPMTUDISC,
    XFRMCTL_PRIORITY_MIN,
    XFRMCTL_REQID_MIN,
    XfrmDir,
    XfrmMode,
    XfrmMsg,
)
from xfrmctl.netlink.errors import XfrmExists, XfrmInvalid, XfrmNotFound
from xfrmctl.netlink.port import (
    AddPolicy,
    AddSa,
    DeletePolicy,
    DeleteSa,
    KernelPort,
    PolicyFilter,
    SaFilter,
    XfrmEvent,
)

GCM = "rfc4106(gcm(aes))"
CHACHA = "rfc7539esp(chacha20,poly1305)"
REQID = XFRMCTL_REQID_MIN + 1
OUT = XfrmDir.XFRM_POLICY_OUT
IN = XfrmDir.XFRM_POLICY_IN
FWD = XfrmDir.XFRM_POLICY_FWD


@dataclass(frozen=True)
class Caps:
    esp: bool = True
    xfrmi: bool = True
    vti: bool = True


def gcm_sa(spi: int = 0x1001, **kw: Any) -> XfrmState:
    base: dict[str, Any] = dict(
        daddr="192.0.2.2",
        spi=spi,
        saddr="192.0.2.1",
        reqid=REQID,
        mode=XfrmMode.XFRM_MODE_TUNNEL,
        aead=AeadAlgo(GCM, bytes(range(20)), 128),
    )
    base.update(kw)
    return XfrmState(**base)


def cbc_sa(spi: int = 0x2002, **kw: Any) -> XfrmState:
    base: dict[str, Any] = dict(
        daddr="192.0.2.1",
        spi=spi,
        saddr="192.0.2.2",
        reqid=REQID,
        crypt=Algo("cbc(aes)", bytes(range(16))),
        auth_trunc=AuthTruncAlgo("hmac(sha256)", bytes(range(32)), 128),
    )
    base.update(kw)
    return XfrmState(**base)


def out_policy(src: str = "198.18.1.0/24", dst: str = "198.18.2.0/24", **kw: Any) -> XfrmPolicy:
    fam_v6 = ":" in src
    base: dict[str, Any] = dict(
        sel=Selector.between(src, dst),
        dir=OUT,
        priority=100,
        tmpls=(
            Tmpl(
                daddr="2001:db8::2" if fam_v6 else "192.0.2.2",
                saddr="2001:db8::1" if fam_v6 else "192.0.2.1",
                family=AF_INET6 if fam_v6 else 2,
                reqid=REQID,
            ),
        ),
    )
    base.update(kw)
    return XfrmPolicy(**base)


async def next_event(events: AsyncIterator[Any], want: int) -> XfrmEvent:
    async def scan() -> XfrmEvent:
        async for ev in events:
            if isinstance(ev, XfrmEvent) and ev.type == want:
                return ev
        raise AssertionError("event stream ended")

    return await asyncio.wait_for(scan(), 10)


class KernelContract:
    """Subclasses provide ``open_kernel``; every test runs on a fresh, empty kernel."""

    def open_kernel(self) -> contextlib.AbstractAsyncContextManager[tuple[KernelPort, Caps]]:
        raise NotImplementedError

    def run(self, body: Callable[[KernelPort, Caps], Awaitable[None]]) -> None:
        async def main() -> None:
            async with self.open_kernel() as (port, caps):
                await body(port, caps)

        asyncio.run(main())

    # ------------------------------------------------------------------ SAs

    def test_gcm_sa_reads_back(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            if not caps.esp:
                pytest.skip("kernel without ESP")
            await k.add_sa(gcm_sa(if_id=7, mark=Mark(5, 0xFF), encap=None))
            sa = await k.get_sa("192.0.2.2", 0x1001, mark=Mark(5, 0xFF))
            assert sa.aead == AeadAlgo(GCM, bytes(range(20)), 128)
            assert (sa.saddr, sa.daddr, sa.spi, sa.reqid) == (
                "192.0.2.1",
                "192.0.2.2",
                0x1001,
                REQID,
            )
            assert (sa.mode, sa.family, sa.if_id, sa.mark) == (1, 2, 7, Mark(5, 0xFF))
            assert sa.crypt is None and sa.auth is None

        self.run(body)

    def test_cbc_hmac_sha256_truncation(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            if not caps.esp:
                pytest.skip("kernel without ESP")
            await k.add_sa(cbc_sa())
            sa = await k.get_sa("192.0.2.1", 0x2002)
            assert sa.crypt == Algo("cbc(aes)", bytes(range(16)))
            assert sa.auth_trunc == AuthTruncAlgo("hmac(sha256)", bytes(range(32)), 128)

        self.run(body)

    def test_chacha20_poly1305_ipv6_transport(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            if not caps.esp:
                pytest.skip("kernel without ESP")
            sa = XfrmState(
                daddr="2001:db8::2",
                spi=0x3003,
                saddr="2001:db8::1",
                family=AF_INET6,
                mode=XfrmMode.XFRM_MODE_TRANSPORT,
                reqid=REQID,
                aead=AeadAlgo(CHACHA, bytes(36), 128),
                sel=Selector.between("2001:db8::1/128", "2001:db8::2/128"),
            )
            await k.add_sa(sa)
            got = await k.get_sa("2001:db8::2", 0x3003)
            assert got.aead == AeadAlgo(CHACHA, bytes(36), 128)
            assert (got.mode, got.family, got.saddr) == (0, AF_INET6, "2001:db8::1")
            assert got.sel.src == "2001:db8::1/128" and got.sel.dst == "2001:db8::2/128"

        self.run(body)

    def test_esn_replay_window_1024_lifetimes_encap_marks_flags(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            if not caps.esp:
                pytest.skip("kernel without ESP")
            lft = LifetimeCfg(
                soft_byte_limit=900_000,
                hard_byte_limit=1_000_000,
                soft_add_expires_seconds=3000,
                hard_add_expires_seconds=3600,
            )
            sa = gcm_sa(
                flags=XFRM_STATE_ESN | XFRM_STATE_NOPMTUDISC | XFRM_STATE_AF_UNSPEC,
                replay_esn=ReplayEsn.for_window(1024),
                lft=lft,
                encap=Encap(UDP_ENCAP_ESPINUDP, 4500, 4500),
                set_mark=0x10,
                set_mark_mask=0xFF,
                extra_flags=XFRM_SA_XFLAG_DONT_ENCAP_DSCP,
            )
            await k.add_sa(sa)
            got = await k.get_sa("192.0.2.2", 0x1001)
            assert got.flags & XFRM_STATE_ESN and got.flags & XFRM_STATE_NOPMTUDISC
            assert got.flags & XFRM_STATE_AF_UNSPEC
            assert got.replay_esn is not None and got.replay_esn.replay_window == 1024
            assert len(got.replay_esn.bmp) == 32
            assert got.lft == lft
            assert got.encap == Encap(UDP_ENCAP_ESPINUDP, 4500, 4500, "0.0.0.0")
            assert (got.set_mark, got.set_mark_mask) == (0x10, 0xFF)
            assert got.extra_flags == XFRM_SA_XFLAG_DONT_ENCAP_DSCP

        self.run(body)

    def test_duplicate_and_missing_sa(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            if not caps.esp:
                pytest.skip("kernel without ESP")
            await k.add_sa(gcm_sa())
            with pytest.raises(XfrmExists):
                await k.add_sa(gcm_sa())
            with pytest.raises(XfrmNotFound):
                await k.get_sa("192.0.2.2", 0x9999)
            with pytest.raises(XfrmNotFound):
                await k.delete_sa("192.0.2.2", 0x9999)
            with pytest.raises(XfrmNotFound):
                await k.update_sa(gcm_sa(spi=0x9999))
            await k.delete_sa("192.0.2.2", 0x1001)
            with pytest.raises(XfrmNotFound):
                await k.get_sa("192.0.2.2", 0x1001)

        self.run(body)

    def test_sa_mark_must_match(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            if not caps.esp:
                pytest.skip("kernel without ESP")
            await k.add_sa(gcm_sa(mark=Mark(5, 0xFF)))
            with pytest.raises(XfrmNotFound):
                await k.get_sa("192.0.2.2", 0x1001)
            with pytest.raises(XfrmNotFound):
                await k.delete_sa("192.0.2.2", 0x1001, mark=Mark(6))
            await k.add_sa(gcm_sa(mark=Mark(6, 0xFF)))  # same SPI, other mark: allowed
            await k.delete_sa("192.0.2.2", 0x1001, mark=Mark(5))
            assert (await k.get_sa("192.0.2.2", 0x1001, mark=Mark(6))).mark == Mark(6, 0xFF)

        self.run(body)

    def test_unknown_algorithm_is_named(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            if not caps.esp:
                pytest.skip("kernel without ESP")
            bad = gcm_sa(aead=AeadAlgo("rfc4106(gcm(nosuch))", bytes(20), 128))
            with pytest.raises(XfrmInvalid) as info:
                await k.add_sa(bad)
            assert "rfc4106(gcm(nosuch))" in (info.value.field or "")

        self.run(body)

    def test_bad_key_length_is_invalid(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            if not caps.esp:
                pytest.skip("kernel without ESP")
            with pytest.raises(XfrmInvalid) as info:
                await k.add_sa(gcm_sa(aead=AeadAlgo(GCM, bytes(19), 128)))
            assert GCM in (info.value.field or "")
            with pytest.raises(XfrmInvalid):
                await k.add_sa(cbc_sa(crypt=Algo("cbc(aes)", bytes(15))))

        self.run(body)

    def test_allocspi_then_update(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            spi = await k.alloc_spi(
                src="192.0.2.1", dst="192.0.2.2", reqid=REQID, spi_min=0x1000, spi_max=0x1FFF
            )
            assert 0x1000 <= spi <= 0x1FFF
            larval = await k.get_sa("192.0.2.2", spi)
            assert (larval.reqid, larval.crypt, larval.aead) == (REQID, None, None)
            assert [s.spi for s in await k.list_sas(SaFilter(reqid=REQID))] == [spi]
            if not caps.esp:
                return
            await k.update_sa(gcm_sa(spi=spi))
            got = await k.get_sa("192.0.2.2", spi)
            assert got.aead == AeadAlgo(GCM, bytes(range(20)), 128)

        self.run(body)

    def test_dump_filters_and_counters(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            if not caps.esp:
                pytest.skip("kernel without ESP")
            await k.add_sa(gcm_sa(0x1001, if_id=1))
            await k.add_sa(gcm_sa(0x1002, if_id=2, reqid=REQID + 1))
            await k.add_sa(cbc_sa(0x1003, mark=Mark(9)))
            assert {s.spi for s in await k.list_sas()} == {0x1001, 0x1002, 0x1003}
            assert [s.spi for s in await k.list_sas(SaFilter(if_id=2))] == [0x1002]
            assert [s.spi for s in await k.list_sas(SaFilter(reqid=REQID + 1))] == [0x1002]
            assert [s.spi for s in await k.list_sas(SaFilter(mark=Mark(9)))] == [0x1003]
            assert [s.spi for s in await k.list_sas(SaFilter(dst="192.0.2.1"))] == [0x1003]
            counters = {c.spi: c for c in await k.sa_counters()}
            assert set(counters) == {0x1001, 0x1002, 0x1003}
            c = counters[0x1002]
            assert (c.bytes, c.packets, c.if_id, c.reqid, c.daddr) == (
                0,
                0,
                2,
                REQID + 1,
                "192.0.2.2",
            )

        self.run(body)

    def test_batched_sa_errors_match_their_requests(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            if not caps.esp:
                pytest.skip("kernel without ESP")
            ops: list[Any] = [AddSa(gcm_sa(0x100 + i)) for i in range(300)]
            ops.insert(150, AddSa(gcm_sa(0x100)))  # duplicate in the middle
            ops.append(DeleteSa("192.0.2.2", 0xDEAD))
            results = await k.apply(ops)
            assert [i for i, r in enumerate(results) if r is not None] == [150, 301]
            assert isinstance(results[150], XfrmExists)
            assert isinstance(results[301], XfrmNotFound)
            assert len(await k.list_sas()) == 300

        self.run(body)

    # ------------------------------------------------------------------ policies

    def test_policy_reads_back(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            await k.add_policy(out_policy(if_id=7, mark=Mark(5, 0xFF)))
            p = await k.get_policy(
                Selector.between("198.18.1.0/24", "198.18.2.0/24"), OUT, mark=Mark(5, 0xFF), if_id=7
            )
            assert (p.sel.src, p.sel.dst, p.dir, p.priority, p.action) == (
                "198.18.1.0/24",
                "198.18.2.0/24",
                OUT,
                100,
                0,
            )
            assert p.tmpls == out_policy().tmpls
            assert (p.if_id, p.mark) == (7, Mark(5, 0xFF))
            assert p.index & 7 == OUT and p.index > 0
            assert p.lft.hard_byte_limit == XFRM_INF

        self.run(body)

    def test_policy_identity_rules(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            await k.add_policy(out_policy())
            with pytest.raises(XfrmExists):
                await k.add_policy(out_policy())
            with pytest.raises(XfrmExists):  # priority is not part of a policy's identity
                await k.add_policy(out_policy(priority=5))
            await k.add_policy(out_policy(if_id=3))
            await k.add_policy(out_policy(mark=Mark(1)))
            await k.add_policy(out_policy(dir=FWD))
            assert len(await k.list_policies()) == 4
            with pytest.raises(XfrmNotFound):
                await k.get_policy(Selector.between("198.18.9.0/24", "198.18.2.0/24"), OUT)
            with pytest.raises(XfrmNotFound):
                await k.delete_policy(out_policy().sel, IN)
            with pytest.raises(XfrmNotFound):  # if_id must match exactly
                await k.delete_policy(out_policy().sel, OUT, if_id=4)
            await k.delete_policy(out_policy().sel, OUT, if_id=3)
            await k.delete_policy(out_policy().sel, OUT, mark=Mark(1))
            assert len(await k.list_policies()) == 2

        self.run(body)

    def test_update_policy_replaces_or_creates(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            await k.update_policy(out_policy(priority=10))
            first = await k.get_policy(out_policy().sel, OUT)
            await k.update_policy(out_policy(priority=20, action=1, tmpls=None))
            second = await k.get_policy(out_policy().sel, OUT)
            assert (second.priority, second.action, second.tmpls) == (20, 1, None)
            assert second.index == first.index
            assert len(await k.list_policies()) == 1

        self.run(body)

    def test_ipv6_policy_and_filters(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            await k.add_policy(out_policy("2001:db8:1::/48", "2001:db8:2::/48", if_id=1))
            await k.add_policy(out_policy(dir=IN, if_id=1, tmpls=None))
            await k.add_policy(out_policy("198.18.3.0/24", "198.18.4.0/24", if_id=2))
            v6 = await k.get_policy(
                Selector.between("2001:db8:1::/48", "2001:db8:2::/48"), OUT, if_id=1
            )
            assert v6.tmpls is not None and v6.tmpls[0].daddr == "2001:db8::2"
            assert len(await k.list_policies(PolicyFilter(if_id=1))) == 2
            assert len(await k.list_policies(PolicyFilter(dir=IN))) == 1
            assert len(await k.list_policies(PolicyFilter(reqid=REQID))) == 2

        self.run(body)

    def test_invalid_policy(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            bad = out_policy(sel=Selector("198.18.1.0", "198.18.2.0", family=2, prefixlen_d=40))
            with pytest.raises(XfrmInvalid):
                await k.add_policy(bad)
            with pytest.raises(XfrmInvalid):
                await k.add_policy(out_policy(dir=7))

        self.run(body)

    def test_batched_policies(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            ops: list[Any] = [
                AddPolicy(out_policy(f"198.18.{i}.0/24", "198.18.255.0/24")) for i in range(200)
            ]
            ops.insert(3, AddPolicy(out_policy("198.18.0.0/24", "198.18.255.0/24")))
            ops.append(DeletePolicy(out_policy().sel, IN))
            results = await k.apply(ops)
            assert [i for i, r in enumerate(results) if r is not None] == [3, 201]
            assert isinstance(results[3], XfrmExists) and isinstance(results[201], XfrmNotFound)
            assert len(await k.list_policies()) == 200

        self.run(body)

    def test_flush_owned_leaves_foreign_entries(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            foreign_tmpl = (Tmpl(daddr="192.0.2.2", saddr="192.0.2.1", reqid=42),)
            await k.add_policy(out_policy())  # owned by reqid
            await k.add_policy(out_policy(dir=IN, tmpls=None, priority=XFRMCTL_PRIORITY_MIN))
            await k.add_policy(out_policy(dir=FWD, tmpls=foreign_tmpl))
            await k.alloc_spi(src="192.0.2.1", dst="192.0.2.2", reqid=REQID)
            await k.alloc_spi(src="192.0.2.1", dst="192.0.2.2", reqid=42)
            sas, pols = await k.flush_owned()
            assert (sas, pols) == (1, 2)
            left = await k.list_policies()
            assert [(p.dir, p.tmpls) for p in left] == [(FWD, foreign_tmpl)]
            assert [s.reqid for s in await k.list_sas()] == [42]

        self.run(body)

    def test_policy_events(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            events = k.events()
            await k.add_policy(out_policy(if_id=9))
            ev = await next_event(events, XfrmMsg.XFRM_MSG_NEWPOLICY)
            assert isinstance(ev.message, XfrmPolicy) and ev.message.if_id == 9
            await k.delete_policy(out_policy().sel, OUT, if_id=9)
            ev = await next_event(events, XfrmMsg.XFRM_MSG_DELPOLICY)
            assert getattr(ev.message, "dir", None) == OUT

        self.run(body)

    def test_sa_events(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            if not caps.esp:
                pytest.skip("kernel without ESP")
            events = k.events()
            await k.add_sa(gcm_sa(if_id=3))
            ev = await next_event(events, XfrmMsg.XFRM_MSG_NEWSA)
            assert isinstance(ev.message, XfrmState) and ev.message.spi == 0x1001
            await k.delete_sa("192.0.2.2", 0x1001)
            ev = await next_event(events, XfrmMsg.XFRM_MSG_DELSA)
            assert getattr(ev.message, "spi", None) == 0x1001

        self.run(body)

    # ------------------------------------------------------------------ links and routes

    def test_xfrm_interface_lifecycle(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            if not caps.xfrmi:
                pytest.skip("kernel without xfrm interfaces")
            link = await k.add_xfrm_interface("st0.0", 10, underlying="eth0")
            assert (link.name, link.kind, link.if_id) == ("st0.0", "xfrm", 10)
            with pytest.raises(XfrmExists):
                await k.add_xfrm_interface("st0.0", 11)
            link = await k.change_xfrm_interface("st0.0", up=True, mtu=1400)
            assert (link.up, link.mtu) == (True, 1400)
            assert [x.name for x in await k.list_links("xfrm")] == ["st0.0"]
            await k.add_address("st0.0", "198.18.255.1/24")
            assert "198.18.255.1/24" in await k.list_addresses("st0.0")
            await k.delete_link("st0.0")
            assert await k.list_links("xfrm") == []
            with pytest.raises(XfrmNotFound):
                await k.delete_link("st0.0")

        self.run(body)

    def test_vti(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            if not caps.vti:
                pytest.skip("kernel without VTI")
            link = await k.add_vti("vti1", local="192.0.2.1", remote="192.0.2.2", ikey=5, okey=6)
            assert (link.kind, link.local, link.remote, link.ikey, link.okey) == (
                "vti",
                "192.0.2.1",
                "192.0.2.2",
                5,
                6,
            )
            await k.delete_link("vti1")

        self.run(body)

    def test_addresses_and_routes(self) -> None:
        async def body(k: KernelPort, caps: Caps) -> None:
            watch = k.route_events()
            await k.add_address("eth0", "192.0.2.1/24")
            with pytest.raises(XfrmExists):
                await k.add_address("eth0", "192.0.2.1/24")
            await k.add_route("198.18.2.0/24", dev="eth0", via="192.0.2.2")
            with pytest.raises(XfrmExists):
                await k.add_route("198.18.2.0/24", dev="eth0", via="192.0.2.2")
            routes = await k.list_routes(proto=88)
            assert [(r.dst, r.dev, r.via, r.proto) for r in routes] == [
                ("198.18.2.0/24", "eth0", "192.0.2.2", 88)
            ]

            async def added() -> Any:
                async for ev in watch:
                    if ev.added and ev.route.dst == "198.18.2.0/24":
                        return ev

            ev = await asyncio.wait_for(added(), 10)
            assert (ev.route.via, ev.route.dev, ev.route.proto) == ("192.0.2.2", "eth0", 88)
            await k.delete_route("198.18.2.0/24", dev="eth0")
            with pytest.raises(XfrmNotFound):
                await k.delete_route("198.18.2.0/24", dev="eth0")
            await k.delete_address("eth0", "192.0.2.1/24")
            with pytest.raises(XfrmNotFound):
                await k.delete_address("eth0", "192.0.2.1/24")
            with pytest.raises(XfrmNotFound):
                await k.add_address("nosuch0", "192.0.2.9/24")

        self.run(body)
