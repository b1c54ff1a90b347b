"""The fake's indexed policy store: the kernel's search order and identity rules over many
policies, indexes never reused while in use, and snapshots that never alias the store."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from tests.netlink.netlink_contract import out_policy
from xfrmctl.netlink.codec import Mark, Selector
from xfrmctl.netlink.errors import XfrmExists, XfrmNotFound
from xfrmctl.netlink.fake import FakeKernel

OUT = 1


def prefix(i: int) -> str:
    return f"{ipaddress.IPv4Address('10.0.0.0') + 256 * i}/24"


def test_many_policies_keep_priority_then_insertion_order() -> None:
    async def body() -> None:
        k = FakeKernel()
        for i in range(300):  # priorities 0, 1, 2 interleaved
            await k.add_policy(out_policy("0.0.0.0/0", prefix(i), priority=i % 3, if_id=5))
        got = [(p.priority, p.sel.daddr) for p in await k.list_policies()]
        want = sorted((i % 3, i) for i in range(300))
        assert got == [(pr, prefix(i).split("/")[0]) for pr, i in want]
        indexes = [p.index for p in await k.list_policies()]
        assert len(set(indexes)) == 300 and all(x & 7 == OUT for x in indexes)

        # an update moves the policy to the end of its new priority, keeping its index
        sel = Selector.between("0.0.0.0/0", prefix(0))
        before = await k.get_policy(sel, OUT, if_id=5)
        await k.update_policy(out_policy("0.0.0.0/0", prefix(0), priority=1, if_id=5))
        after = await k.get_policy(sel, OUT, if_id=5)
        assert after.index == before.index
        ones = [p.sel.daddr for p in await k.list_policies() if p.priority == 1]
        assert ones[-1] == "10.0.0.0" and len(ones) == 101

        # identity: same selector, direction, if_id and mark; priority does not count
        with pytest.raises(XfrmExists):
            await k.add_policy(out_policy("0.0.0.0/0", prefix(7), priority=9, if_id=5))
        await k.add_policy(out_policy("0.0.0.0/0", prefix(7), if_id=5, mark=Mark(1)))
        for i in range(0, 300, 2):
            await k.delete_policy(Selector.between("0.0.0.0/0", prefix(i)), OUT, if_id=5)
        with pytest.raises(XfrmNotFound):
            await k.delete_policy(Selector.between("0.0.0.0/0", prefix(0)), OUT, if_id=5)
        with pytest.raises(XfrmNotFound):  # if_id is part of the identity
            await k.get_policy(Selector.between("0.0.0.0/0", prefix(1)), OUT, if_id=6)
        assert len(await k.list_policies()) == 151

        # new policies never take an index still in use
        for i in range(300, 400):
            await k.add_policy(out_policy("0.0.0.0/0", prefix(i), if_id=5))
        indexes = [p.index for p in await k.list_policies()]
        assert len(indexes) == len(set(indexes)) == 251

    asyncio.run(body())


def test_policy_snapshots_do_not_alias_the_store() -> None:
    async def body() -> None:
        k = FakeKernel()
        await k.add_policy(out_policy(if_id=5, mark=Mark(3, 0xFF)))
        [mine] = await k.list_policies()
        assert mine.tmpls is not None and mine.mark is not None
        mine.sel.daddr = "198.18.9.0"
        mine.tmpls[0].reqid = 999
        mine.mark.v = 4
        mine.lft.hard_byte_limit = 1
        [again] = await k.list_policies()
        assert again.sel.daddr == "198.18.2.0"
        assert again.tmpls is not None and again.tmpls[0].reqid != 999
        assert again.mark == Mark(3, 0xFF)
        assert again.lft.hard_byte_limit != 1

    asyncio.run(body())
