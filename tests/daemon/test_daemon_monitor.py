"""VPN monitoring wired into the daemon: echoes through st0 on a fake ICMP transport, a D verdict
takes the VPN's route out and renegotiates, the first answered echo brings it back."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from daemon_harness import (  # type: ignore[import-not-found, unused-ignore]
    A,
    B,
    FakeEcho,
    Wire,
    config,
    make_daemon,
    seed,
    until,
)

from xfrmctl.daemon.icmp import RawIcmp, encode_echo, parse_reply
from xfrmctl.daemon.runtime import Daemon
from xfrmctl.dpd import MonState
from xfrmctl.netlink.fake import FakeKernel

VPN_A = {"unit": 0, "address": "198.18.255.1/30", "route": "198.18.2.0/24"}
VPN_B = {"unit": 0, "address": "198.18.255.2/30", "route": "198.18.1.0/24"}


def with_monitor(text: str, *, optimized: bool = False) -> str:
    data = json.loads(text)
    ipsec = data["security"]["ipsec"]
    ipsec["vpn"]["vpn1"]["vpn-monitor"] = {"destination-ip": "198.18.255.2",
                                           "source-interface": "st0.0"}  # fmt: skip
    if optimized:
        ipsec["vpn"]["vpn1"]["vpn-monitor"]["optimized"] = None
    ipsec["vpn-monitor-options"] = {"interval": 10, "threshold": 3}
    return json.dumps(data)


def routes(d: Daemon) -> list[str]:
    assert isinstance(d.kernel, FakeKernel)
    return [r.dst for r in d.kernel._routes]


def test_echo_codec_exact_bytes() -> None:
    assert encode_echo(1, 2, v6=False, payload=b"") == bytes.fromhex("0800f7fc00010002")
    assert encode_echo(1, 2, v6=True, payload=b"ab") == bytes.fromhex("80000000000100026162")
    ip = bytes.fromhex("4500001c00000000400100000a0000010a000002")
    assert parse_reply(ip + bytes.fromhex("0000000000070009"), v6=False) == (7, 9)
    assert parse_reply(ip + bytes.fromhex("0800000000070009"), v6=False) is None  # a request
    assert parse_reply(ip[:12], v6=False) is None
    assert parse_reply(bytes.fromhex("8100000000070009"), v6=True) == (7, 9)
    assert parse_reply(b"\x81\x00", v6=True) is None


def test_monitor_down_withdraws_route_and_up_restores(tmp_path: Path) -> None:
    async def main() -> None:
        wire = Wire()
        text_a = with_monitor(config(local=A, remote=B, vpns={"vpn1": VPN_A}))
        a = make_daemon(tmp_path, "a", A, text_a, wire)
        b = make_daemon(tmp_path, "b", B, config(local=B, remote=A, vpns={"vpn1": VPN_B},
                                                 establish="on-traffic"), wire)  # fmt: skip
        echo = FakeEcho(a)
        a.echo = echo
        await seed(a, A)
        await seed(b, B)
        await b.start()
        await a.start()
        await until(lambda: bool(a.store.vpns["vpn1"].children))
        # the first cycle runs at once: an echo from st0.0's address through st0.0
        await until(lambda: bool(echo.sent))
        assert echo.sent == [("198.18.255.1", "198.18.255.2", 1, 1, "st0.0")]
        await until(lambda: a.dpd.monitors["vpn1"].answered == 1)
        [tunnel] = a.snapshot().tunnels
        assert tunnel.vpn_monitoring == "UP"
        assert routes(a) == ["198.18.2.0/24"]

        # ESP dies: the echo sent at +10 and the next two go unanswered (interval 10,
        # threshold 3); the cycle at +40 counts the third failure -> D
        echo.answering = False
        t0 = a.now()
        for k in range(1, 4):
            a.dpd_actions(a.dpd.on_timer(t0 + 10 * k, {}))
        assert a.dpd.mon_state("vpn1") is MonState.UP
        a.dpd_actions(a.dpd.on_timer(t0 + 40, {}))
        assert a.dpd.mon_state("vpn1") is MonState.DOWN
        await until(lambda: not a.store.vpns["vpn1"].children and routes(a) == [])
        [inactive] = a.snapshot().inactive_tunnels
        assert inactive.tunnel_down_reason == "VPN monitoring detected tunnel as down"
        # out of service: renegotiated actively with backoff; run the first attempt now
        assert "vpn1" in a._retry
        a._retry["vpn1"].at = a.now()
        a._on_timer()
        await until(lambda: bool(a.store.vpns["vpn1"].children))
        # up again in IKE, but the route stays out until the monitor sees an answer
        assert routes(a) == []
        [tunnel] = a.snapshot().tunnels
        assert tunnel.vpn_monitoring == "DOWN"
        assert tunnel.tunnel_down_reason == "VPN monitoring detected tunnel as down"

        echo.answering = True
        a.dpd_actions(a.dpd.on_timer(t0 + 50, {}))
        await until(lambda: routes(a) == ["198.18.2.0/24"])
        assert a.dpd.mon_state("vpn1") is MonState.UP
        [tunnel] = a.snapshot().tunnels
        assert (tunnel.vpn_monitoring, tunnel.tunnel_down_reason) == ("UP", None)
        await a.shutdown()
        await b.shutdown()
        assert echo.closed and routes(a) == []

    asyncio.run(main())


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_raw_icmp_round_trip_on_loopback(address: str) -> None:
    """The real transport: an echo bound to `lo`, the kernel's reply read back by the loop."""

    async def main() -> list[tuple[int, int]]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        got: list[tuple[int, int]] = []

        def on_reply(ident: int, seq: int) -> None:
            got.append((ident, seq))
            if not done.done():
                done.set_result(None)

        icmp = RawIcmp(loop, on_reply)
        try:
            icmp.send(address, address, 0x4321, 7, "lo")
        except PermissionError:
            pytest.skip("raw ICMP sockets need CAP_NET_RAW")
        except OSError as exc:
            pytest.skip(f"no {address} on lo: {exc}")
        try:
            await asyncio.wait_for(done, 5)
        finally:
            icmp.close()
        return got

    assert asyncio.run(main()) == [(0x4321, 7)]


