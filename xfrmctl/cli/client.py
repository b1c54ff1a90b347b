"""Client side of the control socket: send one request, wait for its one response.

Blocking and short-lived on purpose: a ``show`` opens the socket, asks, prints and exits.
Every failure maps to a typed exception so the command can print one clear line.
"""

from __future__ import annotations

import itertools
import os
import socket
from collections.abc import Mapping
from typing import Final

from xfrmctl.control import (
    DEFAULT_SOCKET_PATH,
    MAX_RESPONSE_LINE,
    SOCKET_ENV,
    ControlProtocolError,
    ErrorCode,
    Request,
    Response,
)
from xfrmctl.state.codec import JsonValue

DEFAULT_TIMEOUT: Final = 10.0
_CHUNK: Final = 65536
_ids = itertools.count(1)


class ControlClientError(Exception):
    """Base of every failure to get an answer from the daemon."""


class DaemonNotRunning(ControlClientError):
    def __init__(self, path: str) -> None:
        super().__init__(f"xfrmctl daemon is not running (no control socket at {path})")
        self.path = path


class DaemonTimeout(ControlClientError):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__(f"xfrmctl daemon did not answer within {timeout:g} seconds ({path})")


class PermissionDenied(ControlClientError):
    """Not root: the socket file is closed to us, or the daemon refused our credentials."""

    def __init__(self, path: str) -> None:
        super().__init__(f"permission denied: the xfrmctl control socket {path} is for root only")
        self.path = path


class DaemonProtocolError(ControlClientError):
    """The daemon's answer is not a valid response to our request."""


class DaemonError(ControlClientError):
    """The daemon refused the request (``code`` from :class:`xfrmctl.control.ErrorCode`)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def socket_path(option: str | None, environ: Mapping[str, str] | None = None) -> str:
    """``--socket``, else ``$XFRMCTL_SOCKET``, else the default path."""
    if option:
        return option
    env = os.environ if environ is None else environ
    return env.get(SOCKET_ENV) or DEFAULT_SOCKET_PATH


class ControlClient:
    def __init__(self, path: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.path = path
        self.timeout = timeout

    def call(self, command: tuple[str, ...], args: Mapping[str, JsonValue]) -> JsonValue:
        """Send one request and return its ``result``; raise a :class:`ControlClientError`."""
        request = Request(id=next(_ids), command=command, args=dict(args))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.path)
            except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError):
                raise DaemonNotRunning(self.path) from None
            except PermissionError:
                raise PermissionDenied(self.path) from None
            except TimeoutError:
                raise DaemonTimeout(self.path, self.timeout) from None
            line = self._exchange(sock, request.encode())
        finally:
            sock.close()
        try:
            response = Response.decode(line)
        except ControlProtocolError as exc:
            raise DaemonProtocolError(f"invalid answer from the daemon: {exc.message}") from None
        if response.error is not None and response.error.code == ErrorCode.PERMISSION_DENIED:
            raise PermissionDenied(self.path)  # said before reading the request: no id
        if response.id != request.id:
            raise DaemonProtocolError(
                f"answer for request {response.id!r} instead of {request.id!r}"
            )
        if response.error is not None:
            raise DaemonError(response.error.code, response.error.message)
        return response.result

    def _exchange(self, sock: socket.socket, payload: bytes) -> bytes:
        buffer = bytearray()
        try:
            sock.sendall(payload)
            while b"\n" not in buffer:
                chunk = sock.recv(_CHUNK)
                if not chunk:
                    raise DaemonProtocolError("the daemon closed the connection without answering")
                buffer += chunk
                if len(buffer) > MAX_RESPONSE_LINE:
                    raise DaemonProtocolError("the daemon's answer exceeds the size limit")
        except TimeoutError:
            raise DaemonTimeout(self.path, self.timeout) from None
        except (BrokenPipeError, ConnectionResetError):
            raise DaemonProtocolError("the daemon closed the connection") from None
        return bytes(buffer[: buffer.index(b"\n") + 1])
