"""What operators and tools (the Ansible modules) rely on at the command line: `--version`, a
help text on every command and option, the documented exit statuses, `config convert --to json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from typer.testing import CliRunner

from xfrmctl import __version__
from xfrmctl.cli.commands import EXIT_NO_ANSWER, EXIT_NO_DAEMON, EXIT_REFUSED, EXIT_SYNTAX
from xfrmctl.cli.main import app
from xfrmctl.config import load_file

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
PSK_SET = ROOT / "tests" / "config" / "data" / "base.set"


def walk(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    """Every command of the click tree typer builds: (its words, the command). Groups are
    asked for their commands, as click does for help (some are loaded only then)."""
    out = [(" ".join(path), command)]
    if hasattr(command, "list_commands"):
        for name in command.list_commands(None):
            out += walk(command.get_command(None, name), (*path, name))
    return out


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert (result.exit_code, result.stdout) == (0, f"xfrmctl {__version__}\n")


def test_every_command_and_option_has_help() -> None:
    commands = walk(typer.main.get_command(app))
    assert sorted(name for name, _ in commands) == [
        "",
        "clear",
        "config",
        "config check",
        "config convert",
        "config schema",
        "daemon",
        "kernel",
        "kernel policy",
        "kernel sa",
        "request",
        "show",
    ]
    for name, command in commands:
        assert (command.help or "").strip(), f"xfrmctl {name}: no help text"
        for param in command.params:
            if param.param_type_name == "option":
                assert getattr(param, "help", None), f"xfrmctl {name} {param.opts[0]}: no help"
            result = runner.invoke(app, [*name.split(), "--help"])
            assert result.exit_code == 0, (name, result.output)


def test_exit_statuses_are_distinct_and_documented() -> None:
    assert (EXIT_SYNTAX, EXIT_REFUSED, EXIT_NO_DAEMON, EXIT_NO_ANSWER) == (1, 1, 2, 3)
    for name in ("show", "clear", "request"):
        text = " ".join(runner.invoke(app, [name, "--help"]).stdout.split())
        assert "2 no daemon running (no control socket); 3 the daemon did not answer" in text


def test_daemon_help_names_metrics() -> None:
    daemon = dict(walk(typer.main.get_command(app)))["daemon"]
    [option] = [p for p in daemon.params if "--metrics" in p.opts]
    assert option.help.startswith("Serve Prometheus metrics over HTTP at ADDR:PORT/metrics")
    assert option.metavar == "ADDR:PORT" and option.default is None
    assert "--metrics" in runner.invoke(app, ["daemon", "--help"]).stdout


def test_daemon_rejects_a_bad_metrics_address(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["daemon", "--config", str(tmp_path / "x.yaml"), "--metrics", "localhost:9571"]
    )
    assert result.exit_code == 2
    assert "'localhost' is not an IP address" in result.output


def test_convert_to_json_round_trips(tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "convert", str(PSK_SET), "--to", "json",
                                 "--show-secrets"])  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert sorted(data) == ["interfaces", "routing-options", "security"]
    for name in ("out.json", "out.yaml", "out.conf"):  # JSON is read as YAML, whatever the name
        out = tmp_path / name
        out.write_text(result.stdout)
        out.chmod(0o600)  # it holds the keys in clear
        assert load_file(out).require() == load_file(PSK_SET).require()
        check = runner.invoke(app, ["config", "check", str(out)])
        assert check.stdout == "configuration check succeeds\n", check.stdout


def test_convert_to_json_masks_keys_by_default() -> None:
    result = runner.invoke(app, ["config", "convert", str(PSK_SET), "--to", "json"])
    assert result.exit_code == 0
    policies = json.loads(result.stdout)["security"]["ike"]["policy"]
    [policy] = policies.values()
    assert policy["pre-shared-key"] == {"ascii-text": "SECRET-DATA-REMOVED"}
    assert "secret(s) replaced by a placeholder" in result.stderr
