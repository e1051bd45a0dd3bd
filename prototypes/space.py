"""The prototype registry: each design space's default spec and its Optuna sampler.

``sample`` asks the trial for choices with fixed distributions per parameter name, the very
table every trial records its final design in (:mod:`gensynth.prototypes.params`), so TPE
models drafted and recorded designs in one space: counts first (``n_stages``,
``stage{i}_depth``), then per-position choices; parameters of absent stages are not asked.
Repair scales the drawn widths into the constraint band afterwards.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gensynth.errors import ConfigError
from gensynth.prototypes._spec import ArchSpec, Task
from gensynth.prototypes.residual import ResidualSpec
from gensynth.prototypes.unet import ResidualUNetSpec
from gensynth.registry import Registry

if TYPE_CHECKING:
    import optuna

__all__ = [
    "PROTOTYPES",
    "Prototype",
    "fit_to_input",
    "get_prototype",
    "list_prototypes",
]


@dataclasses.dataclass(frozen=True)
class Prototype:
    """A design space: its spec type, a hand-made default design, and an Optuna sampler."""

    name: str
    task: Task
    description: str
    spec_type: type[ArchSpec]
    defaults: tuple[int, int, int]  # in_channels, input_size, num_classes
    make_default: Callable[[int, int, int], ArchSpec]
    make_sample: Callable[[Any, int, int, int], ArchSpec]

    def _io(
        self, in_channels: int | None, input_size: int | None, num_classes: int | None
    ) -> tuple[int, int, int]:
        c, s, n = self.defaults
        return (
            c if in_channels is None else in_channels,
            s if input_size is None else input_size,
            n if num_classes is None else num_classes,
        )

    def default_spec(
        self,
        *,
        in_channels: int | None = None,
        input_size: int | None = None,
        num_classes: int | None = None,
    ) -> ArchSpec:
        """A sensible mid-size design; None takes the prototype's default (1, 200, 6 / 1, 224, 1)."""  # noqa: E501
        spec = fit_to_input(self.make_default(*self._io(in_channels, input_size, num_classes)))
        spec.validate()
        return spec

    def sample(
        self,
        trial: optuna.trial.BaseTrial,
        *,
        in_channels: int | None = None,
        input_size: int | None = None,
        num_classes: int | None = None,
    ) -> ArchSpec:
        """A design drawn through ``trial.suggest_*``; valid, widths at multiplier 1."""
        spec = self.make_sample(trial, *self._io(in_channels, input_size, num_classes))
        spec = fit_to_input(spec)
        spec.validate()
        return spec


PROTOTYPES: Registry[Prototype] = Registry("prototype")


def get_prototype(name: str) -> Prototype:
    """The prototype ``name``; an unknown name lists the valid ones and the closest match."""
    return PROTOTYPES.get(name)


def list_prototypes() -> list[Prototype]:
    return [proto for _, proto in PROTOTYPES.items()]


def fit_to_input(spec: ArchSpec) -> ArchSpec:
    """Drops the deepest down-sampling steps that would shrink the map below 1x1."""
    for _ in range(16):
        try:
            spec.validate()
            return spec
        except ConfigError as err:
            if "below 1x1" not in err.message:
                raise
        spec = _drop_last_stride(spec)
    return spec


def _drop_last_stride(spec: ArchSpec) -> ArchSpec:
    if isinstance(spec, ResidualSpec):
        for i in range(len(spec.stages) - 1, -1, -1):
            if spec.stages[i].stride == 2:
                stages = list(spec.stages)
                stages[i] = dataclasses.replace(stages[i], stride=1)
                return dataclasses.replace(spec, stages=tuple(stages))
        if spec.stem.pool:
            return dataclasses.replace(spec, stem=dataclasses.replace(spec.stem, pool=False))
        return dataclasses.replace(spec, stem=dataclasses.replace(spec.stem, stride=1))
    if isinstance(spec, ResidualUNetSpec) and len(spec.encoder) > 2:
        return dataclasses.replace(spec, encoder=spec.encoder[:-1], decoder=spec.decoder[1:])
    return spec


def _residual_default(in_channels: int, input_size: int, num_classes: int) -> ArchSpec:
    return ResidualSpec(in_channels=in_channels, input_size=input_size, num_classes=num_classes)


def _unet_default(in_channels: int, input_size: int, num_classes: int) -> ArchSpec:
    return ResidualUNetSpec(
        in_channels=in_channels, input_size=input_size, num_classes=num_classes
    )


def _sampler(name: str) -> Callable[[Any, int, int, int], ArchSpec]:
    """The prototype's draw through ``trial.suggest_*`` (see :mod:`gensynth.prototypes.params`)."""

    def draw(trial: Any, in_channels: int, input_size: int, num_classes: int) -> ArchSpec:
        from gensynth.prototypes.params import sample

        io = {"in_channels": in_channels, "input_size": input_size, "num_classes": num_classes}
        return sample(trial, name, io)

    return draw


PROTOTYPES.add(
    "residual",
    Prototype(
        "residual",
        "classify",
        "classifier: stem, 2-5 residual stages, pool + linear",
        ResidualSpec,
        (1, 200, 6),
        _residual_default,
        _sampler("residual"),
    ),
)
PROTOTYPES.add(
    "residual-unet",
    Prototype(
        "residual-unet",
        "segment",
        "encoder-decoder, skips, LOS-UNet and A-Net blocks",
        ResidualUNetSpec,
        (1, 224, 1),
        _unet_default,
        _sampler("residual-unet"),
    ),
)
