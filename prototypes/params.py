"""A prototype's design as Optuna parameters: one fixed distribution per name, any spec.

Every trial of a study records its (repaired, or mutated) spec through :func:`encode`, so a
sampler can model the whole study whoever proposed each trial, and the dashboard's
importance and parallel-coordinate plots show the design. :func:`sample` draws a design
through ``trial.suggest_*`` with the same distributions, so a sampler's draws and the
recorded trials live in one space. Widths are per stage, on a log scale; they are recorded
after repair, so the sampler learns the widths that were actually trained.

Parameters of absent parts (stage 4 of a 3-stage net, the expansion of a basic block) are
not recorded: Optuna's samplers handle such conditional parameters.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from gensynth.prototypes._spec import ArchSpec
from gensynth.prototypes.residual import (
    BLOCK_KINDS,
    STAGE_KERNELS,
    STEM_KERNELS,
    STRIDES,
    ResidualSpec,
    StageSpec,
    StemSpec,
)
from gensynth.prototypes.unet import (
    DOWN_KINDS,
    UNET_BLOCKS,
    UP_KINDS,
    DecoderLevel,
    EncoderLevel,
    ResidualUNetSpec,
    UNetStemSpec,
)

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution

__all__ = ["EXPANSIONS", "Params", "encode", "record", "sample"]

#: name -> (value, distribution): what a trial records.
Params = dict[str, tuple[Any, "BaseDistribution"]]
EXPANSIONS = {"inverted": (2.0, 3.0, 4.0, 6.0), "reduce": (0.25, 0.5)}
UNET_STEMS = ("none", "conv1", "conv2", "anet")


def _int(low: int, high: int, log: bool = False) -> BaseDistribution:
    from optuna.distributions import IntDistribution

    return IntDistribution(low, high, log=log)


def _cat(choices: tuple[Any, ...]) -> BaseDistribution:
    from optuna.distributions import CategoricalDistribution

    return CategoricalDistribution(choices)


def _width() -> BaseDistribution:
    return _int(8, 1024, log=True)


def _stem_width() -> BaseDistribution:
    """Stems (and a segmenter's head) stay narrow: one convolution at full resolution."""
    return _int(8, 256, log=True)


def _count(low: int, high: int) -> BaseDistribution:
    return _int(low, high)


#: The design space's ranges (the mutations keep to them; a reference may not, and its
#: out-of-range parameters are simply not recorded).
N_STAGES, DEPTH = _count(2, 5), _count(1, 4)
N_LEVELS, LEVEL_DEPTH = _count(3, 5), _count(1, 4)


def encode(spec: ArchSpec) -> Params:
    """The parameters that describe ``spec`` (those outside a distribution are left out)."""
    params = _ENCODERS[spec.prototype](spec)
    return {k: (v, d) for k, (v, d) in params.items() if _within(d, v)}


def _within(distribution: BaseDistribution, value: Any) -> bool:
    """Whether ``value`` is a point of ``distribution``, read from its public fields."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(distribution, CategoricalDistribution):
        return value in distribution.choices
    if isinstance(distribution, IntDistribution):
        low, high, step = distribution.low, distribution.high, distribution.step
        try:
            number = int(value)
        except (TypeError, ValueError):
            return False
        return number == value and low <= number <= high and (number - low) % step == 0
    raise TypeError(f"no range check for {type(distribution).__name__}")


def sample(trial: optuna.trial.BaseTrial, prototype: str, io: Mapping[str, int]) -> ArchSpec:
    """A design drawn through ``trial.suggest_*`` in the space :func:`encode` records."""
    return _SAMPLERS[prototype](_Asker(trial), io)


class _Asker:
    """``trial.suggest_*`` by distribution, so drawing and recording share one table."""

    def __init__(self, trial: optuna.trial.BaseTrial) -> None:
        self.trial = trial

    def __call__(self, name: str, distribution: BaseDistribution) -> Any:
        from optuna.distributions import CategoricalDistribution, IntDistribution

        if isinstance(distribution, CategoricalDistribution):
            return self.trial.suggest_categorical(name, distribution.choices)
        if isinstance(distribution, IntDistribution):
            return self.trial.suggest_int(
                name, distribution.low, distribution.high, log=distribution.log
            )
        raise TypeError(f"no suggest for {type(distribution).__name__}")  # a bug, not input


def record(trial: optuna.trial.BaseTrial, params: Params) -> None:
    """Suggest every parameter of ``params`` on ``trial`` (a pinned sampler supplies them)."""
    asker = _Asker(trial)
    for name, (_, distribution) in params.items():
        asker(name, distribution)


# ---- residual


def _encode_residual(spec: ArchSpec) -> Params:
    spec = cast(ResidualSpec, spec)  # dispatched by prototype name
    params: Params = {
        "n_stages": (len(spec.stages), N_STAGES),
        "stem_width": (spec.stem.width, _stem_width()),
        "stem_kernel": (spec.stem.kernel, _cat(STEM_KERNELS)),
        "stem_stride": (spec.stem.stride, _cat(STRIDES)),
        "stem_pool": (spec.stem.pool, _cat((False, True))),
    }
    for i, stage in enumerate(spec.stages):
        params.update(_stage_params(i, stage))
    return params


def _stage_params(i: int, stage: StageSpec) -> Params:
    params: Params = {
        f"stage{i}_block": (stage.block, _cat(BLOCK_KINDS)),
        f"stage{i}_width": (stage.width, _width()),
        f"stage{i}_depth": (stage.depth, DEPTH),
        f"stage{i}_stride": (stage.stride, _cat(STRIDES)),
        f"stage{i}_kernel": (stage.kernel, _cat(STAGE_KERNELS)),
        f"stage{i}_se": (stage.se, _cat((False, True))),
    }
    if stage.block != "basic":
        kind = "inverted" if stage.block == "inverted" else "reduce"
        params[f"stage{i}_expansion_{kind}"] = (stage.expansion, _cat(EXPANSIONS[kind]))
    return params


def _sample_residual(ask: _Asker, io: Mapping[str, int]) -> ArchSpec:
    n = ask("n_stages", N_STAGES)
    stem = StemSpec(
        width=ask("stem_width", _stem_width()),
        kernel=ask("stem_kernel", _cat(STEM_KERNELS)),
        stride=2,
        pool=ask("stem_pool", _cat((False, True))),
    )
    stages = [_sample_stage(ask, i) for i in range(n)]
    # Widths never shrink with depth (a principle of good residual spaces, RegNet): the drawn
    # widths go to the stages in increasing order.
    widths = sorted(s.width for s in stages)
    stages = [dataclasses.replace(s, width=w) for s, w in zip(stages, widths, strict=True)]
    return ResidualSpec(
        io["in_channels"], io["input_size"], io["num_classes"], stem, tuple(stages), "relu"
    )


def _sample_stage(ask: _Asker, i: int) -> StageSpec:
    block = ask(f"stage{i}_block", _cat(BLOCK_KINDS))
    depth = ask(f"stage{i}_depth", DEPTH)
    width = ask(f"stage{i}_width", _width())
    stride = ask(f"stage{i}_stride", _cat(STRIDES))
    kernel = ask(f"stage{i}_kernel", _cat(STAGE_KERNELS))
    expansion = 1.0
    if block != "basic":
        kind = "inverted" if block == "inverted" else "reduce"
        expansion = float(ask(f"stage{i}_expansion_{kind}", _cat(EXPANSIONS[kind])))
    se = ask(f"stage{i}_se", _cat((False, True)))
    return StageSpec(block, int(width), depth, stride, kernel, expansion, se)


# ---- residual-unet


def _encode_unet(spec: ArchSpec) -> Params:
    spec = cast(ResidualUNetSpec, spec)  # dispatched by prototype name
    params: Params = {"n_levels": (len(spec.encoder), N_LEVELS)}
    params["stem"] = (_stem_kind(spec.stem), _cat(UNET_STEMS))
    if spec.stem is not None:
        params["stem_width"] = (spec.stem.width, _stem_width())
    if spec.head_width is not None:
        params["head_width"] = (spec.head_width, _stem_width())
    for i, level in enumerate(spec.encoder):
        params.update(_blocks(f"enc{i}", level.width, level.blocks))
        if i:
            params[f"enc{i}_down"] = (level.down, _cat(DOWN_KINDS[1:]))
    for j, dec in enumerate(spec.decoder):
        params.update(_blocks(f"dec{j}", dec.width, dec.blocks))
        params[f"dec{j}_up"] = (dec.up, _cat(UP_KINDS))
        params[f"dec{j}_skip"] = (dec.skip, _cat((True, False)))
    return params


def _stem_kind(stem: UNetStemSpec | None) -> str:
    if stem is None:
        return "none"
    return "anet" if stem.kind == "anet" else f"conv{stem.stride}"


def _blocks(prefix: str, width: int, blocks: tuple[str, ...]) -> Params:
    params: Params = {
        f"{prefix}_width": (width, _width()),
        f"{prefix}_depth": (len(blocks), LEVEL_DEPTH),
    }
    for k, block in enumerate(blocks):
        params[f"{prefix}_b{k}"] = (block, _cat(UNET_BLOCKS))
    return params


def _sample_unet(ask: _Asker, io: Mapping[str, int]) -> ArchSpec:
    n = ask("n_levels", N_LEVELS)
    kind = ask("stem", _cat(UNET_STEMS))
    stem = None
    if kind != "none":
        stem = UNetStemSpec("anet" if kind == "anet" else "conv", ask("stem_width", _stem_width()),
                            1 if kind == "conv1" else 2)  # fmt: skip
    head = ask("head_width", _stem_width()) if stem is not None and stem.stride == 2 else None
    encoder = tuple(
        EncoderLevel(ask(f"enc{i}_width", _width()), _sample_blocks(ask, f"enc{i}"),
                     "none" if i == 0 else ask(f"enc{i}_down", _cat(DOWN_KINDS[1:])))
        for i in range(n)
    )  # fmt: skip
    decoder = tuple(
        DecoderLevel(ask(f"dec{j}_width", _width()), _sample_blocks(ask, f"dec{j}"),
                     ask(f"dec{j}_up", _cat(UP_KINDS)), ask(f"dec{j}_skip", _cat((True, False))))
        for j in range(n - 1)
    )  # fmt: skip
    return ResidualUNetSpec(
        io["in_channels"], io["input_size"], io["num_classes"], stem, encoder, decoder, head,
        True, "relu",
    )  # fmt: skip


def _sample_blocks(ask: _Asker, prefix: str) -> tuple[Any, ...]:
    depth = ask(f"{prefix}_depth", LEVEL_DEPTH)
    return tuple(ask(f"{prefix}_b{k}", _cat(UNET_BLOCKS)) for k in range(depth))


_ENCODERS: dict[str, Callable[[ArchSpec], Params]] = {
    "residual": _encode_residual,
    "residual-unet": _encode_unet,
}
_SAMPLERS: dict[str, Callable[[_Asker, Mapping[str, int]], ArchSpec]] = {
    "residual": _sample_residual,
    "residual-unet": _sample_unet,
}
