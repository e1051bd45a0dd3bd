"""The prototype registry: each design space's default spec and its Optuna sampler.

``sample`` asks the trial for choices with fixed distributions per parameter name (so TPE
models them across trials): counts first (``n_stages``, ``stage{i}_depth``), then per-position
choices; parameters of absent stages are not asked. Widths come at multiplier 1 from a fixed
menu: repair scales them into the constraint band afterwards.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gensynth.errors import ConfigError
from gensynth.prototypes._spec import ArchSpec, Task
from gensynth.prototypes.residual import BLOCK_KINDS, ResidualSpec, StageSpec, StemSpec
from gensynth.prototypes.unet import DecoderLevel, EncoderLevel, ResidualUNetSpec, UNetStemSpec
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

WIDTHS = (16, 24, 32, 40, 48, 64, 80, 96, 128, 160, 192, 256)
UNET_SAMPLED_BLOCKS = ("single", "dilated", "dw2", "dwd2", "cut", "light", "wide")
UNET_STEMS = ("none", "conv1", "conv2", "anet")


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


def _residual_sample(trial: Any, in_channels: int, input_size: int, num_classes: int) -> ArchSpec:
    n_stages = trial.suggest_int("n_stages", 2, 5)
    stem = StemSpec(
        width=trial.suggest_categorical("stem_width", (16, 24, 32)),
        kernel=trial.suggest_categorical("stem_kernel", (3, 5, 7)),
        stride=2,
        pool=trial.suggest_categorical("stem_pool", (False, True)),
    )
    stages = [_sample_stage(trial, i) for i in range(n_stages)]
    # Widths never shrink with depth (a design principle of good residual spaces, RegNet):
    # the sampled widths are assigned to the stages in increasing order.
    widths = sorted(stage.width for stage in stages)
    stages = [dataclasses.replace(s, width=w) for s, w in zip(stages, widths, strict=True)]
    return ResidualSpec(in_channels, input_size, num_classes, stem, tuple(stages), "relu")


def _sample_stage(trial: Any, i: int) -> StageSpec:
    block = trial.suggest_categorical(f"stage{i}_block", BLOCK_KINDS)
    depth = trial.suggest_int(f"stage{i}_depth", 1, 4)
    width = trial.suggest_categorical(f"stage{i}_width", WIDTHS)
    stride = trial.suggest_categorical(f"stage{i}_stride", (1, 2))
    kernel = trial.suggest_categorical(f"stage{i}_kernel", (3, 5))
    if block == "inverted":
        expansion = trial.suggest_categorical(f"stage{i}_expansion_inverted", (2.0, 3.0, 4.0, 6.0))
    elif block == "basic":
        expansion = 1.0
    else:
        expansion = trial.suggest_categorical(f"stage{i}_expansion_reduce", (0.25, 0.5))
    se = trial.suggest_categorical(f"stage{i}_se", (False, True))
    return StageSpec(block, width, depth, stride, kernel, float(expansion), se)


def _unet_default(in_channels: int, input_size: int, num_classes: int) -> ArchSpec:
    return ResidualUNetSpec(
        in_channels=in_channels, input_size=input_size, num_classes=num_classes
    )


def _unet_sample(trial: Any, in_channels: int, input_size: int, num_classes: int) -> ArchSpec:
    n_levels = trial.suggest_int("n_levels", 3, 5)
    stem_kind = trial.suggest_categorical("stem", UNET_STEMS)
    stem = None
    if stem_kind != "none":
        width = trial.suggest_categorical("stem_width", (16, 24, 32))
        kind = "anet" if stem_kind == "anet" else "conv"
        stem = UNetStemSpec(kind, width, 1 if stem_kind == "conv1" else 2)
    head_width = None
    if stem is not None and stem.stride == 2:
        head_width = trial.suggest_categorical("head_width", (8, 16, 32))
    encoder = tuple(
        EncoderLevel(
            trial.suggest_categorical(f"enc{i}_width", WIDTHS),
            _sample_blocks(trial, f"enc{i}"),
            "none"
            if i == 0
            else trial.suggest_categorical(f"enc{i}_down", ("maxpool", "conv", "anet")),
        )
        for i in range(n_levels)
    )
    decoder = tuple(
        DecoderLevel(
            trial.suggest_categorical(f"dec{j}_width", WIDTHS),
            _sample_blocks(trial, f"dec{j}"),
            trial.suggest_categorical(f"dec{j}_up", ("transpose", "bilinear", "anet")),
            trial.suggest_categorical(f"dec{j}_skip", (True, False)),
        )
        for j in range(n_levels - 1)
    )
    return ResidualUNetSpec(
        in_channels, input_size, num_classes, stem, encoder, decoder, head_width, True, "relu"
    )


def _sample_blocks(trial: Any, prefix: str) -> tuple[Any, ...]:
    depth = trial.suggest_int(f"{prefix}_depth", 1, 3)
    return tuple(
        trial.suggest_categorical(f"{prefix}_b{k}", UNET_SAMPLED_BLOCKS) for k in range(depth)
    )


PROTOTYPES.add(
    "residual",
    Prototype(
        "residual",
        "classify",
        "classifier: stem, 2-5 residual stages, pool + linear",
        ResidualSpec,
        (1, 200, 6),
        _residual_default,
        _residual_sample,
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
        _unet_sample,
    ),
)
