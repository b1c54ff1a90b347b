"""The KernelPort contract against this machine's kernel, in a throwaway network namespace.

The host kernel has XFRM policies but no ESP states, xfrm interfaces or VTI: those tests skip
here and run in the lab VM (integration/tests/test_netlink_contract.py).
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tests.netlink.netlink_contract import Caps, KernelContract
from tests.netlink.netlink_real import can_make_netns, real_kernel
from xfrmctl.netlink.kernel import NetlinkKernel
from xfrmctl.netlink.port import KernelPort

pytestmark = pytest.mark.skipif(not can_make_netns(), reason="needs root and iproute2")


class TestHostKernelContract(KernelContract):
    def open_kernel(self) -> contextlib.AbstractAsyncContextManager[tuple[KernelPort, Caps]]:
        return real_kernel()


def test_device_lookups_leave_no_message_behind() -> None:
    """Each device lookup (every address, route and interface change makes one) left the
    kernel's ACK in pyroute2's queue of unsolicited messages for the daemon's life."""

    async def body() -> int:
        async with real_kernel() as (k, _):
            assert isinstance(k, NetlinkKernel)
            for i in range(50):
                await k.add_address("eth0", f"198.18.0.{i + 1}/32")
                await k.delete_address("eth0", f"198.18.0.{i + 1}/32")
            await asyncio.sleep(0.05)  # an ACK still in the socket arrives
            await k.add_address("eth0", "198.18.1.1/32")
            return int(k._links._ipr.msg_queue.root.qsize())

    assert asyncio.run(body()) <= 1  # at most the last lookup's ACK, dropped by the next one
