"""A small generic name -> object registry, filled by a decorator (timm style)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from gensynth.errors import ConfigError

__all__ = ["Registry", "closest"]

T = TypeVar("T")


def closest(name: str, choices: list[str]) -> str | None:
    """The valid name closest to a misspelt one, if any is close enough."""
    match = difflib.get_close_matches(name, choices, n=1, cutoff=0.5)
    return match[0] if match else None


class Registry(Generic[T]):
    """Maps lowercase-dashed names (``residual-unet``, ``onnxruntime-cpu``) to objects."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers ``obj`` under ``name``; duplicate names are a bug."""

        def add(obj: T) -> T:
            if name in self._items:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._items[name] = obj
            return obj

        return add

    def add(self, name: str, obj: T) -> T:
        return self.register(name)(obj)

    def get(self, name: str) -> T:
        """The object named ``name``; an unknown name lists the valid ones and the closest."""
        try:
            return self._items[name]
        except KeyError:
            valid = sorted(self._items)
            near = closest(name, valid)
            raise ConfigError(
                f"unknown {self.kind} {name!r}; expected one of: {', '.join(valid)}",
                hint=f"did you mean {near!r}?" if near else None,
            ) from None

    def names(self) -> list[str]:
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        return iter(sorted(self._items.items()))

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __len__(self) -> int:
        return len(self._items)
