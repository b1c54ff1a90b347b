"""The control protocol between ``xfrmctl`` commands and the daemon: JSON lines on a Unix socket.

One request per line, ``{"id": 1, "command": ["show", "security", "ike",
"security-associations"], "args": {"level": "detail"}}``, answered by one line,
``{"id": 1, "ok": true, "result": ...}`` or ``{"id": 1, "ok": false, "error": {"code": ...,
"message": ...}}``. Command words are the canonical keywords (the CLI expands prefixes and
aliases first), and ``args`` are the fields of the matching :mod:`xfrmctl.state.query` type.
Decoding is strict and bounded: whatever arrives on the socket, :func:`serve_line` answers
with a response and never raises, so a broken client cannot take the daemon down.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from xfrmctl.state.codec import JsonValue
from xfrmctl.state.query import QueryError

DEFAULT_SOCKET_PATH: Final = "/run/xfrmctl/control.sock"
SOCKET_ENV: Final = "XFRMCTL_SOCKET"
# A request is a few words and arguments; a response may carry thousands of SAs.
MAX_REQUEST_LINE: Final = 64 * 1024
MAX_RESPONSE_LINE: Final = 64 * 1024 * 1024
MAX_ID_LENGTH: Final = 128
MAX_COMMAND_WORDS: Final = 16
MAX_WORD_LENGTH: Final = 64

RequestId = int | str


class ErrorCode(StrEnum):
    PARSE_ERROR = "parse-error"
    INVALID_REQUEST = "invalid-request"
    PERMISSION_DENIED = "permission-denied"
    LINE_TOO_LONG = "line-too-long"
    UNKNOWN_COMMAND = "unknown-command"
    INVALID_ARGUMENT = "invalid-argument"
    NOT_FOUND = "not-found"
    UNSUPPORTED = "unsupported"
    INTERNAL_ERROR = "internal-error"


class ControlProtocolError(ValueError):
    """A line that is not a valid request or response; ``request_id`` when it could be read."""

    def __init__(self, code: str, message: str, request_id: RequestId | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def _load_line(line: bytes, limit: int) -> object:
    if len(line) > limit:
        raise ControlProtocolError(
            ErrorCode.LINE_TOO_LONG, f"line of {len(line)} bytes exceeds the limit of {limit}"
        )
    if line.endswith(b"\n"):
        line = line[:-1]
    try:
        return json.loads(line.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise ControlProtocolError(ErrorCode.PARSE_ERROR, "line is not UTF-8") from None
    except RecursionError:
        raise ControlProtocolError(ErrorCode.PARSE_ERROR, "JSON nested too deeply") from None
    except ValueError as exc:
        raise ControlProtocolError(ErrorCode.PARSE_ERROR, f"invalid JSON: {exc}") from None


def _dump_line(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":"), allow_nan=False).encode() + b"\n"


def _check_id(value: object) -> RequestId:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ControlProtocolError(ErrorCode.INVALID_REQUEST, "id must be an integer or a string")
    if isinstance(value, str) and len(value) > MAX_ID_LENGTH:
        raise ControlProtocolError(ErrorCode.INVALID_REQUEST, "id is too long")
    return value


def _check_keys(
    obj: Mapping[str, object], allowed: set[str], what: str, rid: RequestId | None
) -> None:
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise ControlProtocolError(
            ErrorCode.INVALID_REQUEST, f"unknown key {unknown[0]!r} in {what}", rid
        )


@dataclass(frozen=True, slots=True)
class Request:
    id: RequestId
    command: tuple[str, ...]
    args: Mapping[str, JsonValue] = field(default_factory=dict)

    def encode(self) -> bytes:
        line = _dump_line({"id": self.id, "command": list(self.command), "args": dict(self.args)})
        if len(line) > MAX_REQUEST_LINE:
            raise ControlProtocolError(ErrorCode.LINE_TOO_LONG, "request too long", self.id)
        return line

    @classmethod
    def decode(cls, line: bytes) -> Request:
        data = _load_line(line, MAX_REQUEST_LINE)
        if not isinstance(data, dict):
            raise ControlProtocolError(ErrorCode.INVALID_REQUEST, "request must be a JSON object")
        if "id" not in data:
            raise ControlProtocolError(ErrorCode.INVALID_REQUEST, "request has no id")
        rid = _check_id(data["id"])
        _check_keys(data, {"id", "command", "args"}, "request", rid)
        command = data.get("command")
        if (
            not isinstance(command, list)
            or not command
            or len(command) > MAX_COMMAND_WORDS
            or not all(isinstance(w, str) and 0 < len(w) <= MAX_WORD_LENGTH for w in command)
        ):
            raise ControlProtocolError(
                ErrorCode.INVALID_REQUEST,
                f"command must be a list of 1..{MAX_COMMAND_WORDS} non-empty words",
                rid,
            )
        args = data.get("args", {})
        if not isinstance(args, dict):
            raise ControlProtocolError(ErrorCode.INVALID_REQUEST, "args must be an object", rid)
        return cls(id=rid, command=tuple(command), args=args)


@dataclass(frozen=True, slots=True)
class ControlError:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Response:
    id: RequestId | None
    ok: bool
    result: JsonValue = None
    error: ControlError | None = None

    def __post_init__(self) -> None:
        if self.ok == (self.error is not None):
            raise ValueError("a response carries an error exactly when ok is false")

    @classmethod
    def success(cls, request_id: RequestId, result: JsonValue) -> Response:
        return cls(id=request_id, ok=True, result=result)

    @classmethod
    def failure(cls, request_id: RequestId | None, code: str, message: str) -> Response:
        return cls(id=request_id, ok=False, error=ControlError(code, message))

    def encode(self) -> bytes:
        if self.error is None:
            return _dump_line({"id": self.id, "ok": True, "result": self.result})
        error = {"code": self.error.code, "message": self.error.message}
        return _dump_line({"id": self.id, "ok": False, "error": error})

    @classmethod
    def decode(cls, line: bytes) -> Response:
        data = _load_line(line, MAX_RESPONSE_LINE)
        if not isinstance(data, dict) or not isinstance(data.get("ok"), bool):
            raise ControlProtocolError(ErrorCode.INVALID_REQUEST, "response must have ok: bool")
        rid = None if data.get("id") is None else _check_id(data.get("id"))
        if data["ok"]:
            _check_keys(data, {"id", "ok", "result"}, "response", rid)
            if "result" not in data:
                raise ControlProtocolError(ErrorCode.INVALID_REQUEST, "response has no result", rid)
            return cls(id=rid, ok=True, result=data["result"])
        _check_keys(data, {"id", "ok", "error"}, "response", rid)
        error = data.get("error")
        if (
            not isinstance(error, dict)
            or set(error) != {"code", "message"}
            or not isinstance(error["code"], str)
            or not isinstance(error["message"], str)
        ):
            raise ControlProtocolError(
                ErrorCode.INVALID_REQUEST, "error must be {code, message} strings", rid
            )
        return cls.failure(rid, error["code"], error["message"])


Handler = Callable[[Request], JsonValue]


def serve_line(line: bytes, handler: Handler) -> bytes:
    """Answer one request line; every failure becomes an error response, never an exception.

    ``handler`` raises :class:`~xfrmctl.state.query.QueryError` (or
    :class:`ControlProtocolError`) for requests it refuses; anything else it raises is
    reported as ``internal-error`` without details, which belong in the daemon's log.
    """
    try:
        request = Request.decode(line)
    except ControlProtocolError as exc:
        return Response.failure(exc.request_id, exc.code, exc.message).encode()
    try:
        result = handler(request)
        return Response.success(request.id, result).encode()
    except (QueryError, ControlProtocolError) as exc:
        return Response.failure(request.id, exc.code, exc.message).encode()
    except Exception:
        return Response.failure(
            request.id, ErrorCode.INTERNAL_ERROR, "internal error (see the daemon log)"
        ).encode()
