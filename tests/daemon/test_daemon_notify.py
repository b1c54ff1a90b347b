"""systemd `Type=notify` and the watchdog: what the daemon tells $NOTIFY_SOCKET, and when."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

from daemon_harness import (  # type: ignore[import-not-found, unused-ignore]
    VPN1,
    A,
    B,
    Wire,
    config,
    seed,
    until,
)

from xfrmctl.daemon.notify import Notifier
from xfrmctl.daemon.runtime import Daemon
from xfrmctl.netlink.fake import FakeKernel


def manager(tmp: Path) -> tuple[socket.socket, str]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = str(tmp / "notify.sock")
    sock.bind(path)
    sock.setblocking(False)
    return sock, path


def received(sock: socket.socket) -> list[str]:
    out = []
    while True:
        try:
            out.append(sock.recv(4096).decode())
        except BlockingIOError:
            return out


def test_environment() -> None:
    n = Notifier({"NOTIFY_SOCKET": "@xfrmctl-test", "WATCHDOG_USEC": "30000000"})
    assert n.address == "\0xfrmctl-test" and n.enabled
    assert n.watchdog_interval == 15.0
    other = Notifier({"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000",
                      "WATCHDOG_PID": str(os.getpid() + 1)})  # fmt: skip
    assert other.watchdog_interval is None  # the watchdog is another process's
    off = Notifier({})
    assert not off.enabled and off.watchdog_interval is None
    assert off.ready("x") is False
    unreachable = Notifier({"NOTIFY_SOCKET": "/nonexistent/notify.sock"})
    assert unreachable.watchdog() is False


def test_ready_watchdog_status_and_stopping(tmp_path: Path) -> None:
    sock, path = manager(tmp_path)
    cfg = tmp_path / "a.yaml"
    cfg.write_text(config(local=A, remote=B, vpns={"vpn1": VPN1}, establish="on-traffic"))
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000"})

    async def main() -> None:
        d = Daemon(str(cfg), FakeKernel(), socket_path=str(tmp_path / "a.sock"),
                   notifier=notifier)  # fmt: skip
        Wire().attach(A, d)
        await seed(d, A)
        await d.start()
        # READY only once sockets, interfaces, policies and the control socket are in place
        assert received(sock)[0] == "READY=1\nSTATUS=0 of 1 tunnels up, 0 IKE SAs"
        assert await d.kernel.list_links("xfrm")
        assert Path(d.socket_path).exists()
        # the watchdog task pings at once, then every WATCHDOG_USEC / 2
        await until(lambda: "WATCHDOG=1" in received_all)
        await d.shutdown()
        received_all.extend(received(sock))
        assert received_all[-1] == "STOPPING=1\nSTATUS=stopping"

    received_all: list[str] = []
    real_watchdog = notifier.watchdog

    def watchdog() -> bool:
        sent = real_watchdog()
        received_all.extend(received(sock))
        return sent

    notifier.watchdog = watchdog  # type: ignore[method-assign]
    asyncio.run(main())
    assert notifier.watchdog_interval == 10.0
    sock.close()
