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
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

T = TypeVar("T")

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]


class StateDecodeError(ValueError):
    """A JSON document does not match the state schema; ``path`` names the offending key."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path or '<root>'}: {message}")
        self.path = path
        self.message = message


_SCALARS: frozenset[type] = frozenset({str, int, float, bool, type(None)})
# class -> (field names, the names whose values are not plain JSON scalars by their type)
_PLANS: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {}


def to_json(obj: object) -> JsonValue:
    """Turn a state dataclass (or a plain value) into JSON-compatible data, keys in field order.

    Each class's fields are looked at once, and a field declared as a scalar (str, int, bool,
    float, a Literal, or one of them or None) is taken as it is: a `show` with 10,000 tunnels
    encodes some 300,000 values."""
    cls = type(obj)
    if cls in _SCALARS:
        return obj  # type: ignore[return-value]
    plan = _PLANS.get(cls)
    if plan is None:
        if cls is tuple or cls is list:
            return [to_json(item) for item in obj]  # type: ignore[attr-defined]
        if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
            if isinstance(obj, tuple | list):
                return [to_json(item) for item in obj]
            if isinstance(obj, bool | int | float | str):
                return obj
            raise TypeError(f"not JSON-serialisable state: {type(obj).__name__}")
        plan = _PLANS[cls] = _plan(cls)
    names, nested = plan
    out = {name: getattr(obj, name) for name in names}
    for name in nested:
        out[name] = to_json(out[name])
    return out


def _plan(cls: type) -> tuple[tuple[str, ...], tuple[str, ...]]:
    names = tuple(f.name for f in dataclasses.fields(cls))
    try:
        hints = get_type_hints(cls)
    except (NameError, TypeError):  # hints that do not resolve: every value is walked
        return names, names
    return names, tuple(n for n in names if not _scalar_type(hints[n]))


def _scalar_type(tp: Any) -> bool:
    """A type whose values to_json returns unchanged: str, int, float, bool, None, Literal."""
    if tp in _SCALARS:
        return True
    origin = get_origin(tp)
    if origin is Literal:
        return all(type(v) in _SCALARS for v in get_args(tp))
    if origin is Union or origin is types.UnionType:
        return all(_scalar_type(option) for option in get_args(tp))
    return False


def from_json(cls: type[T], data: object) -> T:
    """Build ``cls`` from JSON data, raising :class:`StateDecodeError` on any mismatch."""
    return typing.cast(T, _decoder(cls)(data, ""))


def _type_name(tp: object) -> str:
    return getattr(tp, "__name__", repr(tp))


Decoder = Callable[[object, str], object]
_DECODERS: dict[object, Decoder] = {}


def _decoder(tp: Any) -> Decoder:
    """The decoder of one type, built once: resolving a dataclass's type hints per object made
    decoding a 10,000-tunnel answer take seconds."""
    try:
        return _DECODERS[tp]
    except KeyError:
        pass
    except TypeError:  # an unhashable type form: built each time
        return _build(tp)
    decoder = _DECODERS[tp] = _build(tp)
    return decoder


def _build(tp: Any) -> Decoder:
    origin = get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _dataclass_decoder(tp)
    if origin is Union or origin is types.UnionType:
        return _union_decoder(get_args(tp))
    if origin is Literal:
        return _literal_decoder(get_args(tp))
    if origin is tuple:
        args = get_args(tp)
        if len(args) != 2 or args[1] is not Ellipsis:
            return _unsupported(f"unsupported tuple type {tp!r}")
        return _tuple_decoder(args[0])
    scalar = _SCALAR_DECODERS.get(tp)
    if scalar is not None:
        return scalar
    return _unsupported(f"unsupported state type {_type_name(tp)}")


def _unsupported(message: str) -> Decoder:
    def decode(data: object, path: str) -> object:
        raise TypeError(message)

    return decode


def _union_decoder(options: tuple[Any, ...]) -> Decoder:
    nullable = type(None) in options
    choices = [o for o in options if o is not type(None)]

    def decode(data: object, path: str) -> object:
        if data is None and nullable:
            return None
        errors: list[str] = []
        for option in choices:
            try:
                return _decoder(option)(data, path)
            except StateDecodeError as exc:
                errors.append(exc.message)
        raise StateDecodeError(path, "; ".join(errors) or "null not allowed")

    return decode


def _literal_decoder(allowed: tuple[Any, ...]) -> Decoder:
    def decode(data: object, path: str) -> object:
        if isinstance(data, str | int) and not isinstance(data, bool) and data in allowed:
            return data
        raise StateDecodeError(path, f"expected one of {', '.join(map(repr, allowed))}")

    return decode


def _tuple_decoder(item: Any) -> Decoder:
    def decode(data: object, path: str) -> tuple[object, ...]:
        if not isinstance(data, list):
            raise StateDecodeError(path, "expected a list")
        each = _decoder(item)
        return tuple(each(value, f"{path}[{i}]") for i, value in enumerate(data))

    return decode


def _decode_bool(data: object, path: str) -> object:
    if isinstance(data, bool):
        return data
    raise StateDecodeError(path, "expected true or false")


def _decode_int(data: object, path: str) -> object:
    if isinstance(data, int) and not isinstance(data, bool):
        return data
    raise StateDecodeError(path, "expected an integer")


def _decode_float(data: object, path: str) -> object:
    if isinstance(data, int | float) and not isinstance(data, bool):
        return float(data)
    raise StateDecodeError(path, "expected a number")


def _decode_str(data: object, path: str) -> object:
    if isinstance(data, str):
        return data
    raise StateDecodeError(path, "expected a string")


_SCALAR_DECODERS: dict[object, Decoder] = {
    bool: _decode_bool,
    int: _decode_int,
    float: _decode_float,
    str: _decode_str,
}


def _dataclass_decoder(cls: type) -> Decoder:
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    known = frozenset(fields)
    # (name, has a default, the types taken as they are, the field's decoder), resolved on
    # first use: the hints of a class may name types defined after it.
    table: list[tuple[str, bool, frozenset[type], Decoder]] = []

    def resolve() -> list[tuple[str, bool, frozenset[type], Decoder]]:
        hints = get_type_hints(cls)
        table[:] = [
            (
                name,
                field.default is not dataclasses.MISSING
                or field.default_factory is not dataclasses.MISSING,
                _exact_types(hints[name]),
                _decoder(hints[name]),
            )
            for name, field in fields.items()
        ]
        return table

    def decode(data: object, path: str) -> object:
        if not isinstance(data, Mapping):
            raise StateDecodeError(path, f"expected an object ({cls.__name__})")
        if not known.issuperset(data):
            unknown = sorted(set(data) - known)
            raise StateDecodeError(path, f"unknown field {unknown[0]!r} in {cls.__name__}")
        kwargs: dict[str, object] = {}
        for name, has_default, exact, each in table or resolve():
            if name not in data:
                if has_default:
                    continue
                raise StateDecodeError(f"{path}.{name}" if path else name, "missing")
            value = data[name]
            if type(value) in exact:
                kwargs[name] = value
            else:
                kwargs[name] = each(value, f"{path}.{name}" if path else name)
        try:
            return cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise StateDecodeError(path, str(exc)) from None

    return decode


def _exact_types(tp: Any) -> frozenset[type]:
    """The JSON value types a field's decoder returns unchanged whatever the value: str, int
    and bool for those types, None too when the field is optional. Empty for the others
    (floats are converted, literals and nested types checked)."""
    if tp in (str, int, bool):
        return frozenset({tp})
    origin = get_origin(tp)
    if origin is Union or origin is types.UnionType:
        options = [o for o in get_args(tp) if o is not type(None)]
        if len(options) == 1 and options[0] in (str, int, bool) and len(get_args(tp)) == 2:
            return frozenset({options[0], type(None)})
    return frozenset()
