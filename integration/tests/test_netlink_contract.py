"""The KernelPort contract (tests/netlink/netlink_contract.py) against the lab VM's kernel.

Here every test must run: the VM kernel has ESP, xfrm interfaces and VTI, so nothing may skip.
"""

from __future__ import annotations

import asyncio
import contextlib

from tests.netlink.netlink_contract import Caps, KernelContract
from tests.netlink.netlink_real import real_kernel
from xfrmctl.netlink.port import KernelPort


class TestVmKernelContract(KernelContract):
    def open_kernel(self) -> contextlib.AbstractAsyncContextManager[tuple[KernelPort, Caps]]:
        return real_kernel()


def test_vm_kernel_offers_everything_the_contract_needs() -> None:
    async def main() -> Caps:
        async with real_kernel() as (_port, caps):
            return caps

    assert asyncio.run(main()) == Caps(esp=True, xfrmi=True, vti=True)
