"""``xfrmctl config check|convert``: validate a configuration file, or rewrite it in another form.

Both work on a file alone (no daemon): operators check a change before ``request system reload``,
and convert pasted Junos configuration into the YAML or ``set`` form they keep.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from xfrmctl.config import emit
from xfrmctl.config.errors import Location, Severity
from xfrmctl.config.loader import (
    FORMATS,
    LoadResult,
    exposed_keys_warning,
    load_file,
    load_text,
)
from xfrmctl.config.reference import grammar_reference

config_app = typer.Typer(
    name="config",
    help="Check or convert a configuration file (YAML, Junos set commands or curly text), or "
    "list the statements xfrmctl accepts. Works on the file alone: no daemon needed.",
    no_args_is_help=True,
)

_WRITERS = {
    "yaml": emit.to_yaml,
    "set": emit.to_set,
    "curly": emit.to_curly,
    "json": emit.to_json,
}

_FORMAT_HELP = "Input format (default: from the file name and contents)."
_MAP_HELP = "Junos interface name to Linux name, e.g. ge-0/0/0.0=eth0 (repeatable)."


def _interface_map(entries: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for entry in entries:
        junos, sep, linux = entry.partition("=")
        if not sep or not junos or not linux:
            raise typer.BadParameter(
                f"'{entry}': expected JUNOS=LINUX, e.g. ge-0/0/0.0=eth0",
                param_hint="--map-interface",
            )
        mapping[junos] = linux
    return mapping


def _check_format(fmt: str | None) -> str | None:
    if fmt is not None and fmt not in FORMATS:
        raise typer.BadParameter(f"expected one of: {', '.join(FORMATS)}", param_hint="--format")
    return fmt


def _load(file: Path, fmt: str | None, maps: list[str] | None) -> LoadResult:
    """Load `file`, or standard input for ``-`` (Junos text pasted into a terminal)."""
    mapping = _interface_map(maps or [])
    if str(file) == "-":
        text = sys.stdin.read()
        return load_text(text, "<stdin>", _check_format(fmt), mapping)
    return load_file(file, _check_format(fmt), mapping)


def _unused_mappings(result: LoadResult, given: list[str] | None) -> list[str]:
    """Junos names given with --map-interface that no statement uses (likely typos)."""
    cli = {entry.partition("=")[0] for entry in given or []}
    return [name for name in result.unused_mappings if name in cli]


def _unused_lines(file: Path, names: list[str]) -> list[str]:
    where = "<stdin>" if str(file) == "-" else str(file)
    return [
        f"{where}: warning: --map-interface {name}: no statement uses this interface"
        for name in names
    ]


@config_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="Configuration file to check ('-': stdin).")],
    fmt: Annotated[str | None, typer.Option("--format", help=_FORMAT_HELP)] = None,
    map_interface: Annotated[
        list[str] | None, typer.Option("--map-interface", help=_MAP_HELP)
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object with every diagnostic.")
    ] = False,
) -> None:
    """Validate a configuration before `request system reload` (or SIGHUP).

    Prints every error and warning as FILE:LINE: error|warning: MESSAGE,
    then "configuration check succeeds" when there is no error.
    Exit status 1 when there are errors.
    """
    result = _load(file, fmt, map_interface)
    if str(file) != "-":
        exposed = exposed_keys_warning(file, result.config)
        if exposed is not None:
            result.diagnostics.insert(0, exposed)
    if as_json:
        typer.echo(json.dumps(_json_report(result, _unused_mappings(result, map_interface))))
        raise typer.Exit(1 if result.errors else 0)
    for diagnostic in result.diagnostics:
        typer.echo(str(diagnostic))
    for line in _unused_lines(file, _unused_mappings(result, map_interface)):
        typer.echo(line)
    if result.errors:
        raise typer.Exit(1)
    typer.echo("configuration check succeeds")


def _json_report(result: LoadResult, unused: list[str]) -> dict[str, object]:
    """The same facts as the text output, for tools (the Ansible module, CI)."""
    return {
        "ok": not result.errors,
        "format": result.format,
        "diagnostics": [
            {
                "severity": d.severity.value,
                "file": d.location.file,
                "line": d.location.line,
                "column": d.location.column,
                "path": d.path,
                "message": d.message,
            }
            for d in result.diagnostics
        ],
        "unused_mappings": unused,
    }


@config_app.command("convert")
def convert(
    file: Annotated[Path, typer.Argument(help="Configuration file to convert ('-': stdin).")],
    *,
    to: Annotated[str, typer.Option("--to", help="Output form: yaml, set, curly or json.")],
    fmt: Annotated[str | None, typer.Option("--format", help=_FORMAT_HELP)] = None,
    map_interface: Annotated[
        list[str] | None, typer.Option("--map-interface", help=_MAP_HELP)
    ] = None,
    show_secrets: Annotated[
        bool,
        typer.Option(
            "--show-secrets", help="Write keys (as $9$ strings) instead of a placeholder."
        ),
    ] = False,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here, not stdout.")
    ] = None,
) -> None:
    """Rewrite a configuration in another form: yaml, Junos set, curly or json.

    The output is normalised (grammar order, Linux interface names, canonical
    values) and loads back unchanged. Keys are replaced by a placeholder
    unless --show-secrets is given. Diagnostics go to stderr; exit status 1
    when the input has errors.
    """
    if to not in _WRITERS:
        raise typer.BadParameter(f"expected one of: {', '.join(_WRITERS)}", param_hint="--to")
    result = _load(file, fmt, map_interface)
    for diagnostic in result.diagnostics:
        if diagnostic.severity is Severity.ERROR:
            typer.echo(str(diagnostic), err=True)
    for line in _unused_lines(file, _unused_mappings(result, map_interface)):
        typer.echo(line, err=True)
    if result.errors or result.tree is None:
        raise typer.Exit(1)
    text, redacted = _WRITERS[to](result.tree, show_secrets)
    if redacted:
        where = Location(str(file))
        typer.echo(
            f"{where}: warning: {len(redacted)} secret(s) replaced by a placeholder "
            "(use --show-secrets to keep them): " + ", ".join(redacted),
            err=True,
        )
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@config_app.command("schema")
def schema(
    path: Annotated[
        list[str] | None,
        typer.Argument(help="Keywords to start from, e.g. security ipsec vpn."),
    ] = None,
) -> None:
    """Print every statement xfrmctl accepts, with values, ranges and defaults."""
    try:
        typer.echo(grammar_reference(tuple(path or ())), nl=False)
    except KeyError as exc:
        typer.echo(f"error: no hierarchy '{' '.join(path or ())}' (at '{exc.args[0]}')", err=True)
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
