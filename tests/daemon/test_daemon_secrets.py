"""No key leaves the daemon: a session with a pre-shared key and a manual SA, looked at through
every window an operator or a scraper has (logs at debug level, every `show` in text and JSON,
`clear` and `request` answers, metrics, refused reloads), never shows a key — raw, hex or base64.

The keys looked for are the configured ones and the ones the daemon derived and gave the kernel.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
from pathlib import Path

import structlog
from daemon_harness import (  # type: ignore[import-not-found, unused-ignore]
    PSK,
    VPN1,
    VPN1_B,
    A,
    B,
    Wire,
    config,
    fake_kernel,
    make_daemon,
    seed,
    until,
)
from typer.testing import CliRunner

from xfrmctl.cli.main import app
from xfrmctl.daemon import logs
from xfrmctl.daemon.metrics import MetricsServer
from xfrmctl.daemon.runtime import Daemon, ReloadRefused

ENC_KEY = "8c2f1d0e4b7a69358c2f1d0e4b7a6935"
AUTH_KEY = "5e1a7c3b9d0f24685e1a7c3b9d0f2468" * 2
MANUAL_VPN = {
    "bind-interface": "st0.1",
    "manual": {
        "gateway": B,
        "external-interface": "eth0",
        "spi": 4660,
        "protocol": "esp",
        "encryption": {"algorithm": "aes-128-cbc", "key": {"hexadecimal": ENC_KEY}},
        "authentication": {"algorithm": "hmac-sha-256-128", "key": {"hexadecimal": AUTH_KEY}},
    },
}

SHOW = (
    "show security ike security-associations",
    "show security ike security-associations detail",
    "show security ipsec security-associations",
    "show security ipsec security-associations detail",
    "show security ipsec statistics",
    "show security ipsec inactive-tunnels",
    "show security ipsec next-hop-tunnels",
)

runner = CliRunner()


def with_manual_vpn(text: str) -> str:
    data = json.loads(text)
    data["security"]["ipsec"]["vpn"]["M"] = MANUAL_VPN
    data["interfaces"]["st0"]["unit"]["1"] = {"family": {"inet": {"address": "198.18.254.1/30"}}}
    return json.dumps(data, indent=1)


def forms(secret: bytes) -> set[str]:
    """How a key could be spelt in text: raw, hex (both cases, with or without 0x), base64."""
    hexed = secret.hex()
    spelt = {hexed, hexed.upper(), base64.b64encode(secret).decode(),
             base64.urlsafe_b64encode(secret).decode().rstrip("=")}  # fmt: skip
    with contextlib.suppress(UnicodeDecodeError):
        spelt.add(secret.decode("ascii"))
    # a key shorter than 8 bytes would match by chance; every key here is longer
    return {s for s in spelt if len(s) >= 8}


def cli(daemon: Daemon, line: str, *extra: str) -> str:
    result = runner.invoke(app, [*line.split(), *extra, "--socket", daemon.socket_path])
    return f"{result.exit_code}\n{result.stdout}\n{result.stderr}"


def test_no_key_in_logs_show_json_metrics_or_errors(tmp_path: Path) -> None:
    stream = io.StringIO()
    logs.configure(level="debug", stream=stream, json=True)
    seen: list[str] = []
    try:

        async def main() -> set[bytes]:
            wire = Wire()
            text_a = with_manual_vpn(config(local=A, remote=B, vpns={"vpn1": VPN1}))
            a = make_daemon(tmp_path, "a", A, text_a, wire)
            b = make_daemon(tmp_path, "b", B, config(local=B, remote=A, vpns={"vpn1": VPN1_B},
                                                     establish="on-traffic"), wire)  # fmt: skip
            await seed(a, A)
            await seed(b, B)
            metrics = MetricsServer(a, "127.0.0.1", 0)
            await b.start()
            await a.start()
            await until(lambda: bool(a.store.vpns["vpn1"].children))
            kernel_keys = set()
            for sa in await fake_kernel(a).list_sas():
                for algo in (sa.crypt, sa.auth_trunc, sa.aead):
                    if algo is not None:
                        kernel_keys.add(algo.key)
            for line in SHOW:
                seen.append(await asyncio.to_thread(cli, a, line))
                seen.append(await asyncio.to_thread(cli, a, line, "--json"))
            seen.append((await metrics.exposition())[0].decode())
            seen.append((await metrics.exposition("application/openmetrics-text"))[0].decode())
            # a reload refused for a bad key must not echo the key, nor the good one
            path = Path(a.config_path)
            good = path.read_text()
            path.write_text(good.replace(ENC_KEY, ENC_KEY[:-2] + "zz"))
            try:
                await a.reload()
            except ReloadRefused as exc:
                seen.append(str(exc))
            else:
                raise AssertionError("a key that is not hex was accepted")
            path.write_text(good.replace(AUTH_KEY, AUTH_KEY[:-1]))  # refused through the CLI
            seen.append(await asyncio.to_thread(cli, a, "request system reload"))
            path.write_text(good.replace(PSK, PSK[::-1]))  # a new key: accepted, renegotiated
            seen.append(await asyncio.to_thread(cli, a, "request system reload"))
            seen.append(await asyncio.to_thread(cli, a, "clear security ipsec statistics"))
            seen.append(await asyncio.to_thread(cli, a, "clear security ike security-associations"))
            await a.shutdown()
            await b.shutdown()
            return kernel_keys

        kernel_keys = asyncio.run(main())
    finally:
        structlog.reset_defaults()
    log = stream.getvalue()
    seen.append(log)
    # the windows were really looked through, with both VPNs up
    assert "192.0.2.2       UP" in seen[0]
    assert "ESP:aes-128/sha256 1234" in seen[4] and '"vpn_name": "M"' in seen[5]
    assert "xfrmctl_tunnels_established 1.0" in seen[2 * len(SHOW)]
    assert "expected an even number of hexadecimal digits" in seen[2 * len(SHOW) + 2]
    assert seen[2 * len(SHOW) + 3].startswith("1\n\n") and "a.yaml:" in seen[2 * len(SHOW) + 3]
    assert "reloaded: 0 added, 0 removed, 1 renegotiated" in seen[2 * len(SHOW) + 4]
    assert '"event": "child SA installed"' in log and '"event": "manual SA installed"' in log
    configured = {PSK.encode(), PSK[::-1].encode(), bytes.fromhex(ENC_KEY), bytes.fromhex(AUTH_KEY)}
    secrets = configured | kernel_keys
    assert len(kernel_keys) >= 4  # the manual pair and the negotiated pair at least
    for secret in secrets:
        for spelt in forms(secret):
            for text in seen:
                assert spelt not in text, f"a key ({len(secret)} bytes) appears in {text[:200]!r}"
