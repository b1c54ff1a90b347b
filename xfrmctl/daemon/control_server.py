"""The daemon's end of the control socket: a root-only Unix socket speaking JSON lines.

Every line goes through `xfrmctl.control.serve_line`, so nothing a client sends can raise into
the daemon. A connection from a non-root peer (SO_PEERCRED) other than the daemon's own user is
answered with one error line and closed. The socket file is created mode 0600.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import stat
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path

from xfrmctl.control import (
    MAX_REQUEST_LINE,
    ErrorCode,
    Handler,
    Request,
    Response,
    serve_line,
)
from xfrmctl.control import ControlProtocolError as _ProtocolError
from xfrmctl.state.codec import JsonValue

REFUSAL_READ_TIMEOUT = 5.0
"""Seconds a refused caller has to send its request line before it gets the refusal anyway."""

Prepare = Callable[[Request], Awaitable[Handler]]
"""Given a decoded request, do its asynchronous part and return the synchronous handler."""


def _peer_uid(writer: asyncio.StreamWriter) -> int | None:
    sock = writer.get_extra_info("socket")
    if sock is None:
        return None
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except OSError:
        return None
    _pid, uid, _gid = struct.unpack("3i", creds)
    return int(uid)


class ControlServer:
    def __init__(self, path: str, prepare: Prepare, log: object) -> None:
        self.path = path
        self.prepare = prepare
        self.log = log
        self.server: asyncio.Server | None = None
        self.allowed_uids = {0, os.geteuid()}

    async def start(self) -> None:
        p = Path(self.path)
        p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        if p.exists() or p.is_symlink():
            if not stat.S_ISSOCK(p.lstat().st_mode):
                raise OSError(f"{self.path} exists and is not a socket")
            p.unlink()
        old = os.umask(0o177)
        try:
            self.server = await asyncio.start_unix_server(
                self._client, path=self.path, limit=MAX_REQUEST_LINE + 1
            )
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2.0)
            self.server = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            uid = _peer_uid(writer)
            if uid not in self.allowed_uids:
                await self._refuse(reader, writer)
                return
            while True:
                try:
                    line = await reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    writer.write(
                        Response.failure(
                            None, ErrorCode.LINE_TOO_LONG, "request line exceeds the limit"
                        ).encode()
                    )
                    await writer.drain()
                    return
                if not line:
                    return
                writer.write(await self.answer(line))
                await writer.drain()
        except (ConnectionError, OSError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Read the caller's one request (bounded in time and size), then refuse it.

        Answering before reading would close a socket with unread data, which the caller sees
        as a reset instead of the refusal."""
        request_id = None
        with contextlib.suppress(ValueError, asyncio.LimitOverrunError, TimeoutError):
            line = await asyncio.wait_for(reader.readline(), REFUSAL_READ_TIMEOUT)
            with contextlib.suppress(_ProtocolError):
                request_id = Request.decode(line).id
        writer.write(
            Response.failure(
                request_id, ErrorCode.PERMISSION_DENIED, "the control socket answers root only"
            ).encode()
        )
        await writer.drain()

    async def answer(self, line: bytes) -> bytes:
        """One response line; decoding errors and handler failures become error responses."""
        try:
            request = Request.decode(line)
        except _ProtocolError:
            return serve_line(line, _never)
        try:
            handler = await self.prepare(request)
        except Exception as exc:
            error = getattr(exc, "code", None), getattr(exc, "message", None)
            if error[0] is not None and error[1] is not None:
                return Response.failure(request.id, str(error[0]), str(error[1])).encode()
            log_exception = getattr(self.log, "exception", None)
            if log_exception is not None:
                log_exception("control request failed", command=" ".join(request.command))
            return Response.failure(
                request.id, ErrorCode.INTERNAL_ERROR, "internal error (see the daemon log)"
            ).encode()
        return serve_line(line, handler)


def _never(request: Request) -> JsonValue:
    raise AssertionError("unreachable: the line did not decode")
