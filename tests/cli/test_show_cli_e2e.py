"""``xfrmctl show/clear/request`` end to end against a real Unix-socket control server."""

from __future__ import annotations

import json
import shutil
import socket
import socketserver
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from show_samples import SNAPSHOT, golden  # type: ignore[import-not-found, unused-ignore]
from typer.testing import CliRunner

from xfrmctl.cli.client import ControlClient, DaemonProtocolError, DaemonTimeout, socket_path
from xfrmctl.cli.main import app
from xfrmctl.control import MAX_REQUEST_LINE, Request, serve_line
from xfrmctl.state.codec import JsonValue, to_json
from xfrmctl.state.fields import OUTPUT_FIELDS
from xfrmctl.state.query import (
    ActionResult,
    ClearIkeSa,
    ClearIpsecSa,
    ClearIpsecStatistics,
    RequestSystemReload,
    ShowIkeSa,
    answer,
    parse_query,
    select_ike_sas,
    select_tunnels,
)

runner = CliRunner()


@dataclass
class FakeDaemon:
    """The daemon's side of the socket, answering from a fixed snapshot."""

    path: str
    requests: list[Request] = field(default_factory=list)

    def handle(self, request: Request) -> JsonValue:
        self.requests.append(request)
        query = parse_query(request.command, request.args)
        if isinstance(query, ClearIkeSa):
            return to_json(ActionResult(affected=len(select_ike_sas(SNAPSHOT, query))))
        if isinstance(query, ClearIpsecSa | ClearIpsecStatistics):
            return to_json(ActionResult(affected=len(select_tunnels(SNAPSHOT, query))))
        if isinstance(query, RequestSystemReload):
            return to_json(ActionResult(message="reload: 1 VPN changed, 3 unchanged"))
        return to_json(answer(SNAPSHOT, query))


@pytest.fixture
def sockdir() -> Iterator[Path]:
    # Unix socket paths are limited to 107 bytes; pytest's tmp_path can be longer.
    path = Path(tempfile.mkdtemp(prefix="xfrmctl-", dir="/tmp"))
    yield path
    shutil.rmtree(path)


@pytest.fixture
def daemon(sockdir: Path) -> Iterator[FakeDaemon]:
    fake = FakeDaemon(str(sockdir / "control.sock"))

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            line = self.rfile.readline(MAX_REQUEST_LINE + 1)
            self.wfile.write(serve_line(line, fake.handle))

    server = socketserver.ThreadingUnixStreamServer(fake.path, Handler)
    # A short poll interval only makes shutdown() return sooner; no test waits on it.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()
    thread.join()


def _run(daemon: FakeDaemon, line: str, *extra: str):
    return runner.invoke(app, [*line.split(), *extra, "--socket", daemon.path])


def test_show_ike_sa_detail_by_index(daemon):
    result = _run(daemon, "show security ike sa index 5957443 detail")
    assert result.exit_code == 0
    assert result.stdout == golden("ike_sa_detail_seed000.txt")
    assert result.stderr == ""
    (request,) = daemon.requests
    assert request.command == ("show", "security", "ike", "security-associations")
    assert request.args == {"index": 5957443, "level": "detail"}


def test_abbreviated_show_ipsec_sa_detail(daemon):
    result = _run(daemon, "sh sec ips sa det index 131073")
    assert result.exit_code == 0
    assert result.stdout == golden("ipsec_sa_detail_seed000.txt")


def test_show_ike_sa_list(daemon):
    result = _run(daemon, "show security ike security-associations")
    assert result.stdout.splitlines() == [
        "Index   Remote Address  State  Initiator cookie  Responder cookie  Mode",
        "5       1111::1112      UP     e48efd6a444853cf  0d09c59aafb720be  Aggressive",
        "6       3.3.3.2         UP     94906ae2263bbd8e  1c35e4c3fc54d6d3  Main",
        "7       2.2.2.2         UP     7e7a1c0367dfe73c  f284221c656a5fbc  Main",
        "5802591 1.0.0.1         UP     d31d6833108fd69f  9ddfe2ce133086aa  Main",
        "5957443 212.45.64.2     UP     4ede589f52cef9c9  8c9d70cb3a4ce3f2  Main",
    ]