def test_optimized_monitor_takes_inbound_traffic_as_an_answer(tmp_path: Path) -> None:
    async def main() -> None:
        wire = Wire()
        text_a = with_monitor(config(local=A, remote=B, vpns={"vpn1": VPN_A}), optimized=True)
        a = make_daemon(tmp_path, "a", A, text_a, wire)
        b = make_daemon(tmp_path, "b", B, config(local=B, remote=A, vpns={"vpn1": VPN_B},
                                                 establish="on-traffic"), wire)  # fmt: skip
        echo = FakeEcho(a)
        a.echo = echo
        await seed(a, A)
        await seed(b, B)
        await b.start()
        await a.start()
        await until(lambda: bool(a.store.vpns["vpn1"].children) and len(echo.sent) == 1)
        [child] = a.store.vpns["vpn1"].children.values()
        inbound = (A, child.spi_in, 50)  # the counter dump's key of the inbound ESP SA
        t0 = a.now()
        # inbound bytes since the last cycle: success, and no echo is sent
        a.dpd_actions(a.dpd.on_timer(t0 + 10, {inbound: (1500, 3)}))
        assert len(echo.sent) == 1
        # traffic stopped: the next cycle probes again
        a.dpd_actions(a.dpd.on_timer(t0 + 20, {inbound: (1500, 3)}))
        assert [e[3] for e in echo.sent] == [1, 2]
        assert a.dpd.mon_state("vpn1") is MonState.UP
        await a.shutdown()
        await b.shutdown()

    asyncio.run(main())
