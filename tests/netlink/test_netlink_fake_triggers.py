"""Kernel-side behaviour of the fake: ACQUIRE, soft/hard EXPIRE, MAPPING, counters, overruns."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.netlink.netlink_contract import REQID, gcm_sa, out_policy
from xfrmctl.netlink.codec import (
    Algo,
    AuthTruncAlgo,
    Encap,
    LifetimeCfg,
    Selector,
    XfrmAcquire,
    XfrmExpire,
    XfrmMapping,
)
from xfrmctl.netlink.constants import XfrmMsg
from xfrmctl.netlink.errors import XfrmInvalid, XfrmNotFound
from xfrmctl.netlink.fake import FakeKernel
from xfrmctl.netlink.port import EventsDropped, XfrmEvent


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def drain(events: Any) -> list[Any]:
    out = []
    while True:
        try:
            out.append(events._queue.get_nowait())
        except asyncio.QueueEmpty:
            return out


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_acquire_for_policy_with_template_and_no_sa() -> None:
    async def body() -> None:
        k = FakeKernel()
        events = k.events()
        await k.add_policy(out_policy(if_id=4))
        acq = k.trigger_acquire("198.18.1.10", "198.18.2.20", proto=1)
        assert isinstance(acq, XfrmAcquire)
        assert (acq.daddr, acq.saddr, acq.if_id) == ("192.0.2.2", "192.0.2.1", 4)
        assert acq.sel == Selector.between("198.18.1.10/32", "198.18.2.20/32", proto=1)
        kinds = [e.type for e in drain(events)]
        assert kinds == [XfrmMsg.XFRM_MSG_NEWPOLICY, XfrmMsg.XFRM_MSG_ACQUIRE]
        await k.add_sa(gcm_sa())  # the SA now exists: no further ACQUIRE
        with pytest.raises(XfrmNotFound):
            k.trigger_acquire("198.18.1.10", "198.18.2.20")
        with pytest.raises(XfrmNotFound):
            k.trigger_acquire("198.18.9.1", "198.18.2.20")

    run(body())


def test_soft_then_hard_expire_by_time_and_bytes() -> None:
    async def body() -> None:
        clock = Clock()
        k = FakeKernel(clock=clock)
        events = k.events()
        lft = LifetimeCfg(soft_add_expires_seconds=10, hard_add_expires_seconds=20)
        await k.add_sa(gcm_sa(lft=lft))
        await k.add_sa(gcm_sa(0x1002, lft=LifetimeCfg(soft_byte_limit=100, hard_byte_limit=200)))
        drain(events)
        clock.now += 9
        k.tick()
        assert drain(events) == []
        clock.now += 1
        k.tick()
        k.tick()
        [soft] = drain(events)
        assert isinstance(soft.message, XfrmExpire) and not soft.message.hard
        assert soft.message.state.spi == 0x1001
        clock.now += 10
        k.tick()
        [hard] = drain(events)
        assert isinstance(hard.message, XfrmExpire) and hard.message.hard
        with pytest.raises(XfrmNotFound):
            await k.get_sa("192.0.2.2", 0x1001)
        k.account("192.0.2.2", 0x1002, nbytes=150)
        k.account("192.0.2.2", 0x1002, nbytes=60)
        assert [e.message.hard for e in drain(events)] == [False, True]

    run(body())


def test_counters_follow_traffic() -> None:
    async def body() -> None:
        clock = Clock()
        k = FakeKernel(clock=clock)
        await k.add_sa(gcm_sa(if_id=2))
        clock.now = 1005
        k.account("192.0.2.2", 0x1001, nbytes=84, packets=1)
        k.account("192.0.2.2", 0x1001, nbytes=84, packets=1)
        [c] = await k.sa_counters()
        assert (c.bytes, c.packets, c.add_time, c.use_time, c.lastused) == (
            168,
            2,
            1000,
            1005,
            1005,
        )
        assert (c.if_id, c.reqid) == (2, REQID)

    run(body())


def test_mapping_event_and_dropped_events() -> None:
    async def body() -> None:
        k = FakeKernel()
        events = k.events()
        await k.add_sa(gcm_sa(encap=Encap(2, 4500, 4500)))
        k.trigger_mapping("192.0.2.2", 0x1001, "203.0.113.9", 31000)
        k.drop_events()
        got = drain(events)
        assert isinstance(got[1], XfrmEvent) and isinstance(got[1].message, XfrmMapping)
        m = got[1].message
        assert (m.old_saddr, m.new_saddr, m.old_sport, m.new_sport) == (
            "192.0.2.1",
            "203.0.113.9",
            4500,
            31000,
        )
        assert isinstance(got[2], EventsDropped)

    run(body())


def test_update_of_live_sa_keeps_keys_but_takes_new_encap() -> None:
    async def body() -> None:
        k = FakeKernel()
        await k.add_sa(gcm_sa(encap=Encap(2, 4500, 4500)))
        other = gcm_sa(encap=Encap(2, 4500, 31000))
        assert other.aead is not None
        other.aead.key = bytes(20)
        await k.update_sa(other)
        sa = await k.get_sa("192.0.2.2", 0x1001)
        assert sa.encap == Encap(2, 4500, 31000)
        assert sa.aead is not None and sa.aead.key == bytes(range(20))

    run(body())


def test_integrity_defaults_and_limits() -> None:
    async def body() -> None:
        k = FakeKernel()
        await k.add_sa(
            gcm_sa(aead=None, crypt=Algo("aes", bytes(16)), auth=Algo("sha1", bytes(20)))
        )
        sa = await k.get_sa("192.0.2.2", 0x1001)
        assert sa.crypt is not None and sa.crypt.name == "cbc(aes)"
        assert sa.auth_trunc == AuthTruncAlgo("hmac(sha1)", bytes(20), 96)
        with pytest.raises(XfrmInvalid) as info:
            await k.add_sa(
                gcm_sa(
                    0x1002,
                    aead=None,
                    crypt=Algo("cbc(aes)", bytes(16)),
                    auth_trunc=AuthTruncAlgo("hmac(sha1)", bytes(20), 192),
                )
            )
        assert info.value.field == "hmac(sha1)"

    run(body())


def test_snapshots_do_not_change_behind_the_callers_back() -> None:
    async def body() -> None:
        k = FakeKernel()
        await k.add_sa(gcm_sa())
        before = await k.get_sa("192.0.2.2", 0x1001)
        k.account("192.0.2.2", 0x1001, nbytes=100)
        before.sel.proto = 99  # the caller's copy is its own
        after = await k.get_sa("192.0.2.2", 0x1001)
        assert (before.curlft.bytes, after.curlft.bytes) == (0, 100)
        assert after.sel.proto == 0

    run(body())


def test_snapshots_equal_a_deep_copy_and_share_nothing_mutable() -> None:
    """The fake's structural copy gives what `copy.deepcopy` gives, with no aliasing."""
    import copy  # noqa: PLC0415

    from tests.netlink.netlink_contract import cbc_sa, out_policy  # noqa: PLC0415
    from xfrmctl.netlink.fake import _copy  # noqa: PLC0415

    for obj in (
        gcm_sa(encap=Encap(2, 4500, 4500), lft=LifetimeCfg(soft_byte_limit=5)),
        cbc_sa(sel=Selector("198.18.2.0", "198.18.1.0", prefixlen_d=24, prefixlen_s=24)),
        out_policy(),
    ):
        dup = _copy(obj)
        assert dup == copy.deepcopy(obj) and dup is not obj
        assert dup.sel is not obj.sel
        dup.sel.prefixlen_d = 1
        assert obj.sel.prefixlen_d != 1
