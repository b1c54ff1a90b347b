"""IKE sockets on loopback: local address from IP_PKTINFO, the non-ESP marker on the NAT-T
socket, keepalives dropped; and the sd_notify messages."""

from __future__ import annotations

import asyncio
import socket
import struct
from pathlib import Path

import pytest

from xfrmctl.daemon.notify import Notifier
from xfrmctl.daemon.sockets import IkeSocket, bypass_policies
from xfrmctl.keying.ikev2.actions import Endpoint
from xfrmctl.netlink.constants import AF_INET


def test_bypass_policy_structs() -> None:
    inbound, outbound = bypass_policies(AF_INET)
    assert len(inbound) == len(outbound) == 168  # sizeof(struct xfrm_userpolicy_info)
    # dir and action bytes follow sel (56), lft (64), curlft (32), priority, index
    assert (inbound[160], inbound[161]) == (0, 0)  # XFRM_POLICY_IN, ALLOW
    assert (outbound[160], outbound[161]) == (1, 0)  # XFRM_POLICY_OUT, ALLOW
    assert struct.unpack_from("=H", inbound, 40)[0] == AF_INET


@pytest.mark.parametrize("natt", [False, True])
def test_socket_round_trip(natt: bool) -> None:
    async def main() -> list[tuple[bytes, Endpoint, Endpoint]]:
        got: list[tuple[bytes, Endpoint, Endpoint]] = []
        loop = asyncio.get_running_loop()
        s = IkeSocket(AF_INET, 0, lambda d, loc, rem: got.append((d, loc, rem)), natt=natt,
                      bind="127.0.0.1")  # fmt: skip
        try:
            s.open(loop)
        except PermissionError:
            pytest.skip("IP_XFRM_POLICY needs CAP_NET_ADMIN")
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        peer.bind(("127.0.0.1", 0))
        peer.setblocking(False)
        marker = b"\0\0\0\0" if natt else b""
        peer.sendto(marker + b"ike-message", ("127.0.0.1", s.port))
        if natt:
            peer.sendto(b"\xff", ("127.0.0.1", s.port))  # NAT keepalive: dropped quietly
        for _ in range(200):
            if got:
                break
            await asyncio.sleep(0.005)
        s.send(b"answer", "127.0.0.1", ("127.0.0.1", peer.getsockname()[1]))
        reply = await loop.sock_recv(peer, 100)
        assert reply == marker + b"answer"
        # a NAT keepalive is the bare 0xff byte, never behind a non-ESP marker
        s.send(b"\xff", "127.0.0.1", ("127.0.0.1", peer.getsockname()[1]), raw=True)
        assert await loop.sock_recv(peer, 100) == b"\xff"
        peer.close()
        s.close(loop)
        assert s.dropped == 0
        return got

    got = asyncio.run(main())
    assert len(got) == 1
    data, local, remote = got[0]
    assert data == b"ike-message"
    assert local[0] == "127.0.0.1" and remote[0] == "127.0.0.1"


def test_notify_messages(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    n = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "20000000"})
    assert n.watchdog_interval == 10.0
    assert n.ready("1 of 1 tunnels up")
    assert n.watchdog()
    assert n.stopping()
    assert server.recv(100) == b"READY=1\nSTATUS=1 of 1 tunnels up"
    assert server.recv(100) == b"WATCHDOG=1"
    assert server.recv(100) == b"STOPPING=1\nSTATUS=stopping"
    server.close()
    assert not Notifier({}).ready("x")
