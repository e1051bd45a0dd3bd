"""Typed, field-by-field loading of frozen dataclasses from plain dicts (YAML).

Unknown keys and wrong types are errors that name the field path, e.g.
``stages[2].width: expected int, got 'wide'``. A dataclass may define
``validate(self, path: str) -> None`` for range checks; it runs after construction.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml

from gensynth.errors import ConfigError
from gensynth.paths import require_file
from gensynth.registry import closest

__all__ = [
    "check_choice",
    "check_positive_int",
    "dump_yaml",
    "from_dict",
    "load_yaml",
    "to_dict",
]

T = TypeVar("T")


def load_yaml(path: str | Path, *, what: str = "file") -> Any:
    """``yaml.safe_load`` of a file, with one-line errors for a missing or non-YAML file."""
    path = require_file(Path(path), what=what)
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        where = getattr(err, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise ConfigError(f"{what} {str(path)!r} is not valid YAML{at}") from None


def check_positive_int(value: Any, what: str, *, minimum: int = 1) -> int:
    """``value`` if it is an integer of at least ``minimum`` (not a bool), else a ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        expected = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ConfigError(f"{what}: expected {expected}, got {value!r}")
    return value


def check_choice(value: Any, choices: Iterable[Any], what: str) -> Any:
    """``value`` if it is one of ``choices``, else a ConfigError that lists them."""
    valid = list(choices)
    if value not in valid:
        near = closest(str(value), [str(c) for c in valid])
        raise ConfigError(
            f"{what}: expected one of {', '.join(map(str, valid))}, got {value!r}",
            hint=f"did you mean {near!r}?" if near else None,
        )
    return value


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=99)


def to_dict(obj: Any) -> Any:
    """A dataclass (recursively) as plain dicts, lists and scalars, in field order."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(item) for item in obj]
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, Mapping):
        return {key: to_dict(value) for key, value in obj.items()}
    return obj


def from_dict(cls: type[T], data: Any, path: str = "") -> T:
    """Build dataclass ``cls`` from ``data``, checking every field against its type hint."""
    if not isinstance(data, Mapping):
        where = f"{path}: " if path else ""
        raise ConfigError(f"{where}expected a mapping of keys to values, got {_show(data)}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    for key in data:
        if key not in fields:
            near = closest(str(key), list(fields))
            raise ConfigError(
                f"{_join(path, str(key))}: unknown key; expected one of: {', '.join(fields)}",
                hint=f"did you mean {near!r}?" if near else None,
            )
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if name in data:
            values[name] = _convert(hints[name], data[name], _join(path, name))
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{_join(path, name)}: required key is missing")
    obj = cls(**values)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        validate(path)
    return obj


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _show(value: Any) -> str:
    return f"{type(value).__name__} {value!r}" if not isinstance(value, Mapping) else "a mapping"


def _convert(hint: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(arg, value, path)
            except ConfigError as err:
                errors.append(err.message)
        raise ConfigError(errors[0] if len(errors) == 1 else f"{path}: unexpected {_show(value)}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(
                f"{path}: expected one of {', '.join(map(repr, args))}, got {value!r}"
            )
        return value
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {_show(value)}")
        item = args[0] if args else Any
        items = [_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: expected a mapping, got {_show(value)}")
        return {
            str(k): _convert(args[1] if args else Any, v, f"{path}.{k}") for k, v in value.items()
        }
    if dataclasses.is_dataclass(hint):
        return from_dict(hint, value, path)  # type: ignore[arg-type]
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError:
            valid = ", ".join(repr(m.value) for m in hint)
            raise ConfigError(f"{path}: expected one of {valid}, got {value!r}") from None
    return _scalar(hint, value, path)


def _scalar(hint: Any, value: Any, path: str) -> Any:
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    else:
        return value
    raise ConfigError(f"{path}: expected {hint.__name__}, got {_show(value)}")
