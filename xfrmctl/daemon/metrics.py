"""Prometheus metrics (`xfrmctl daemon --metrics ADDR:PORT`), served from the event loop.

Each scrape takes one batched SA counter dump (as `show` does), then the collector reads the
daemon's state store, its IKE sessions and its tallies: it computes nothing the daemon does not
already know. The exposition is `prometheus_client`'s (text or OpenMetrics, as the scraper
asks); the HTTP server is a small asyncio one, so the collector runs on the loop that owns the
state and needs no locks. docs/metrics.md lists every metric.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry

from xfrmctl.keying.ikev1.session import IsakmpSa
from xfrmctl.keying.ikev1.session import State as V1State
from xfrmctl.keying.ikev2.session import Phase

if TYPE_CHECKING:
    from xfrmctl.daemon.runtime import Daemon

PATH = "/metrics"
Labels = tuple[str, ...]
_HEADER_LIMIT = 8192
_READ_TIMEOUT = 10.0
# IKEv2 SA phases as the `state` label; closed SAs are forgotten, not counted
IKE_STATES = {
    Phase.INIT: "init",
    Phase.AUTH: "auth",
    Phase.ESTABLISHED: "established",
    Phase.REKEYED: "rekeyed",
    Phase.DELETING: "deleting",
}


def parse_listen(text: str) -> tuple[str, int]:
    """``ADDR:PORT`` (``[V6ADDR]:PORT`` for IPv6) -> (address, port); ValueError if malformed."""
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ValueError(f"expected ADDR:PORT, e.g. 127.0.0.1:9571 or [::1]:9571, not {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{host!r} is not an IP address") from None
    port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range")
    return host, port


class DaemonCollector(Collector):
    """The daemon's state as metric families, read at scrape time."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def collect(self) -> Iterator[Metric]:
        d = self.daemon
        vpns = d.store.vpns
        configured = GaugeMetricFamily(
            "xfrmctl_tunnels_configured", "VPNs in the running configuration."
        )
        configured.add_metric([], len(vpns))
        yield configured
        established = GaugeMetricFamily(
            "xfrmctl_tunnels_established", "VPNs with IPsec SAs installed in the kernel."
        )
        established.add_metric([], sum(1 for r in vpns.values() if r.children))
        yield established
        up = GaugeMetricFamily(
            "xfrmctl_tunnel_up",
            "1 while the VPN has IPsec SAs installed, else 0.",
            labels=["vpn", "gateway"],
        )
        for name, rec in sorted(vpns.items()):
            up.add_metric([name, rec.gateway], 1 if rec.children else 0)
        yield up

        t = d.tallies
        traffic = t.traffic()
        for name in vpns:  # a configured VPN shows zero before its first SA
            gateway = vpns[name].gateway
            for direction in ("in", "out"):
                traffic.setdefault((name, gateway, direction), (0, 0))
        nbytes = CounterMetricFamily(
            "xfrmctl_tunnel_bytes",
            "ESP payload bytes through the VPN's SAs (in: decrypted, out: encrypted).",
            labels=["vpn", "gateway", "direction"],
        )
        npackets = CounterMetricFamily(
            "xfrmctl_tunnel_packets",
            "Packets through the VPN's SAs (in: decrypted, out: encrypted).",
            labels=["vpn", "gateway", "direction"],
        )
        for key, (b, p) in sorted(traffic.items()):
            nbytes.add_metric(list(key), b)
            npackets.add_metric(list(key), p)
        yield nbytes
        yield npackets

        yield _counter(
            "xfrmctl_ipsec_rekeys", "Child SA rekeys.", ["vpn", "gateway"], t.ipsec_rekeys.items()
        )
        yield _counter("xfrmctl_ike_rekeys", "IKE SA rekeys.", ["gateway"], t.ike_rekeys.items())
        yield _counter(
            "xfrmctl_ike_negotiation_failures",
            "IKE SA negotiations that failed, by reason.",
            ["gateway", "reason"],
            t.ike_failures.items(),
        )
        yield _counter(
            "xfrmctl_ipsec_negotiation_failures",
            "Child SA negotiations that failed, by reason.",
            ["vpn", "gateway", "reason"],
            t.ipsec_failures.items(),
        )
        yield _counter(
            "xfrmctl_dpd_failures",
            "IKE SAs declared dead: dead peer detection or an unanswered exchange.",
            ["gateway"],
            t.dpd_failures.items(),
        )
        yield _counter(
            "xfrmctl_vpn_monitor_failures",
            "VPN monitor verdicts that took the tunnel down.",
            ["vpn", "gateway"],
            t.monitor_failures.items(),
        )

        ike = GaugeMetricFamily(
            "xfrmctl_ike_security_associations",
            "IKE SAs by gateway and state.",
            labels=["gateway", "state"],
        )
        counts: dict[tuple[str, str], int] = {}
        gateways: set[str] = set()
        if d.engine is not None:
            v1, v2 = d.engine.v1, d.engine.v2
            gateways = set(v2.peers) | set(v1.peers)
            states = [(s.peer.name, IKE_STATES.get(s.phase)) for s in v2.sessions.values()]
            states += [(sa.peer_name, _v1_state(sa)) for peer in v1.peers
                       for sa in v1.sessions_of(peer)]  # fmt: skip
            for gateway, state in states:
                if state is not None:
                    counts[(gateway, state)] = counts.get((gateway, state), 0) + 1
                    gateways.add(gateway)
        for gateway in sorted(gateways):
            for state in IKE_STATES.values():
                ike.add_metric([gateway, state], counts.get((gateway, state), 0))
        yield ike
        yield from _protection(d)


