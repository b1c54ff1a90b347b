"""The KernelPort contract against this machine's kernel, in a throwaway network namespace.

The host kernel has XFRM policies but no ESP states, xfrm interfaces or VTI: those tests skip
here and run in the lab VM (integration/tests/test_netlink_contract.py).
"""

from __future__ import annotations

import contextlib

import pytest

from tests.netlink.netlink_contract import Caps, KernelContract
from tests.netlink.netlink_real import can_make_netns, real_kernel
from xfrmctl.netlink.port import KernelPort

pytestmark = pytest.mark.skipif(not can_make_netns(), reason="needs root and iproute2")


class TestHostKernelContract(KernelContract):
    def open_kernel(self) -> contextlib.AbstractAsyncContextManager[tuple[KernelPort, Caps]]:
        return real_kernel()
