"""The architecture spec: the single, frozen, hashable source of truth for a network."""

from __future__ import annotations

import abc
import dataclasses
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from gensynth.config import dump_yaml, from_dict, load_yaml, to_dict
from gensynth.errors import ConfigError
from gensynth.registry import Registry

if TYPE_CHECKING:
    from torch import nn

__all__ = ["SPEC_TYPES", "ArchSpec", "Task", "dump_spec", "load_spec", "spec_from_dict"]

Task = Literal["classify", "segment"]

#: Spec classes by prototype name; a spec's YAML names its prototype in the key ``prototype``.
SPEC_TYPES: Registry[type[ArchSpec]] = Registry("prototype")


@dataclasses.dataclass(frozen=True)
class ArchSpec(abc.ABC):
    """Base of every prototype's spec.

    Subclasses are frozen dataclasses whose fields describe the whole network, including
    ``in_channels``, ``input_size`` (square side in pixels) and ``num_classes``.
    """

    prototype: ClassVar[str]
    task: ClassVar[Task]

    in_channels: int
    input_size: int
    num_classes: int

    @abc.abstractmethod
    def build(self) -> nn.Module:
        """A freshly initialised ``nn.Module`` for this spec (NCHW float input)."""

    @abc.abstractmethod
    def describe(self) -> str:
        """A compact one-line readable form, e.g. ``s24 | ir_k3_c32_n2 | bb_k3_s2_c64_n1``."""

    @abc.abstractmethod
    def scale_width(self, multiplier: float) -> ArchSpec:
        """The same design with every width scaled by ``multiplier`` (rounded, hardware friendly).

        Costs are monotone non-decreasing in ``multiplier``; repair bisects on it.
        """

    def validate(self, path: str = "") -> None:
        """Range checks; raise ConfigError naming the field path. Subclasses extend this."""
        for name in ("in_channels", "input_size", "num_classes"):
            if getattr(self, name) <= 0:
                raise ConfigError(
                    f"{_join(path, name)}: expected a positive integer, got {getattr(self, name)}"
                )

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.in_channels, self.input_size, self.input_size)

    def to_dict(self) -> dict[str, Any]:
        return {"prototype": self.prototype, **to_dict(self)}

    def to_yaml(self) -> str:
        return dump_yaml(self.to_dict())

    @property
    def spec_hash(self) -> str:
        """A stable 12-hex-digit identity: the cache key for costs, latency and trained runs."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:12]

    def replace(self, **changes: Any) -> ArchSpec:
        """A copy with ``changes`` applied and validated."""
        spec = dataclasses.replace(self, **changes)
        spec.validate()
        return spec


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def spec_from_dict(data: Any, path: str = "") -> ArchSpec:
    """The spec described by ``data`` (a dict with a ``prototype`` key)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path or 'spec'}: expected a mapping with a 'prototype' key")
    if "prototype" not in data:
        raise ConfigError(
            f"{_join(path, 'prototype')}: required key is missing",
            hint=f"one of: {', '.join(SPEC_TYPES.names())}",
        )
    cls = SPEC_TYPES.get(str(data["prototype"]))
    body = {key: value for key, value in data.items() if key != "prototype"}
    return from_dict(cls, body, path)


def load_spec(path: str | Path) -> ArchSpec:
    """Read a spec YAML file; errors name the file and the bad field path."""
    data = load_yaml(path, what="spec file")
    try:
        return spec_from_dict(data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err.message}", hint=err.hint) from None


def dump_spec(spec: ArchSpec, path: str | Path) -> None:
    Path(path).write_text(spec.to_yaml(), encoding="utf-8")
