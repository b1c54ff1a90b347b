"""Entry point of the ``xfrmctl`` command; each command group lives in its own module.

``show``, ``clear`` and ``request`` are loaded with the entry point; ``daemon``, ``config``
and ``kernel`` only when named (or for help): their modules pull in the daemon, the
configuration compiler and netlink, which were most of an operator's ``show`` start-up time.
"""

from __future__ import annotations

import importlib
from typing import Any

import typer

from xfrmctl import __version__
from xfrmctl.cli import commands

# name -> (module, function that registers it on a Typer); listed after show, clear, request.
_LAZY: dict[str, tuple[str, str]] = {
    "daemon": ("xfrmctl.cli.daemon_cmd", "register"),
    "config": ("xfrmctl.cli.config_cmd", "register"),
    "kernel": ("xfrmctl.cli.kernel", "register"),
}


def _load(name: str) -> Any:
    module, register = _LAZY[name]
    holder = typer.Typer()
    getattr(importlib.import_module(module), register)(holder)
    return typer.main.get_group(holder).commands[name]


class _Cli(commands.PrefixGroup):
    """The top-level group: the lazy command groups join it the first time they are needed."""

    def _lazy(self, name: str) -> None:
        if name in _LAZY and name not in self.commands:
            self.add_command(_load(name), name)

    def list_commands(self, ctx: Any) -> list[str]:
        for name in _LAZY:
            self._lazy(name)
        return list(super().list_commands(ctx))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in self.commands and cmd_name not in _LAZY:
            # a prefix, unambiguous among every command, loaded or not
            matches = {n for n in (*self.commands, *_LAZY) if n.startswith(cmd_name)}
            if len(matches) != 1:
                return None
            [cmd_name] = matches
        self._lazy(cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    name="xfrmctl",
    help="Junos SRX-style route-based IPsec for Linux routers.",
    no_args_is_help=True,
    add_completion=False,
    cls=_Cli,
)


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

if __name__ == "__main__":
    app()
