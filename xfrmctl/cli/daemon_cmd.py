"""``xfrmctl daemon``: run the IKE daemon in the foreground (systemd Type=notify).

The daemon's packages are imported when the command runs, so ``xfrmctl show`` (which imports
this module to register the command) does not pay for the IKE engine's start-up.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from typing import TYPE_CHECKING

import typer

from xfrmctl.control import DEFAULT_SOCKET_PATH
from xfrmctl.daemon import logs
from xfrmctl.daemon.notify import Notifier

# `--lab-lifetime-floor` cannot go below this: rekeys must leave time for their exchanges.
LAB_LIFETIME_FLOOR_MIN = 10

if TYPE_CHECKING:
    from xfrmctl.netlink.port import KernelPort


def host_addresses() -> dict[str, list[str]]:
    """This namespace's interfaces and their addresses (read before the event loop starts)."""
    from pyroute2 import IPRoute  # noqa: PLC0415 - see module docstring

    names = dict(socket.if_nameindex())
    out: dict[str, list[str]] = {name: [] for name in names.values()}
    with IPRoute() as ipr:
        for msg in ipr.get_addr():
            name = names.get(msg["index"])
            addr = msg.get_attr("IFA_ADDRESS")
            if name is not None and addr:
                out[name].append(f"{addr}/{msg['prefixlen']}")
    return out


async def _fake_kernel(addresses: dict[str, list[str]]) -> KernelPort:
    """The in-memory kernel, seeded with this namespace's real interfaces and addresses."""
    from xfrmctl.netlink.fake import FakeKernel  # noqa: PLC0415

    kernel = FakeKernel(devices=list(addresses))
    for name, addrs in addresses.items():
        for addr in addrs:
            await kernel.add_address(name, addr)
    return kernel


async def _netlink_kernel() -> KernelPort:
    from xfrmctl.netlink.kernel import NetlinkKernel  # noqa: PLC0415

    return await NetlinkKernel.open()


async def _main(
    config: str,
    socket_path: str,
    fake: dict[str, list[str]] | None,
    lifetime_floor: int | None = None,
    metrics: tuple[str, int] | None = None,
) -> int:
    from xfrmctl.daemon.runtime import Daemon, ReloadRefused  # noqa: PLC0415
    from xfrmctl.daemon.tcp_mss import NftCommand  # noqa: PLC0415

    kernel = await (_fake_kernel(fake) if fake is not None else _netlink_kernel())
    if fake is not None:
        logs.get_logger().warning(
            "FAKE KERNEL: SAs, policies and routes are kept in memory only; no traffic is "
            "protected (a mode for measuring and testing IKE)",
            interfaces=sorted(fake),
        )
    nft = NftCommand() if fake is None else None  # a fake kernel leaves the host's tables alone
    daemon = Daemon(config, kernel, socket_path=socket_path, notifier=Notifier(),
                    lifetime_floor=lifetime_floor, nft=nft)  # fmt: skip
    server = None
    try:
        if metrics is not None:
            from xfrmctl.daemon.metrics import MetricsServer  # noqa: PLC0415

            server = MetricsServer(daemon, *metrics)
            await server.start()
        await daemon.run()
    except ReloadRefused as exc:
        print(exc.message, file=sys.stderr)
        return 1
    except OSError as exc:  # a socket in use, a missing device: one line, not a traceback
        print(f"xfrmctl daemon: {exc}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            await server.close()
        await kernel.close()
    return 0


def daemon_command(  # noqa: PLR0917 - one parameter per command-line option (typer)
    config: str = typer.Option(..., "--config", "-c", help="Configuration file (YAML or Junos)."),
    socket_path: str = typer.Option(
        DEFAULT_SOCKET_PATH, "--socket", help="Control socket to create."
    ),
    fake_kernel: bool = typer.Option(
        False,
        "--fake-kernel",
        help="Keep SAs and policies in memory instead of the kernel (measuring and testing: "
        "no traffic is protected).",
    ),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    log_format: str = typer.Option("auto", "--log-format", help="auto, json or console."),
    lab_lifetime_floor: int | None = typer.Option(
        None,
        "--lab-lifetime-floor",
        min=LAB_LIFETIME_FLOOR_MIN,
        max=179,
        help="Lab and testing only: accept lifetime-seconds (Junos minimum 180) and idle-time "
        "(minimum 60) down to this many seconds, to watch rekeys and idle deletion in "
        "minutes. Logged as a warning.",
    ),
    metrics: str | None = typer.Option(
        None,
        "--metrics",
        metavar="ADDR:PORT",
        help="Serve Prometheus metrics over HTTP at ADDR:PORT/metrics ([ADDR]:PORT for IPv6). "
        "Off unless given.",
    ),
) -> None:
    """Run the IKE daemon in the foreground (systemd Type=notify).

    It creates the st0 interfaces, routes, policies and SAs of the
    configuration and negotiates them. SIGHUP (or `request system reload`)
    applies only what changed in the file; SIGTERM or SIGINT deletes the IKE
    SAs and everything the daemon installed, then exits. Exit status 1 when
    the configuration has errors or a socket cannot be opened.
    """
    if log_format not in ("auto", "json", "console"):
        raise typer.BadParameter("must be auto, json or console", param_hint="--log-format")
    listen = None
    if metrics is not None:
        from xfrmctl.daemon.metrics import parse_listen  # noqa: PLC0415

        try:
            listen = parse_listen(metrics)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--metrics") from None
    logs.configure(level=log_level, json=None if log_format == "auto" else log_format == "json")
    fake = host_addresses() if fake_kernel else None
    raise typer.Exit(asyncio.run(_main(config, socket_path, fake, lab_lifetime_floor, listen)))


def register(app: typer.Typer) -> None:
    app.command("daemon")(daemon_command)
