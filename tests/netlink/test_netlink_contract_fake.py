"""The KernelPort contract against the in-memory fake kernel."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from tests.netlink.netlink_contract import (
    Caps,
    KernelContract,
)
from xfrmctl.netlink.fake import FakeKernel
from xfrmctl.netlink.port import KernelPort


class TestFakeKernelContract(KernelContract):
    @contextlib.asynccontextmanager
    async def open_kernel(self) -> AsyncIterator[tuple[KernelPort, Caps]]:
        k = FakeKernel()
        try:
            yield k, Caps()
        finally:
            await k.close()
