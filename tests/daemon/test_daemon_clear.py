"""The `clear` commands against a running daemon, through its control socket: IKE SAs by peer
and by index, IPsec statistics back to zero (the kernel's counters are never reset)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from daemon_harness import (  # type: ignore[import-not-found, unused-ignore]
    VPN1,
    VPN1_B,
    A,
    B,
    Wire,
    config,
    make_daemon,
    seed,
    until,
)

from xfrmctl.cli.client import ControlClient
from xfrmctl.daemon.runtime import Daemon
from xfrmctl.netlink.fake import FakeKernel


def up(d: Daemon) -> bool:
    return bool(d.store.vpns["vpn1"].children)


async def call(d: Daemon, *command: str, **args: Any) -> Any:
    client = ControlClient(d.socket_path, timeout=5)
    return await asyncio.to_thread(client.call, command, args)


def test_clear_ike_sa_by_peer_and_index_and_statistics(tmp_path: Path) -> None:
    async def main() -> None:
        wire = Wire()
        a = make_daemon(tmp_path, "a", A, config(local=A, remote=B, vpns={"vpn1": VPN1},
                                                 establish="on-traffic"), wire)  # fmt: skip
        b = make_daemon(tmp_path, "b", B, config(local=B, remote=A, vpns={"vpn1": VPN1_B}), wire)
        await seed(a, A)
        await seed(b, B)
        await a.start()
        await b.start()
        await until(lambda: up(a) and up(b))
        ka = a.kernel
        assert isinstance(ka, FakeKernel)
        [child] = a.store.vpns["vpn1"].children.values()
        ka.account(A, child.spi_in, nbytes=840, packets=10)
        ka.account(B, child.spi_out, nbytes=420, packets=5)
        stats = (await call(a, "show", "security", "ipsec", "statistics"))["statistics"]
        assert (stats["decrypted_bytes"], stats["decrypted_packets"]) == (840, 10)
        assert (stats["encrypted_bytes"], stats["encrypted_packets"]) == (420, 5)

        # statistics: zero for show, the kernel keeps counting
        cleared = await call(a, "clear", "security", "ipsec", "statistics")
        assert cleared == {"affected": 1, "message": None}
        stats = (await call(a, "show", "security", "ipsec", "statistics"))["statistics"]
        assert stats["decrypted_packets"] == 0 and stats["encrypted_packets"] == 0
        ka.account(A, child.spi_in, nbytes=84, packets=1)
        stats = (await call(a, "show", "security", "ipsec", "statistics"))["statistics"]
        assert (stats["decrypted_bytes"], stats["decrypted_packets"]) == (84, 1)

        # another peer's address and another index clear nothing
        assert (await call(a, "clear", "security", "ike", "security-associations",
                           peer="198.51.100.9"))["affected"] == 0  # fmt: skip
        assert (await call(a, "clear", "security", "ike", "security-associations",
                           index=9))["affected"] == 0  # fmt: skip
        assert up(a)
        # by peer: the IKE SA and its child go on both sides
        [ike] = (await call(a, "show", "security", "ike", "security-associations"))[
            "ike_security_associations"]  # fmt: skip
        result = await call(a, "clear", "security", "ike", "security-associations", peer=B)
        assert result["affected"] == 1
        await until(lambda: ike["index"] not in {r.index for r in a.store.ike.values()})
        b._initiate("vpn1")  # its retry timer would, 2 s later
        await until(lambda: up(a) and up(b))
        # by index: the new IKE SA has the next index
        [ike2] = (await call(a, "show", "security", "ike", "security-associations"))[
            "ike_security_associations"]  # fmt: skip
        assert ike2["index"] == ike["index"] + 1
        result = await call(a, "clear", "security", "ike", "security-associations",
                            index=ike2["index"])  # fmt: skip
        assert result["affected"] == 1
        await until(lambda: ike2["index"] not in {r.index for r in a.store.ike.values()})
        await a.shutdown()
        await b.shutdown()

    asyncio.run(main())
