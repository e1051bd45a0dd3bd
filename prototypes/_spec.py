"""The architecture spec: the single, frozen, hashable source of truth for a network."""

from __future__ import annotations

import abc
import dataclasses
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from gensynth.config import dump_yaml, from_dict, load_yaml, to_dict
from gensynth.errors import ConfigError
from gensynth.registry import Registry
from gensynth.vocabulary import Task

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "SPEC_TYPES",
    "ArchSpec",
    "Task",
    "check_choice",
    "check_range",
    "dump_spec",
    "load_spec",
    "spec_from_dict",
]


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
    #: The narrowest a scalable width may get (repair and mutations respect it).
    min_width: ClassVar[int] = 8

    in_channels: int
    input_size: int
    num_classes: int

    @abc.abstractmethod
    def build(self) -> nn.Module:
        """A freshly initialised ``nn.Module`` for this spec (NCHW float input)."""

    @abc.abstractmethod
    def describe(self) -> str:
        """A compact one-line form, e.g. ``s32 | ir_k3_e4_c24_n1_s2 | bb_k5_c64_n2_s2_se``."""

    def scale_width(self, multiplier: float, *, divisor: int = 8) -> ArchSpec:
        """The same design with every width scaled by ``multiplier`` (hardware friendly).

        Each width becomes the nearest multiple of ``divisor`` to ``width x multiplier``, at
        least its floor (``width_floors()``). Costs are monotone non-decreasing in
        ``multiplier``; repair bisects on it. Always scale from the original spec: scaling
        compounds rounding.
        """
        from gensynth.prototypes._shapes import make_divisible

        if not multiplier > 0:
            raise ConfigError(f"width multiplier: expected a positive number, got {multiplier}")
        return self.with_widths(
            tuple(
                make_divisible(w * multiplier, divisor, minimum=floor)
                for w, floor in zip(self.widths(), self.width_floors(), strict=True)
            )
        )

    def width_floors(self) -> tuple[int, ...]:
        """The narrowest each entry of ``widths()`` may get: ``min_width`` unless overridden."""
        return (self.min_width,) * len(self.widths())

    @abc.abstractmethod
    def widths(self) -> tuple[int, ...]:
        """Every scalable width (output channels), in a fixed order (see ``width_names``)."""

    @abc.abstractmethod
    def width_names(self) -> tuple[str, ...]:
        """The part each entry of ``widths()`` belongs to: ``stem``, a stage name, ``head``."""

    @abc.abstractmethod
    def with_widths(self, widths: tuple[int, ...]) -> ArchSpec:
        """A copy with ``widths()`` replaced (not validated: widths must be positive)."""

    @abc.abstractmethod
    def stage_names(self) -> list[str]:
        """Names of the stages, as ``model.stage_names()`` of the built model returns them."""

    def reduce_depth(self, stage: str) -> ArchSpec | None:
        """The same design with one block fewer in ``stage``; None where it has only one."""
        return None

    def downsample_earlier(self) -> tuple[ArchSpec, str] | None:
        """The same design with its first full-resolution stage strided; None where none is."""
        return None

    def analytic_costs(self) -> Any:
        """An exact ``_shapes.Tally`` of MACs and parameters, without building the model."""
        raise NotImplementedError(f"{type(self).__name__} has no analytic cost model")

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


def check_range(value: int, low: int, high: int, path: str) -> None:
    """Raise ConfigError naming ``path`` unless ``low <= value <= high``."""
    if not low <= value <= high:
        positive = low == 1 and value < 1
        expected = "a positive integer" if positive else f"an integer in [{low}, {high}]"
        raise ConfigError(f"{path}: expected {expected}, got {value}")


def check_choice(value: Any, choices: tuple[Any, ...], path: str) -> None:
    """Raise ConfigError naming ``path`` unless ``value`` is one of ``choices``."""
    if value not in choices or isinstance(value, bool) != isinstance(choices[0], bool):
        valid = ", ".join(map(repr, choices))
        raise ConfigError(f"{path}: expected one of {valid}, got {value!r}")


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
    if data is None:
        raise ConfigError(
            f"spec file {str(path)!r} is empty; expected a spec",
            hint="e.g. gensynth prototypes show residual > spec.yaml",
        )
    try:
        return spec_from_dict(data)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err.message}", hint=err.hint) from None


def dump_spec(spec: ArchSpec, path: str | Path) -> None:
    Path(path).write_text(spec.to_yaml(), encoding="utf-8")
