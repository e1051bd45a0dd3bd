"""The nets the latency benchmarks time, at 200x200x1 with 6 classes (NEU-like)."""

from __future__ import annotations

import optuna

from gensynth.constraints import FlopsBand, repair
from gensynth.prototypes import ArchSpec, ResidualSpec, StageSpec, StemSpec, get_prototype
from gensynth.prototypes import reference_spec as _reference

SHAPE = {"in_channels": 1, "input_size": 200, "num_classes": 6}


def plain_89m() -> ResidualSpec:
    """The plain four-stage basic-block net of REFERENCE.md: widths 12-24-48-96, 89M MACs."""
    stages = tuple(
        StageSpec("basic", width, 1, 1 if i == 0 else 2, 3, 1.0, False)
        for i, width in enumerate((12, 24, 48, 96))
    )
    return ResidualSpec(**SHAPE, stem=StemSpec(12, 3, 2, False), stages=stages)


def residual_default(macs: int = 100_000_000) -> ArchSpec:
    """The residual prototype's default design repaired into ``macs`` +- 5%."""
    result = repair(get_prototype("residual").default_spec(**SHAPE), FlopsBand(macs, 0.05))
    if not result.feasible:
        raise SystemExit(f"repair failed: {result.reason}")
    return result.spec


def reference(name: str) -> ArchSpec:
    return _reference(name, **SHAPE)


def sampled(count: int, macs: int = 100_000_000, seed: int = 0) -> list[ArchSpec]:
    """``count`` designs drawn from the residual space (seeded) and repaired into ``macs``."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    found: list[ArchSpec] = []
    while len(found) < count:
        spec = get_prototype("residual").sample(study.ask(), **SHAPE)
        result = repair(spec, FlopsBand(macs, 0.05))
        if result.feasible:
            found.append(result.spec)
    return found


def handful(quick: bool) -> dict[str, ArchSpec]:
    """The specs the indicator and the cost model are checked on."""
    specs = {"plain-89M": plain_89m(), "residual-100M": residual_default()}
    if quick:
        return specs
    specs["residual-25M"] = residual_default(25_000_000)
    specs |= {f"sampled-100M-{i}": spec for i, spec in enumerate(sampled(4))}
    specs["resnet18"] = reference("resnet18")
    return specs
