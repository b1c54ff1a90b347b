"""An IKE_SA_INIT flood into a daemon with an established tunnel, on fake kernels.

The flood spoofs the peer's own address (so every request matches its gateway and would cost a
Diffie-Hellman): above `cookie-threshold` half-open SAs the daemon answers with COOKIEs only, its
half-open state stays at the threshold, the metrics say so, and the established tunnel keeps its
SAs and rekeys in the middle of it. A reload changes the limits live.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

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

from xfrmctl.daemon.metrics import MetricsServer
from xfrmctl.keying.message import parse_message

COOKIE = 16390
FLOOD = 300


def with_protection(text: str, **limits: int) -> str:
    data = json.loads(text)
    data["xfrmctl"] = {"ike-flood-protection": {k.replace("_", "-"): v for k, v in limits.items()}}
    return json.dumps(data, indent=1)


def family(exposition: str, name: str) -> list[str]:
    return [line for line in exposition.splitlines() if line.startswith(name + "{")
            or line.startswith(name + " ")]  # fmt: skip


def test_flood_engages_cookies_and_the_tunnel_keeps_working(tmp_path: Path) -> None:
    async def main() -> None:
        wire = Wire()
        captured: list[bytes] = []
        deliver = wire.deliver

        def record(data: bytes, local: tuple[str, int], remote: tuple[str, int]) -> None:
            captured.append(data)
            deliver(data, local, remote)

        wire.deliver = record  # type: ignore[method-assign, unused-ignore]
        text_a = with_protection(config(local=A, remote=B, vpns={"vpn1": VPN1}),
                                 cookie_threshold=4, half_open_limit=8)  # fmt: skip
        a = make_daemon(tmp_path, "a", A, text_a, wire)
        b = make_daemon(tmp_path, "b", B, config(local=B, remote=A, vpns={"vpn1": VPN1_B},
                                                 establish="on-traffic"), wire)  # fmt: skip
        await seed(a, A)
        await seed(b, B)
        await b.start()
        await a.start()
        await until(lambda: bool(a.store.vpns["vpn1"].children))
        assert a.engine is not None
        [child] = a.store.vpns["vpn1"].children.values()
        init = captured[0]  # a genuine IKE_SA_INIT request (A's own, replayed under new SPIs)
        assert parse_message(init).header.exchange_type == 34
        replies_before = len(captured)

        # the flood: FLOOD requests "from B", a few per loop turn, a rekey in the middle
        highest = 0
        for n in range(FLOOD):
            spi = (0xF100D << 40 | n).to_bytes(8, "big")
            a._datagram(spi + init[8:], (A, 500), (B, 500))
            highest = max(highest, a.engine.v2.half_open)
            if n == FLOOD // 2:
                a._enqueue(a.engine.child_expired(child.spi_in, False, a.now()))
            if n % 10 == 0:
                await asyncio.sleep(0)
        await until(lambda: child.unique_id not in a.store.vpns["vpn1"].children
                    and bool(a.store.vpns["vpn1"].children))  # fmt: skip
        await a.wait_idle()  # every answer sent
        assert highest == 4 and a.engine.v2.half_open == 4
        assert a.engine.v2.counters["COOKIE demanded"] == FLOOD - 4
        replies = [parse_message(d) for d in captured[replies_before:] if d[:8] != init[:8]]
        cookies = [m for m in replies
                   if m.header.exchange_type == 34 and m.notify(COOKIE) is not None]  # fmt: skip
        assert len(cookies) == FLOOD - 4
        values = {c.data for m in cookies if (c := m.notify(COOKIE)) is not None}
        assert len(values) == FLOOD - 4  # one per request: bound to its SPI and nonce
        # the tunnel was rekeyed through the flood and its IKE SA is the same one
        assert a.tallies.ipsec_rekeys[("vpn1", "GW")] == 1
        established = [s for s in a.engine.v2.sessions.values() if s.established]
        assert len(established) == 1

        exposition = (await MetricsServer(a, "127.0.0.1", 0).exposition())[0].decode()
        assert family(exposition, "xfrmctl_ike_half_open") == [
            'xfrmctl_ike_half_open{version="IKEv1"} 0.0',
            'xfrmctl_ike_half_open{version="IKEv2"} 4.0',
        ]
        assert family(exposition, "xfrmctl_ike_cookie_threshold") == [
            "xfrmctl_ike_cookie_threshold 4.0"
        ]
        assert family(exposition, "xfrmctl_ike_half_open_limit") == [
            "xfrmctl_ike_half_open_limit 8.0"
        ]
        assert (
            f'xfrmctl_ike_engine_events_total{{reason="COOKIE demanded",version="IKEv2"}} '
            f"{FLOOD - 4:.1f}"
        ) in family(exposition, "xfrmctl_ike_engine_events_total")

        # a reload raises the threshold: the next requests are answered without a cookie
        Path(a.config_path).write_text(with_protection(
            config(local=A, remote=B, vpns={"vpn1": VPN1}), cookie_threshold=6, half_open_limit=10,
            init_rate=50))  # fmt: skip
        message = await a.reload()
        assert message == "reloaded: 0 added, 0 removed, 0 renegotiated, 1 kept"
        assert a.engine.v2.settings.cookie_threshold == 6
        assert a.engine.v2.settings.init_rate == 50
        for n in range(FLOOD, FLOOD + 4):
            spi = (0xF100D << 40 | n).to_bytes(8, "big")
            a._datagram(spi + init[8:], (A, 500), (B, 500))
        assert a.engine.v2.half_open == 6  # two more admitted, then cookies again
        assert a.engine.v2.counters["COOKIE demanded"] == FLOOD - 4 + 2
        assert a.store.vpns["vpn1"].children  # still up
        await a.shutdown()
        await b.shutdown()

    asyncio.run(main())