def test_show_statistics_and_next_hop_tunnels(daemon):
    assert _run(daemon, "show security ipsec statistics").stdout == golden(
        "ipsec_statistics_all.txt"
    )
    result = _run(daemon, "show security ipsec next-hop-tunnels interface-name st0.0")
    assert result.stdout == golden("nhtb_hub.txt")


def _keys(data: object) -> set[str]:
    if isinstance(data, dict):
        return set(data) | {k for v in data.values() for k in _keys(v)}
    if isinstance(data, list):
        return {k for v in data for k in _keys(v)}
    return set()


def test_show_json_carries_the_text_fields(daemon):
    result = _run(daemon, "show security ike sa index 5957443 detail", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    (sa,) = data["ike_security_associations"]
    assert sa["index"] == 5957443
    assert sa["initiator_cookie"] == "4ede589f52cef9c9"
    assert sa["dh_group"] == "DH-group-2"
    assert sa["negotiations"][0]["message_id"] == 0
    assert list(sa) == list(OUTPUT_FIELDS["IkeSa"])
    text = golden("ike_sa_detail_seed000.txt")
    for key, name in OUTPUT_FIELDS["IkeSa"].items():
        if name.label is not None and sa[key] is not None and key != "xauth_user_name":
            assert name.label.strip() in text, key


def test_show_ipsec_json_has_every_table_field(daemon):
    data = json.loads(_run(daemon, "show security ipsec sa", "--json").stdout)
    assert data["total_active_tunnels"] == 4
    assert [t["tunnel_id"] for t in data["tunnels"]] == [16384, 131073, 131074, 131075]
    tunnel = data["tunnels"][1]
    assert tunnel["sas"][0]["spi"] == 0x6BE505E0
    assert list(tunnel) == list(OUTPUT_FIELDS["Tunnel"])
    assert list(tunnel["sas"][0]) == list(OUTPUT_FIELDS["IpsecSa"])
    assert list(tunnel["statistics"]) == list(OUTPUT_FIELDS["IpsecStatistics"])
    every = {k for table in OUTPUT_FIELDS.values() for k in table}
    assert _keys(data) <= every


def test_clear_prints_nothing(daemon):
    result = _run(daemon, "clear security ike security-associations 3.3.3.2")
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "")
    assert daemon.requests[0].args == {"peer": "3.3.3.2"}
    result = _run(daemon, "clear sec ipsec stat")
    assert (result.exit_code, result.stdout) == (0, "")
    assert daemon.requests[1].command == ("clear", "security", "ipsec", "statistics")


def test_request_system_reload_prints_the_daemon_note(daemon):
    result = _run(daemon, "request system reload")
    assert (result.exit_code, result.stdout) == (0, "reload: 1 VPN changed, 3 unchanged\n")


def test_daemon_refusal_is_one_error_line(daemon):
    result = _run(daemon, "show security ipsec statistics index 9")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "error: no IPsec SA with index 9\n"


def test_syntax_error_sends_nothing(daemon):
    result = _run(daemon, "show security ipsec s")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[:3] == [
        "show security ipsec s",
        "                    ^",
        "'s' is ambiguous.",
    ]
    assert daemon.requests == []


def test_socket_from_environment(daemon):
    result = runner.invoke(
        app, ["show", "security", "ipsec", "sa"], env={"XFRMCTL_SOCKET": daemon.path}
    )
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == "  Total active tunnels: 4"


def test_socket_path_precedence():
    assert socket_path(None, {}) == "/run/xfrmctl/control.sock"
    assert socket_path(None, {"XFRMCTL_SOCKET": "/x.sock"}) == "/x.sock"
    assert socket_path("/opt.sock", {"XFRMCTL_SOCKET": "/x.sock"}) == "/opt.sock"


def test_no_daemon_is_one_line_and_exit_2(sockdir):
    path = str(sockdir / "missing.sock")
    result = runner.invoke(app, ["show", "security", "ike", "sa", "--socket", path])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"error: xfrmctl daemon is not running (no control socket at {path})\n"


