"""The control socket is root's: a caller that dropped to another user gets one clear line.

Two locks, both tested from a forked child that drops to uid/gid 65534 (nobody): the socket file's
mode 0600, and, when that is loosened, the daemon's own SO_PEERCRED check.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xfrmctl.cli.client import ControlClient, PermissionDenied
from xfrmctl.cli.main import app
from xfrmctl.control import Handler, Request
from xfrmctl.daemon.control_server import ControlServer
from xfrmctl.state.codec import JsonValue

NOBODY = 65534

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="dropping to another user needs root")


@pytest.fixture
def sockdir() -> Iterator[Path]:
    # Unix socket paths are limited to 107 bytes; the directory is traversable by anyone so that
    # only the socket's own mode and the daemon's credential check stand in the way.
    path = Path(tempfile.mkdtemp(prefix="xfrmctl-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


class _Log:
    def exception(self, event: str, **fields: object) -> None:
        raise AssertionError(event)


def _as_nobody(path: str) -> dict[str, object]:
    """Fork, drop to nobody, ask the daemon through the client and the CLI; the child's report."""
    # The interpreter may live where nobody cannot read (root's home): import now whatever the
    # command imports lazily, by running it once against a socket that does not exist.
    warm = CliRunner().invoke(app, ["show", "security", "ike", "sa", "--socket", path + ".none"])
    assert warm.exit_code == 2
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            report: dict[str, object] = {"uid": os.getuid()}
            try:
                ControlClient(path, timeout=5).call(("show", "security", "ike",
                                                     "security-associations"), {})  # fmt: skip
                report["client"] = "answered"
            except PermissionDenied as exc:
                report["client"] = str(exc)
            result = CliRunner().invoke(app, ["show", "security", "ike", "sa", "--socket", path])
            report.update(exit_code=result.exit_code, stdout=result.stdout, stderr=result.stderr)
            os.write(write_end, json.dumps(report).encode())
            status = 0
        except BaseException as exc:  # reported to the parent, which fails
            os.write(write_end, repr(exc).encode())
        finally:
            os._exit(status)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, b"".join(chunks)
    report = json.loads(b"".join(chunks))
    assert isinstance(report, dict)
    return report


def test_non_root_caller_is_refused_with_one_line(sockdir: Path) -> None:
    path = str(sockdir / "control.sock")
    asked: list[tuple[str, ...]] = []

    async def prepare(request: Request) -> Handler:
        asked.append(request.command)

        def handler(_: Request) -> JsonValue:
            return {"ike_security_associations": []}

        return handler

    async def main() -> list[dict[str, object]]:
        server = ControlServer(path, prepare, _Log())
        await server.start()
        try:
            assert Path(path).stat().st_mode & 0o777 == 0o600
            by_mode = await asyncio.to_thread(_as_nobody, path)
            os.chmod(path, 0o666)  # loosened by mistake: the daemon still checks SO_PEERCRED
            by_credentials = await asyncio.to_thread(_as_nobody, path)
            # root is still served on the same socket
            root = await asyncio.to_thread(
                ControlClient(path, timeout=5).call,
                ("show", "security", "ike", "security-associations"), {},
            )  # fmt: skip
            assert root == {"ike_security_associations": []}
        finally:
            await server.close()
        return [by_mode, by_credentials]

    message = f"permission denied: the xfrmctl control socket {path} is for root only"
    for report in asyncio.run(main()):
        assert report == {
            "uid": NOBODY,
            "client": message,
            "exit_code": 2,
            "stdout": "",
            "stderr": f"error: {message}\n",
        }
    # only root's request reached the daemon's handlers
    assert asked == [("show", "security", "ike", "security-associations")]
