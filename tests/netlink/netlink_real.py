"""Open a NetlinkKernel in a throwaway network namespace and probe what its kernel can do."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator

from tests.netlink.netlink_contract import Caps, cbc_sa
from xfrmctl.netlink.errors import NetlinkError
from xfrmctl.netlink.kernel import NetlinkKernel
from xfrmctl.netlink.port import KernelPort


def can_make_netns() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None


@contextlib.contextmanager
def throwaway_netns(prefix: str = "xfrmctl-t") -> Iterator[str]:
    name = f"{prefix}{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        # veth exists on every kernel here (the host lacks the dummy module)
        subprocess.run(
            ["ip", "-n", name, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"],
            check=True,
        )
        subprocess.run(["ip", "-n", name, "link", "set", "eth1", "up"], check=True)
        subprocess.run(["ip", "-n", name, "link", "set", "eth0", "up"], check=True)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


async def probe(k: NetlinkKernel) -> Caps:
    esp = xfrmi = vti = True
    try:
        await k.add_sa(cbc_sa(spi=0xFFFF0001))
        await k.delete_sa("192.0.2.1", 0xFFFF0001)
    except NetlinkError:
        esp = False
    try:
        await k.add_xfrm_interface("probe0", 1)
        await k.delete_link("probe0")
    except NetlinkError:
        xfrmi = False
    try:
        await k.add_vti("probe1", local="192.0.2.250", remote="192.0.2.251", ikey=1, okey=1)
        await k.delete_link("probe1")
    except NetlinkError:
        vti = False
    return Caps(esp=esp, xfrmi=xfrmi, vti=vti)


@contextlib.asynccontextmanager
async def real_kernel() -> AsyncIterator[tuple[KernelPort, Caps]]:
    with throwaway_netns() as ns:
        k = await NetlinkKernel.open(ns)
        try:
            yield k, await probe(k)
        finally:
            await k.close()