def _protection(d: Daemon) -> Iterator[Metric]:
    """``xfrmctl ike-flood-protection``: its limits, how full they are, what they shed (from
    the start of the daemon, when its engines exist)."""
    if d.engine is None or d.config is None:
        return
    p = d.config.ike_flood_protection
    for name, help_text, value in (
        ("half_open_limit", "Responder IKE SAs allowed to wait for authentication.",
         p.half_open_limit),
        ("cookie_threshold", "Half-open IKEv2 SAs from which COOKIEs are demanded.",
         p.cookie_threshold),
        ("init_rate_limit", "New IKEv2 responder SAs computed per second (0: no limit).",
         p.init_rate),
    ):  # fmt: skip
        limit = GaugeMetricFamily(f"xfrmctl_ike_{name}", help_text)
        limit.add_metric([], value)
        yield limit
    half_open = GaugeMetricFamily(
        "xfrmctl_ike_half_open",
        "Responder IKE SAs waiting for their peer's authentication, by IKE version.",
        labels=["version"],
    )
    half_open.add_metric(["IKEv1"], d.engine.v1.half_open)
    half_open.add_metric(["IKEv2"], d.engine.v2.half_open)
    yield half_open
    yield _counter(
        "xfrmctl_ike_engine_events",
        "IKE engine events by IKE version and reason: messages dropped or refused, defences "
        "used (COOKIE demanded, rate limit), retransmissions.",
        ["version", "reason"],
        d.engine.protection_events().items(),
    )


def _v1_state(sa: IsakmpSa) -> str | None:
    """An IKEv1 SA's state in the IKEv2 vocabulary: main/aggressive mode SA and KE messages
    are `init`, the identities `auth`; a replaced SA is `rekeyed`."""
    if sa.state is V1State.ESTABLISHED:
        return "rekeyed" if sa.successor is not None else "established"
    if sa.state is V1State.DELETED:
        return None
    return "auth" if sa.state in (V1State.I_MM3, V1State.R_AM1) else "init"


def _counter(
    name: str, doc: str, labels: list[str], values: Iterable[tuple[str | Labels, int]]
) -> CounterMetricFamily:
    """`values`: a tally's items, (label value or values, count)."""
    family = CounterMetricFamily(name, doc, labels=labels)
    for key, value in sorted(values, key=lambda kv: (kv[0],) if isinstance(kv[0], str) else kv[0]):
        family.add_metric([key] if isinstance(key, str) else list(key), value)
    return family


def registry_for(daemon: Daemon, *, process: bool = True) -> CollectorRegistry:
    """The daemon's collector, and the standard process metrics (CPU, memory, open files)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DaemonCollector(daemon))
    if process:
        ProcessCollector(registry=registry)
    return registry


class MetricsServer:
    """HTTP/1.0 GET on ``/metrics`` (and ``/``); anything else is answered 404 or 405."""

    def __init__(self, daemon: Daemon, host: str, port: int) -> None:
        self.daemon = daemon
        self.host, self.port = host, port
        self.registry = registry_for(daemon)
        self._server: asyncio.Server | None = None
        self.scrapes = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._client, self.host, self.port, limit=_HEADER_LIMIT
        )

    @property
    def bound_port(self) -> int:
        """The port listened on (the one chosen by the kernel when 0 was asked)."""
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def exposition(self, accept: str = "") -> tuple[bytes, str]:
        """(body, content type): a counter dump, then every collector."""
        await self.daemon.refresh_counters()
        encoder, content_type = choose_encoder(accept)
        self.scrapes += 1
        return encoder(self.registry), content_type

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
            lines = head.decode("latin-1").split("\r\n")
            words = lines[0].split()
            headers = {}
            for line in lines[1:]:
                key, sep, value = line.partition(":")
                if sep:
                    headers[key.strip().lower()] = value.strip()
            if len(words) != 3 or not words[2].startswith("HTTP/"):
                await self._reply(writer, 400, b"bad request\n")
            elif words[0] not in ("GET", "HEAD"):
                await self._reply(writer, 405, b"method not allowed\n", allow=True)
            elif words[1].split("?", 1)[0] not in (PATH, "/"):
                await self._reply(writer, 404, b"not found; metrics are at /metrics\n")
            else:
                body, ctype = await self.exposition(headers.get("accept", ""))
                await self._reply(writer, 200, b"" if words[0] == "HEAD" else body, ctype,
                                  length=len(body))  # fmt: skip
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                ConnectionError, UnicodeError):  # fmt: skip
            pass  # a client that sends no request, or too much of one, is dropped
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    @staticmethod
    async def _reply(
        writer: asyncio.StreamWriter,
        status: int,
        body: bytes,
        content_type: str = "text/plain; charset=utf-8",
        *,
        length: int | None = None,
        allow: bool = False,
    ) -> None:
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
        head = [
            f"HTTP/1.0 {status} {reason[status]}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body) if length is None else length}",
            "Connection: close",
        ]
        if allow:
            head.append("Allow: GET, HEAD")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
        await writer.drain()
