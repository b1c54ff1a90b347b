"""Entry point of the ``xfrmctl`` command; each command group lives in its own module."""

from __future__ import annotations

import typer

from xfrmctl import __version__
from xfrmctl.cli import commands, daemon_cmd
from xfrmctl.cli.config_cmd import config_app
from xfrmctl.cli.kernel import kernel_app

app = typer.Typer(
    name="xfrmctl",
    help="Junos SRX-style route-based IPsec for Linux routers.",
    no_args_is_help=True,
    add_completion=False,
    cls=commands.PrefixGroup,
)

app.add_typer(config_app, name="config")
app.add_typer(kernel_app, name="kernel")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"xfrmctl {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Junos SRX-style route-based IPsec for Linux routers."""


commands.register(app)
daemon_cmd.register(app)

if __name__ == "__main__":
    app()
