"""`xfrmctl config check` and `xfrmctl config convert` through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from xfrmctl.cli.main import app
from xfrmctl.config import Config, exposed_keys_warning, load_file
from xfrmctl.config.loader import holds_keys

runner = CliRunner()


def test_check_clean_file(data_dir: Path, tmp_path: Path) -> None:
    clean = tmp_path / "base.conf"
    clean.write_bytes((data_dir / "base.conf").read_bytes())
    clean.chmod(0o600)
    result = runner.invoke(app, ["config", "check", str(clean)])
    assert result.exit_code == 0
    assert result.stdout == "configuration check succeeds\n"


def test_check_warns_when_keys_are_readable_by_others(data_dir: Path, tmp_path: Path) -> None:
    """A pre-shared key in a group- or world-readable file: a warning, not a refusal."""
    conf = tmp_path / "base.conf"
    conf.write_bytes((data_dir / "base.conf").read_bytes())
    for mode, who in ((0o644, "everyone"), (0o640, "its group"), (0o604, "everyone")):
        conf.chmod(mode)
        result = runner.invoke(app, ["config", "check", str(conf)])
        assert result.exit_code == 0
        assert result.stdout.splitlines() == [
            f"{conf}: warning: the file holds keys and is readable by {who} (mode {mode:04o}); "
            "restrict it with chmod 600",
            "configuration check succeeds",
        ]
        report = json.loads(runner.invoke(app, ["config", "check", str(conf), "--json"]).stdout)
        assert [d["message"] for d in report["diagnostics"] if d["severity"] == "warning"] == [
            f"the file holds keys and is readable by {who} (mode {mode:04o}); "
            "restrict it with chmod 600"
        ]
    conf.chmod(0o620)  # group-writable but not readable: not a disclosure
    assert runner.invoke(app, ["config", "check", str(conf)]).stdout == (
        "configuration check succeeds\n"
    )


def test_readable_file_without_keys_is_not_warned_about(data_dir: Path, tmp_path: Path) -> None:
    conf = tmp_path / "base.conf"
    conf.write_bytes((data_dir / "base.conf").read_bytes())
    conf.chmod(0o644)
    config = load_file(conf).require()
    assert holds_keys(config)
    assert exposed_keys_warning(conf, config) is not None
    manual = load_file(data_dir / "manual-ipv6.set", interface_map={"ge-0/0/14.0": "eth0"})
    assert holds_keys(manual.require())  # manual SA keys, no pre-shared key
    assert not holds_keys(Config())
    assert exposed_keys_warning(conf, Config()) is None
    assert exposed_keys_warning(tmp_path / "gone.conf", config) is None  # nothing to stat


def test_check_reports_errors_and_warnings_and_exits_1(tmp_path: Path, base_set: str) -> None:
    bad = tmp_path / "bad.set"
    bad.write_text(
        base_set
        + "set security ike proposal P1 lifetime-seconds 30\n"
        + "set security ike gateway GW no-nat-traversal\n"
    )
    result = runner.invoke(app, ["config", "check", str(bad)])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{bad}:23: error: security ike proposal P1 lifetime-seconds 30: out of range 180..86400",
        f"{bad}:24: warning: security ike gateway GW no-nat-traversal: not realised yet: "
        "NAT traversal cannot be disabled yet",
    ]


def test_check_with_interface_mapping(tmp_path: Path, base_set: str) -> None:
    junos = tmp_path / "junos.set"
    junos.write_text(base_set.replace("external-interface eth0", "external-interface ge-0/0/0.0"))
    assert runner.invoke(app, ["config", "check", str(junos)]).exit_code == 1
    mapped = runner.invoke(
        app, ["config", "check", str(junos), "--map-interface", "ge-0/0/0.0=eth0"]
    )
    assert mapped.exit_code == 0, mapped.stdout


def test_bad_mapping_argument(data_dir: Path) -> None:
    result = runner.invoke(
        app, ["config", "check", str(data_dir / "base.set"), "--map-interface", "ge-0/0/0.0"]
    )
    assert result.exit_code == 2
    assert "expected JUNOS=LINUX" in result.output


def test_missing_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert result.stdout == (
        f"{tmp_path / 'nope.yaml'}: error: cannot read file: No such file or directory\n"
    )


def test_convert_to_set_then_yaml_round_trips(tmp_path: Path, data_dir: Path) -> None:
    set_out = tmp_path / "out.set"
    first = runner.invoke(
        app,
        ["config", "convert", str(data_dir / "base.conf"), "--to", "set", "--show-secrets",
         "-o", str(set_out)],
    )  # fmt: skip
    assert first.exit_code == 0, first.output
    second = runner.invoke(
        app, ["config", "convert", str(set_out), "--to", "yaml", "--show-secrets"]
    )
    assert second.exit_code == 0
    yaml_out = tmp_path / "out.yaml"
    yaml_out.write_text(second.stdout)
    assert load_file(yaml_out).require() == load_file(data_dir / "base.conf").require()


def test_convert_without_secrets_warns(data_dir: Path) -> None:
    result = runner.invoke(app, ["config", "convert", str(data_dir / "base.yaml"), "--to", "set"])
    assert result.exit_code == 0
    assert "s3cret" not in result.output
    assert "pre-shared-key ascii-text SECRET-DATA-REMOVED" in result.stdout
    assert result.stderr == (
        f"{data_dir / 'base.yaml'}: warning: 1 secret(s) replaced by a placeholder (use "
        "--show-secrets to keep them): security ike policy IKEPOL pre-shared-key ascii-text\n"
    )


def test_convert_refuses_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.conf"
    broken.write_text("security {\n    ike {\n")
    result = runner.invoke(app, ["config", "convert", str(broken), "--to", "yaml"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "missing '}'" in result.stderr


def test_convert_rejects_unknown_target(data_dir: Path) -> None:
    result = runner.invoke(app, ["config", "convert", str(data_dir / "base.set"), "--to", "xml"])
    assert result.exit_code == 2


def test_schema_of_a_hierarchy() -> None:
    result = runner.invoke(app, ["config", "schema", "security", "ipsec", "vpn-monitor-options"])
    assert result.exit_code == 0
    assert result.stdout == (
        "interval <a number in range 2..3600>;  # default 10\n"
        "threshold <a number in range 1..65536>;  # default 10\n"
    )


def test_schema_names_opaque_and_secret_statements() -> None:
    result = runner.invoke(app, ["config", "schema"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert (
        "    nat ...;  # ignored: SRX-only statement, accepted and ignored: NAT on Linux is "
        "configured in nftables" in lines
    )
    assert "                ascii-text <a key>;  # secret" in lines
    assert "interfaces (st0) {" in lines


def test_schema_unknown_hierarchy() -> None:
    result = runner.invoke(app, ["config", "schema", "security", "bogus"])
    assert result.exit_code == 1
    assert result.stderr == "error: no hierarchy 'security bogus' (at 'bogus')\n"


def test_check_reads_standard_input(base_set: str) -> None:
    junos = base_set.replace("external-interface eth0", "external-interface ge-0/0/3.0")
    result = runner.invoke(
        app,
        ["config", "check", "-", "--map-interface", "ge-0/0/3.0=eth3",
         "--map-interface", "ge-0/0/9.0=eth9"],
        input=junos,
    )  # fmt: skip
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "<stdin>: warning: --map-interface ge-0/0/9.0: no statement uses this interface",
        "configuration check succeeds",
    ]


def test_check_json(tmp_path: Path, base_set: str) -> None:
    bad = tmp_path / "bad.set"
    bad.write_text(base_set + "set security ike proposal P1 lifetime-seconds 30\n")
    result = runner.invoke(app, ["config", "check", str(bad), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "ok": False,
        "format": "set",
        "diagnostics": [
            {
                "severity": "error",
                "file": str(bad),
                "line": 23,
                "column": 47,
                "path": "security ike proposal P1 lifetime-seconds 30",
                "message": "out of range 180..86400",
            }
        ],
        "unused_mappings": [],
    }
