"""`pip wheel .` builds a wheel that installs the `xfrmctl` command and the systemd unit.

The wheel is installed into a fresh virtualenv (its dependencies from the configured index), and
the installed command answers `--version` and `--help` from there, not from the checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "examples" / "systemd" / "xfrmctl.service"
UNIT_IN_WHEEL = "share/xfrmctl/systemd/xfrmctl.service"


def run(*argv: str, cwd: Path | None = None) -> str:
    # not the checkout: a PYTHONPATH to it would make pip see xfrmctl as installed already
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, timeout=900, check=False,
                          env=env)  # fmt: skip
    assert proc.returncode == 0, f"{' '.join(argv)}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT))
    (built,) = out.glob("xfrmctl-*.whl")
    return built


@pytest.mark.slow
def test_wheel_holds_the_package_the_command_and_the_unit(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        version = wheel.name.split("-")[1]
        data = f"xfrmctl-{version}.data/data/{UNIT_IN_WHEEL}"
        assert data in names
        assert archive.read(data).decode() == UNIT.read_text()
        assert "xfrmctl/py.typed" in names
        assert "xfrmctl/cli/main.py" in names
        assert "xfrmctl/config/loader.py" in names
        entry_points = archive.read(f"xfrmctl-{version}.dist-info/entry_points.txt").decode()
        assert "xfrmctl = xfrmctl.cli.main:app" in entry_points.splitlines()
        metadata = archive.read(f"xfrmctl-{version}.dist-info/METADATA").decode()
        assert "Requires-Dist: prometheus_client>=0.20" in metadata.splitlines()
        assert "xfrmctl/daemon/metrics.py" in names
        assert not [n for n in names if n.startswith(("tests/", "integration/", "ansible_"))]


@pytest.mark.slow
def test_wheel_installs_a_working_command(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", str(venv))
    run(str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel))
    xfrmctl = venv / "bin" / "xfrmctl"
    version = wheel.name.split("-")[1]
    assert run(str(xfrmctl), "--version", cwd=tmp_path) == f"xfrmctl {version}\n"
    help_text = run(str(xfrmctl), "--help", cwd=tmp_path)
    assert "Junos SRX-style route-based IPsec for Linux routers." in help_text
    for command in ("show", "clear", "request", "daemon", "config", "kernel"):
        assert f" {command} " in help_text
    where = run(str(venv / "bin" / "python"), "-c", "import xfrmctl; print(xfrmctl.__file__)",
                cwd=tmp_path)  # fmt: skip
    assert where.startswith(str(venv))
    assert (venv / UNIT_IN_WHEEL).read_text() == UNIT.read_text()
    daemon_help = run(str(xfrmctl), "daemon", "--help", cwd=tmp_path)
    assert "--metrics" in daemon_help and "Prometheus" in daemon_help
