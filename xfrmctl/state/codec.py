"""Strict JSON codec for the state dataclasses.

The control socket carries snapshots as JSON; the CLI turns them back into the same typed
objects the daemon built, so a renderer never sees a half-valid dict. Decoding is strict
(unknown or missing keys, wrong types) because a version skew between CLI and daemon must
show up as one clear error, not as a wrong table.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]


class StateDecodeError(ValueError):
    """A JSON document does not match the state schema; ``path`` names the offending key."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or '<root>'}: {message}")
        self.path = path
        self.message = message


def to_json(obj: object) -> JsonValue:
    """Turn a state dataclass (or a plain value) into JSON-compatible data, keys in field order."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_json(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple | list):
        return [to_json(item) for item in obj]
    if obj is None or isinstance(obj, bool | int | float | str):
        return obj
    raise TypeError(f"not JSON-serialisable state: {type(obj).__name__}")


def from_json(cls: type[T], data: object) -> T:
    """Build ``cls`` from JSON data, raising :class:`StateDecodeError` on any mismatch."""
    return typing.cast(T, _decode(cls, data, ""))


def _type_name(tp: object) -> str:
    return getattr(tp, "__name__", repr(tp))


def _decode(tp: Any, data: object, path: str) -> object:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _decode_dataclass(tp, data, path)
    if origin is Union or origin is types.UnionType:
        options = get_args(tp)
        if data is None and type(None) in options:
            return None
        errors: list[str] = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _decode(option, data, path)
            except StateDecodeError as exc:
                errors.append(exc.message)
        raise StateDecodeError(path, "; ".join(errors) or "null not allowed")
    if origin is Literal:
        allowed = get_args(tp)
        if isinstance(data, str | int) and not isinstance(data, bool) and data in allowed:
            return data
        raise StateDecodeError(path, f"expected one of {', '.join(map(repr, allowed))}")
    if origin is tuple:
        args = get_args(tp)
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"unsupported tuple type {tp!r}")
        if not isinstance(data, list):
            raise StateDecodeError(path, "expected a list")
        return tuple(_decode(args[0], item, f"{path}[{i}]") for i, item in enumerate(data))
    if tp is bool:
        if isinstance(data, bool):
            return data
        raise StateDecodeError(path, "expected true or false")
    if tp is int:
        if isinstance(data, int) and not isinstance(data, bool):
            return data
        raise StateDecodeError(path, "expected an integer")
    if tp is float:
        if isinstance(data, int | float) and not isinstance(data, bool):
            return float(data)
        raise StateDecodeError(path, "expected a number")
    if tp is str:
        if isinstance(data, str):
            return data
        raise StateDecodeError(path, "expected a string")
    raise TypeError(f"unsupported state type {_type_name(tp)}")


def _decode_dataclass(cls: type, data: object, path: str) -> object:
    if not isinstance(data, Mapping):
        raise StateDecodeError(path, f"expected an object ({cls.__name__})")
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise StateDecodeError(path, f"unknown field {unknown[0]!r} in {cls.__name__}")
    kwargs: dict[str, object] = {}
    for name, field in fields.items():
        sub = f"{path}.{name}" if path else name
        if name not in data:
            has_default = (
                field.default is not dataclasses.MISSING
                or field.default_factory is not dataclasses.MISSING
            )
            if has_default:
                continue
            raise StateDecodeError(sub, "missing")
        kwargs[name] = _decode(hints[name], data[name], sub)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise StateDecodeError(path, str(exc)) from None