def test_stale_socket_file_counts_as_no_daemon(sockdir):
    path = str(sockdir / "stale.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.close()  # the file stays, nobody listens: ECONNREFUSED
    result = runner.invoke(app, ["show", "security", "ike", "sa", "--socket", path])
    assert result.exit_code == 2
    assert result.stderr == f"error: xfrmctl daemon is not running (no control socket at {path})\n"


def test_silent_daemon_times_out(sockdir):
    path = str(sockdir / "silent.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)  # accepts into the backlog, never answers
    try:
        with pytest.raises(DaemonTimeout):
            ControlClient(path, timeout=0.05).call(ShowIkeSa.command, {})
        result = runner.invoke(
            app, ["show", "security", "ike", "sa", "--socket", path, "--timeout", "0.05"]
        )
    finally:
        listener.close()
    assert result.exit_code == 3
    assert result.stderr == f"error: xfrmctl daemon did not answer within 0.05 seconds ({path})\n"


@pytest.mark.parametrize(
    ("answer_line", "message"),
    [
        (b"garbage\n", "invalid answer from the daemon: invalid JSON"),
        (b'{"id":999,"ok":true,"result":null}\n', "answer for request 999 instead of"),
        (b"", "the daemon closed the connection without answering"),
    ],
)
def test_bad_daemon_answers(sockdir, answer_line, message):
    path = str(sockdir / "bad.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.makefile("rb").readline()
            conn.sendall(answer_line)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with pytest.raises(DaemonProtocolError) as info:
            ControlClient(path, timeout=5).call(ShowIkeSa.command, {})
    finally:
        thread.join()
        listener.close()
    assert str(info.value).startswith(message)


def test_result_of_the_wrong_shape_is_reported(sockdir):
    path = str(sockdir / "shape.sock")

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            request = Request.decode(self.rfile.readline())
            reply = {"id": request.id, "ok": True, "result": {"ike_security_associations": 3}}
            self.wfile.write(json.dumps(reply).encode() + b"\n")

    server = socketserver.UnixStreamServer(path, Handler)
    thread = threading.Thread(target=server.handle_request)
    thread.start()
    result = runner.invoke(app, ["show", "security", "ike", "sa", "--socket", path])
    thread.join()
    server.server_close()
    assert result.exit_code == 3
    assert result.stderr == (
        "error: unexpected answer from the daemon: ike_security_associations: expected a list\n"
    )


def test_pipes_filter_and_count_the_text(daemon):
    assert _run(daemon, "show security ike sa | count").stdout == "Count: 6 lines\n"
    assert _run(daemon, "show security ike sa | match Main | count").stdout == "Count: 4 lines\n"
    result = _run(daemon, "show security ike sa | except UP | no-more")
    assert result.stdout == (
        "Index   Remote Address  State  Initiator cookie  Responder cookie  Mode\n"
    )
    result = _run(daemon, "show security ipsec sa detail | m Tunnel Down")
    assert result.stdout == "  Tunnel Down Reason: Delete payload received\n"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("show security ike sa | frob", "syntax error, expecting <pipe>: frob"),
        ("show security ike sa |", "syntax error, expecting <pipe>."),
        ("show security ike sa | match", "syntax error, expecting <pattern> after match."),
        ("show security ike sa | count 3", "syntax error: count takes no argument"),
        ("show security ike sa | match (", "invalid pattern for match: missing ), unterminated"),
    ],
)
def test_pipe_errors(daemon, line, message):
    result = _run(daemon, line)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[2].startswith(message)
    assert daemon.requests == []


def test_pipes_refuse_json(daemon):
    result = _run(daemon, "show security ike sa | count", "--json")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "show security ike sa | count",
        "                     ^",
        "error: pipes apply to text, not to --json",
    ]


@pytest.mark.parametrize(
    "line",
    [
        "show security ike security-associations",
        "show security ike security-associations detail",
        "show security ipsec security-associations",
        "show security ipsec security-associations brief",
        "show security ipsec security-associations detail",
        "show security ipsec statistics",
        "show security ipsec inactive-tunnels",
        "show security ipsec inactive-tunnels detail",
        "show security ipsec next-hop-tunnels",
    ],
)
def test_every_show_has_json_with_named_fields_only(daemon, line):
    text = _run(daemon, line)
    assert text.exit_code == 0 and text.stdout.strip(), text.stdout
    result = _run(daemon, line, "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert isinstance(data, dict) and data
    every = {k for table in OUTPUT_FIELDS.values() for k in table}
    assert _keys(data) <= every, _keys(data) - every
