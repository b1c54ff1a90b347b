"""`--metrics`: the Prometheus exposition of two in-process daemons on fake kernels, scraped over
HTTP on the loopback: exact metric lines for a tunnel up with traffic, traffic totals that survive
a rekey, failures by reason, and the HTTP answers to anything but a scrape."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from daemon_harness import (  # type: ignore[import-not-found, unused-ignore]
    PSK,
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

from xfrmctl.daemon.metrics import MetricsServer, parse_listen
from xfrmctl.daemon.runtime import Daemon
from xfrmctl.dpd import DownReason, MonitorDown
from xfrmctl.keying.ikev2.actions import PeerDead
from xfrmctl.netlink.fake import FakeKernel

STATES = ("init", "auth", "established", "rekeyed", "deleting")


def up(d: Daemon, vpn: str) -> bool:
    rec = d.store.vpns.get(vpn)
    return rec is not None and bool(rec.children)


async def http(port: int, request: bytes) -> tuple[str, dict[str, str], str]:
    """(status line, headers, body) of one request to 127.0.0.1:port."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.decode().partition("\r\n\r\n")
    status, *lines = head.split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body


async def scrape(port: int) -> list[str]:
    """The xfrmctl_ lines of a GET /metrics (process metrics are the library's own)."""
    status, headers, body = await http(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == "HTTP/1.0 200 OK"
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    assert int(headers["content-length"]) == len(body.encode())
    return [ln for ln in body.splitlines() if ln.startswith(("xfrmctl_", "# HELP x", "# TYPE x"))]


def samples(lines: list[str]) -> list[str]:
    return [ln for ln in lines if not ln.startswith("#")]


def family(lines: list[str], name: str) -> list[str]:
    return [ln for ln in samples(lines) if ln.split("{")[0].split(" ")[0] == name]


def test_parse_listen() -> None:
    assert parse_listen("127.0.0.1:9571") == ("127.0.0.1", 9571)
    assert parse_listen("[::1]:9571") == ("::1", 9571)
    assert parse_listen("0.0.0.0:80") == ("0.0.0.0", 80)
    for bad in ("9571", "localhost:9571", "127.0.0.1:", "127.0.0.1:70000", ":9571", "::1:x"):
        with pytest.raises(ValueError):
            parse_listen(bad)


def test_metrics_of_a_tunnel_with_traffic_a_rekey_and_failures(tmp_path: Path) -> None:
    async def main() -> None:
        wire = Wire()
        a = make_daemon(tmp_path, "a", A, config(local=A, remote=B, vpns={"vpn1": VPN1}), wire)
        b = make_daemon(tmp_path, "b", B, config(local=B, remote=A, vpns={"vpn1": VPN1_B},
                                                 establish="on-traffic"), wire)  # fmt: skip
        await seed(a, A)
        await seed(b, B)
        server = MetricsServer(a, "127.0.0.1", 0)
        await server.start()
        port = server.bound_port
        # before the daemon starts: no VPN, no gateway
        before = await scrape(port)
        assert samples(before) == [
            "xfrmctl_tunnels_configured 0.0",
            "xfrmctl_tunnels_established 0.0",
        ]
        await b.start()
        await a.start()
        await until(lambda: up(a, "vpn1") and up(b, "vpn1"))
        ka = a.kernel
        assert isinstance(ka, FakeKernel)
        [child] = a.store.vpns["vpn1"].children.values()
        ka.account(A, child.spi_in, nbytes=1000, packets=10)
        ka.account(B, child.spi_out, nbytes=2000, packets=20)
        lines = await scrape(port)
        assert lines == [
            "# HELP xfrmctl_tunnels_configured VPNs in the running configuration.",
            "# TYPE xfrmctl_tunnels_configured gauge",
            "xfrmctl_tunnels_configured 1.0",
            "# HELP xfrmctl_tunnels_established VPNs with IPsec SAs installed in the kernel.",
            "# TYPE xfrmctl_tunnels_established gauge",
            "xfrmctl_tunnels_established 1.0",
            "# HELP xfrmctl_tunnel_up 1 while the VPN has IPsec SAs installed, else 0.",
            "# TYPE xfrmctl_tunnel_up gauge",
            'xfrmctl_tunnel_up{gateway="GW",vpn="vpn1"} 1.0',
            "# HELP xfrmctl_tunnel_bytes_total ESP payload bytes through the VPN's SAs (in: "
            "decrypted, out: encrypted).",
            "# TYPE xfrmctl_tunnel_bytes_total counter",
            'xfrmctl_tunnel_bytes_total{direction="in",gateway="GW",vpn="vpn1"} 1000.0',
            'xfrmctl_tunnel_bytes_total{direction="out",gateway="GW",vpn="vpn1"} 2000.0',
            "# HELP xfrmctl_tunnel_packets_total Packets through the VPN's SAs (in: decrypted, "
            "out: encrypted).",
            "# TYPE xfrmctl_tunnel_packets_total counter",
            'xfrmctl_tunnel_packets_total{direction="in",gateway="GW",vpn="vpn1"} 10.0',
            'xfrmctl_tunnel_packets_total{direction="out",gateway="GW",vpn="vpn1"} 20.0',
            "# HELP xfrmctl_ipsec_rekeys_total Child SA rekeys.",
            "# TYPE xfrmctl_ipsec_rekeys_total counter",
            "# HELP xfrmctl_ike_rekeys_total IKE SA rekeys.",
            "# TYPE xfrmctl_ike_rekeys_total counter",
            "# HELP xfrmctl_ike_negotiation_failures_total IKE SA negotiations that failed, "
            "by reason.",
            "# TYPE xfrmctl_ike_negotiation_failures_total counter",
            "# HELP xfrmctl_ipsec_negotiation_failures_total Child SA negotiations that failed, "
            "by reason.",
            "# TYPE xfrmctl_ipsec_negotiation_failures_total counter",
            "# HELP xfrmctl_dpd_failures_total IKE SAs declared dead: dead peer detection or an "
            "unanswered exchange.",
            "# TYPE xfrmctl_dpd_failures_total counter",
            "# HELP xfrmctl_vpn_monitor_failures_total VPN monitor verdicts that took the tunnel "
            "down.",
            "# TYPE xfrmctl_vpn_monitor_failures_total counter",
            "# HELP xfrmctl_ike_security_associations IKE SAs by gateway and state.",
            "# TYPE xfrmctl_ike_security_associations gauge",
            'xfrmctl_ike_security_associations{gateway="GW",state="init"} 0.0',
            'xfrmctl_ike_security_associations{gateway="GW",state="auth"} 0.0',
            'xfrmctl_ike_security_associations{gateway="GW",state="established"} 1.0',
            'xfrmctl_ike_security_associations{gateway="GW",state="rekeyed"} 0.0',
            'xfrmctl_ike_security_associations{gateway="GW",state="deleting"} 0.0',
            "# HELP xfrmctl_ike_half_open_limit Responder IKE SAs allowed to wait for "
            "authentication.",
            "# TYPE xfrmctl_ike_half_open_limit gauge",
            "xfrmctl_ike_half_open_limit 1000.0",
            "# HELP xfrmctl_ike_cookie_threshold Half-open IKEv2 SAs from which COOKIEs are "
            "demanded.",
            "# TYPE xfrmctl_ike_cookie_threshold gauge",
            "xfrmctl_ike_cookie_threshold 100.0",
            "# HELP xfrmctl_ike_init_rate_limit New IKEv2 responder SAs computed per second "
            "(0: no limit).",
            "# TYPE xfrmctl_ike_init_rate_limit gauge",
            "xfrmctl_ike_init_rate_limit 0.0",
            "# HELP xfrmctl_ike_half_open Responder IKE SAs waiting for their peer's "
            "authentication, by IKE version.",
            "# TYPE xfrmctl_ike_half_open gauge",
            'xfrmctl_ike_half_open{version="IKEv1"} 0.0',
            'xfrmctl_ike_half_open{version="IKEv2"} 0.0',
            "# HELP xfrmctl_ike_engine_events_total IKE engine events by IKE version and reason: "
            "messages dropped or refused, defences used (COOKIE demanded, rate limit), "
            "retransmissions.",
            "# TYPE xfrmctl_ike_engine_events_total counter",
        ]

        # a soft expiry rekeys the child SA: the old SAs' traffic stays in the totals
        assert a.engine is not None
        a._enqueue(a.engine.child_expired(child.spi_in, False, a.now()))
        await until(lambda: up(a, "vpn1") and child.unique_id not in a.store.vpns["vpn1"].children)
        [new] = a.store.vpns["vpn1"].children.values()
        await a.refresh_counters()  # the old SAs are gone from this dump: retired
        ka.account(A, new.spi_in, nbytes=500, packets=5)
        lines = await scrape(port)
        assert family(lines, "xfrmctl_tunnel_bytes_total") == [
            'xfrmctl_tunnel_bytes_total{direction="in",gateway="GW",vpn="vpn1"} 1500.0',
            'xfrmctl_tunnel_bytes_total{direction="out",gateway="GW",vpn="vpn1"} 2000.0',
        ]
        assert family(lines, "xfrmctl_tunnel_packets_total") == [
            'xfrmctl_tunnel_packets_total{direction="in",gateway="GW",vpn="vpn1"} 15.0',
            'xfrmctl_tunnel_packets_total{direction="out",gateway="GW",vpn="vpn1"} 20.0',
        ]
        assert family(lines, "xfrmctl_ipsec_rekeys_total") == [
            'xfrmctl_ipsec_rekeys_total{gateway="GW",vpn="vpn1"} 1.0'
        ]

        # the monitor and DPD take the tunnel down
        a.dpd_actions([MonitorDown("vpn1", DownReason.PEER_NOT_RESPONDING, a.now())])
        [ref] = [s.ref for s in a.engine.v2.sessions.values() if not s.closed]
        a._enqueue([PeerDead(ref, "GW")])
        await a.wait_idle()
        lines = await scrape(port)
        assert family(lines, "xfrmctl_vpn_monitor_failures_total") == [
            'xfrmctl_vpn_monitor_failures_total{gateway="GW",vpn="vpn1"} 1.0'
        ]
        assert family(lines, "xfrmctl_dpd_failures_total") == [
            'xfrmctl_dpd_failures_total{gateway="GW"} 1.0'
        ]
        await a.shutdown()
        await b.shutdown()

        # a peer with another key: the IKE SA fails authentication, by reason
        (tmp_path / "b.yaml").write_text(
            config(local=B, remote=A, vpns={"vpn1": VPN1_B}, establish="on-traffic").replace(
                PSK, "another-secret-0123456789"
            )
        )
        wire2 = Wire()
        a2 = make_daemon(tmp_path, "a", A, config(local=A, remote=B, vpns={"vpn1": VPN1}), wire2)
        b2 = make_daemon(tmp_path, "b", B, (tmp_path / "b.yaml").read_text(), wire2)
        await seed(a2, A)
        await seed(b2, B)
        await server.close()
        server = MetricsServer(a2, "127.0.0.1", 0)
        await server.start()
        port = server.bound_port
        await b2.start()
        await a2.start()
        await until(lambda: sum(a2.tallies.ike_failures.values()) > 0)
        lines = await scrape(port)
        assert family(lines, "xfrmctl_ike_negotiation_failures_total") == [
            'xfrmctl_ike_negotiation_failures_total{gateway="GW",reason="AUTHENTICATION_FAILED"}'
            " 1.0"
        ]
        assert family(lines, "xfrmctl_tunnel_up") == [
            'xfrmctl_tunnel_up{gateway="GW",vpn="vpn1"} 0.0'
        ]
        await a2.shutdown()
        await b2.shutdown()
        await server.close()

    asyncio.run(main())


def test_http_answers_only_scrapes(tmp_path: Path) -> None:
    async def main() -> None:
        daemon = make_daemon(tmp_path, "a", A, "{}\n", Wire())
        server = MetricsServer(daemon, "127.0.0.1", 0)
        await server.start()
        port = server.bound_port
        status, _, body = await http(port, b"GET /other HTTP/1.0\r\n\r\n")
        assert (status, body) == ("HTTP/1.0 404 Not Found", "not found; metrics are at /metrics\n")
        status, headers, _ = await http(port, b"POST /metrics HTTP/1.0\r\n\r\n")
        assert (status, headers["allow"]) == ("HTTP/1.0 405 Method Not Allowed", "GET, HEAD")
        status, _, _ = await http(port, b"garbage\r\n\r\n")
        assert status == "HTTP/1.0 400 Bad Request"
        status, headers, body = await http(port, b"HEAD /metrics HTTP/1.0\r\n\r\n")
        assert status == "HTTP/1.0 200 OK" and body == "" and int(headers["content-length"]) > 0
        # OpenMetrics when the scraper asks for it
        status, headers, body = await http(
            port, b"GET /metrics HTTP/1.0\r\nAccept: application/openmetrics-text\r\n\r\n"
        )
        assert headers["content-type"].startswith("application/openmetrics-text")
        assert body.endswith("# EOF\n")
        # a request head over the limit is dropped, and the server keeps answering
        _, _, body = await http(port, b"GET /metrics HTTP/1.0\r\nX: " + b"y" * 10000 + b"\r\n\r\n")
        assert body == ""
        assert (await scrape(port))[:3] == [
            "# HELP xfrmctl_tunnels_configured VPNs in the running configuration.",
            "# TYPE xfrmctl_tunnels_configured gauge",
            "xfrmctl_tunnels_configured 0.0",
        ]
        assert server.scrapes == 3
        await server.close()

    asyncio.run(main())


def test_ikev1_states_in_the_ikev2_vocabulary() -> None:
    from types import SimpleNamespace  # noqa: PLC0415

    from xfrmctl.daemon.metrics import _v1_state  # noqa: PLC0415
    from xfrmctl.keying.ikev1.session import State  # noqa: PLC0415

    def state(s: State, successor: object = None) -> str | None:
        return _v1_state(SimpleNamespace(state=s, successor=successor))  # type: ignore[arg-type]

    assert [state(s) for s in State] == [
        "init", "init", "auth", "init", "init", "init", "auth", "established", None
    ]  # fmt: skip
    assert state(State.ESTABLISHED, successor=object()) == "rekeyed"
