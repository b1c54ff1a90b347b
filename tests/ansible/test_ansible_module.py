"""xfrmctl_vpns run as Ansible runs it (a JSON argument file), against the real `xfrmctl` command.

The daemon's answer to `request system reload` comes from a wrapper script around the real
command: no daemon (exit 2), accepted, refused with the daemon's message (exit 1), or no answer
(exit 3)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ansible")

ROOT = Path(__file__).resolve().parents[2]
XFRMCTL = str(Path(sys.executable).with_name("xfrmctl"))
MODULE = "ansible_collections.xfrmctl.ipsec.plugins.modules.xfrmctl_vpns"
FACTS = "ansible_collections.xfrmctl.ipsec.plugins.modules.xfrmctl_facts"
PSK = "lab-only-secret-0123456789"

CONFIG: dict[str, Any] = {
    "ike_proposals": [{"name": "P1", "authentication-method": "pre-shared-keys",
                       "dh-group": "group31", "encryption-algorithm": "aes-256-gcm"}],
    "ike_policies": [{"name": "IKEPOL", "proposals": "P1",
                      "pre-shared-key": {"ascii-text": PSK}}],
    "ike_gateways": [{"name": "GW", "ike-policy": "IKEPOL", "address": "192.0.2.2",
                      "external-interface": "eth0", "version": "v2-only"}],
    "ipsec_proposals": [{"name": "P2", "protocol": "esp", "encryption-algorithm": "aes-256-gcm"}],
    "ipsec_policies": [{"name": "IPSECPOL", "proposals": ["P2"]}],
    "vpns": [{"name": "vpn1", "bind-interface": "st0.0", "establish-tunnels": "immediately",
              "ike": {"gateway": "GW", "ipsec-policy": "IPSECPOL"}}],
    "st0_units": [{"name": 0, "family": {"inet": {"address": "198.18.255.1/30"}}}],
    "static_routes": [{"name": "198.18.2.0/24", "next-hop": "st0.0"}],
}  # fmt: skip

SET_LINES = [
    "set security ike proposal P1 authentication-method pre-shared-keys",
    "set security ike proposal P1 dh-group group31",
    "set security ike proposal P1 encryption-algorithm aes-256-gcm",
    "set security ike policy IKEPOL proposals P1",
    "set security ike policy IKEPOL pre-shared-key ascii-text ********",
    "set security ike gateway GW ike-policy IKEPOL",
    "set security ike gateway GW address 192.0.2.2",
    "set security ike gateway GW external-interface eth0",
    "set security ike gateway GW version v2-only",
    "set security ipsec proposal P2 protocol esp",
    "set security ipsec proposal P2 encryption-algorithm aes-256-gcm",
    "set security ipsec policy IPSECPOL proposals P2",
    "set security ipsec vpn vpn1 bind-interface st0.0",
    "set security ipsec vpn vpn1 establish-tunnels immediately",
    "set security ipsec vpn vpn1 ike gateway GW",
    "set security ipsec vpn vpn1 ike ipsec-policy IPSECPOL",
    "set interfaces st0 unit 0 family inet address 198.18.255.1/30",
    "set routing-options static route 198.18.2.0/24 next-hop st0.0",
]


def fake_xfrmctl(tmp: Path, reload_rc: int, message: str) -> str:
    """The real command, except `request ...` answers as a daemon would (and is logged)."""
    script = tmp / "xfrmctl"
    script.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = request ]; then\n'
        f'  echo "$@" >> {tmp}/requests.log\n'
        f"  echo '{message}' >&2\n"
        f"  exit {reload_rc}\n"
        "fi\n"
        f'exec {XFRMCTL} "$@"\n'
    )
    script.chmod(0o755)
    return str(script)


def run_module(tmp: Path, args: dict[str, Any], check: bool = False, diff: bool = False):
    payload = dict(args)
    payload["_ansible_check_mode"] = check
    payload["_ansible_diff"] = diff
    return run_plugin(tmp, MODULE, payload)


def run_plugin(tmp: Path, module: str, args: dict[str, Any]) -> Any:
    """Run `module` as Ansible does on the host: `python -m MODULE ARGFILE`, JSON on stdout."""
    argfile = tmp / "args.json"
    argfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", module, str(argfile)], capture_output=True,
                          text=True, env=env, cwd=tmp, check=False, timeout=120)  # fmt: skip
    return json.loads(proc.stdout)


@pytest.fixture
def site(tmp_path: Path) -> dict[str, Any]:
    return {
        "config_file": str(tmp_path / "xfrmctl.yaml"),
        "xfrmctl_path": fake_xfrmctl(tmp_path, 0, ""),
        "socket": str(tmp_path / "control.sock"),
    }


def test_merged_writes_checks_reloads_and_is_idempotent(tmp_path: Path, site: dict[str, Any]):
    first = run_module(tmp_path, {**site, "config": CONFIG, "state": "merged"}, diff=True)
    assert first["changed"] is True
    assert first["reloaded"] is True
    assert first["before"] == {}
    assert first["commands"] == SET_LINES
    assert first["diff"]["before"] == ""
    assert first["diff"]["after"] == "".join(line + "\n" for line in SET_LINES)
    assert PSK not in json.dumps(first)
    path = Path(site["config_file"])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PSK in path.read_text()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".xfrmctl")] == []
    check = subprocess.run([XFRMCTL, "config", "check", str(path)], capture_output=True,
                           text=True, check=False)  # fmt: skip
    assert check.returncode == 0, check.stdout
    requests = (tmp_path / "requests.log").read_text().splitlines()
    assert requests == [f"request system reload --json --timeout 60.0 --socket {site['socket']}"]

    second = run_module(tmp_path, {**site, "config": CONFIG, "state": "merged"})
    assert second["changed"] is False
    assert second["commands"] == []
    assert "after" not in second
    assert len((tmp_path / "requests.log").read_text().splitlines()) == 1

    gathered = run_module(tmp_path, {**site, "state": "gathered"})
    assert gathered["gathered"]["vpns"] == [
        {"name": "vpn1", "bind-interface": "st0.0", "establish-tunnels": "immediately",
         "ike": {"gateway": "GW", "ipsec-policy": "IPSECPOL"}}
    ]  # fmt: skip
    assert gathered["gathered"]["ike_policies"][0]["pre-shared-key"] == {
        "ascii-text": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
    }


def test_check_mode_changes_nothing_and_shows_the_diff(tmp_path: Path, site: dict[str, Any]):
    run_module(tmp_path, {**site, "config": CONFIG})
    before = Path(site["config_file"]).read_text()
    delete = {"vpns": [{"name": "vpn1"}], "st0_units": [{"name": 0}],
              "static_routes": [{"name": "198.18.2.0/24"}]}  # fmt: skip
    result = run_module(tmp_path, {**site, "config": delete, "state": "deleted"}, check=True,
                        diff=True)  # fmt: skip
    assert result["changed"] is True
    assert result["commands"] == [
        "delete security ipsec vpn vpn1",
        "delete interfaces st0 unit 0",
        "delete routing-options static route 198.18.2.0/24",
    ]
    assert result["diff"]["after"] == "".join(line + "\n" for line in SET_LINES[:12])
    assert Path(site["config_file"]).read_text() == before
    assert len((tmp_path / "requests.log").read_text().splitlines()) == 1


def test_invalid_change_fails_with_the_check_diagnostics(tmp_path: Path, site: dict[str, Any]):
    run_module(tmp_path, {**site, "config": CONFIG})
    before = Path(site["config_file"]).read_text()
    bad = {"ike_gateways": [{"name": "GW", "version": "v7-only"}]}
    result = run_module(tmp_path, {**site, "config": bad})
    assert result["failed"] is True
    assert result["changed"] is False
    assert result["msg"] == (
        "the new configuration is invalid: xfrmctl.yaml:26: error: must be one of: v1-only, v2-only"
    )
    assert Path(site["config_file"]).read_text() == before


def test_refused_reload_restores_the_old_file(tmp_path: Path, site: dict[str, Any]):
    run_module(tmp_path, {**site, "config": CONFIG})
    before = Path(site["config_file"]).read_text()
    refused = {**site, "xfrmctl_path": fake_xfrmctl(tmp_path, 1, "error: st0.7: no such unit")}
    change = {"vpns": [{"name": "vpn1", "df-bit": "clear"}]}
    result = run_module(tmp_path, {**refused, "config": change})
    assert result["failed"] is True
    assert result["changed"] is False
    assert result["msg"] == "the daemon refused the configuration: error: st0.7: no such unit"
    assert Path(site["config_file"]).read_text() == before


def test_no_daemon_leaves_the_file_and_warns(tmp_path: Path, site: dict[str, Any]):
    absent = {**site, "xfrmctl_path": XFRMCTL}
    result = run_module(tmp_path, {**absent, "config": CONFIG})
    assert result["changed"] is True
    assert result["reloaded"] is False
    warnings = [w if isinstance(w, str) else w["event"]["msg"] for w in result["warnings"]]
    assert warnings == [
        "no xfrmctl daemon answered: the new configuration file is in place and applies "
        "when the daemon starts"
    ]


def test_overridden_and_replaced(tmp_path: Path, site: dict[str, Any]):
    run_module(tmp_path, {**site, "config": CONFIG})
    only = {k: v for k, v in CONFIG.items() if k != "static_routes"}
    result = run_module(tmp_path, {**site, "config": only, "state": "overridden"})
    assert result["commands"] == ["delete routing-options static route 198.18.2.0/24"]
    replaced = {"vpns": [{"name": "vpn1", "bind-interface": "st0.0",
                          "ike": {"gateway": "GW", "ipsec-policy": "IPSECPOL"}}]}  # fmt: skip
    result = run_module(tmp_path, {**site, "config": replaced, "state": "replaced"})
    assert result["commands"] == ["delete security ipsec vpn vpn1 establish-tunnels"]


def test_rendered_and_parsed_are_offline(tmp_path: Path, site: dict[str, Any]):
    rendered = run_module(tmp_path, {"config": {"static_routes": CONFIG["static_routes"]},
                                     "state": "rendered"})  # fmt: skip
    assert rendered["rendered"] == ["set routing-options static route 198.18.2.0/24 next-hop st0.0"]
    text = "\n".join(line.replace("********", f'"{PSK}"') for line in SET_LINES) + "\n"
    parsed = run_module(tmp_path, {**site, "running_config": text, "state": "parsed"})
    assert parsed["parsed"]["ike_gateways"] == [
        {"name": "GW", "ike-policy": "IKEPOL", "address": "192.0.2.2",
         "external-interface": "eth0", "version": "v2-only"}
    ]  # fmt: skip
    assert parsed["parsed"]["st0_units"] == [
        {"name": "0", "family": {"inet": {"address": "198.18.255.1/30"}}}
    ]
    assert not Path(site["config_file"]).exists()


def test_facts_module_returns_the_daemon_answers(tmp_path: Path):
    answers = {
        "ike": {"ike_security_associations": [{"index": 1, "state": "UP"}]},
        "ipsec": {"tunnels": [{"vpn_name": "vpn1", "sas": []}]},
        "inactive-tunnels": {"total_inactive_tunnels": 0, "tunnels": []},
    }
    script = tmp_path / "xfrmctl"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {tmp_path}/shows.log\n'
        'case "$3 $4" in\n'
        f"  'ike security-associations') echo '{json.dumps(answers['ike'])}' ;;\n"
        f"  'ipsec security-associations') echo '{json.dumps(answers['ipsec'])}' ;;\n"
        f"  'ipsec inactive-tunnels') echo '{json.dumps(answers['inactive-tunnels'])}' ;;\n"
        "esac\n"
    )
    script.chmod(0o755)
    result = run_plugin(tmp_path, FACTS, {"xfrmctl_path": str(script), "socket": "/run/x.sock"})
    assert result["changed"] is False
    assert result["ansible_facts"] == {
        "xfrmctl": {
            "ike_security_associations": [{"index": 1, "state": "UP"}],
            "tunnels": [{"vpn_name": "vpn1", "sas": []}],
            "inactive_tunnels": {"total_inactive_tunnels": 0, "tunnels": []},
        }
    }
    assert (tmp_path / "shows.log").read_text().splitlines() == [
        f"show security {what} --json --timeout 30.0 --socket /run/x.sock"
        for what in ("ike security-associations", "ipsec security-associations",
                     "ipsec inactive-tunnels")
    ]  # fmt: skip


def test_facts_module_fails_without_a_daemon(tmp_path: Path):
    args = {"xfrmctl_path": XFRMCTL, "socket": str(tmp_path / "none.sock"), "gather_subset": "ike"}
    result = run_plugin(tmp_path, FACTS, args)
    assert result["failed"] is True
    assert result["rc"] == 2
    assert result["msg"].startswith("xfrmctl show security ike security-associations: error: ")


def test_unanswered_reload_fails_and_leaves_the_new_file(tmp_path: Path, site: dict[str, Any]):
    slow = {**site, "xfrmctl_path": fake_xfrmctl(
        tmp_path, 3, "error: xfrmctl daemon did not answer within 60 seconds")}  # fmt: skip
    result = run_module(tmp_path, {**slow, "config": CONFIG})
    assert result["failed"] is True
    assert result["changed"] is True
    assert result["reloaded"] is False
    assert result["msg"] == (
        "the daemon did not confirm the reload: error: xfrmctl daemon did not answer within 60 "
        "seconds; the new configuration file is in place"
    )
    assert PSK in Path(site["config_file"]).read_text()
