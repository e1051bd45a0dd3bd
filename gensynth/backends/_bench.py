"""Side-by-side benchmarks: models x backends x batch sizes, with a baseline in the same run."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.backends._base import BACKENDS
from gensynth.backends._efficiency import efficiency_ratio, spec_macs, speedup
from gensynth.backends._measure import LatencyResult, TimedModel, measure_interleaved
from gensynth.errors import BackendUnavailable, ConfigError

if TYPE_CHECKING:
    from torch import nn

    from gensynth.prototypes import ArchSpec

__all__ = [
    "BenchModel",
    "BenchReport",
    "BenchRow",
    "Comparison",
    "baseline_model",
    "load_bench_model",
    "run_bench",
    "split_backends",
]


@dataclasses.dataclass
class BenchModel:
    """A model to time: its label, spec, built module, MACs per image, and weights source."""

    label: str
    spec: ArchSpec
    module: nn.Module
    macs: int
    weights: str  # "trained" (a model folder) or "random" (a spec: latency ignores weights)


@dataclasses.dataclass(frozen=True)
class BenchRow:
    label: str
    result: LatencyResult


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The model against the baseline on one backend and batch."""

    backend: str
    batch: int
    baseline: str
    speedup: float
    efficiency_ratio: float | None


@dataclasses.dataclass
class BenchReport:
    models: list[BenchModel]
    rows: list[BenchRow]
    comparisons: list[Comparison]
    skipped: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        """Everything, machine-readable, with the machine, versions and load average."""
        from gensynth.provenance import git_sha, machine, versions

        return {
            "models": [
                {
                    "label": m.label,
                    "spec_hash": m.spec.spec_hash,
                    "describe": m.spec.describe(),
                    "input_shape": list(m.spec.input_shape),
                    "macs": m.macs,
                    "weights": m.weights,
                }
                for m in self.models
            ],
            "results": [{"model": row.label, **row.result.to_dict()} for row in self.rows],
            "comparisons": [dataclasses.asdict(c) for c in self.comparisons],
            "skipped": self.skipped,
            "machine": machine(),
            "versions": versions(),
            "git_sha": git_sha(),
            "load_avg": list(os.getloadavg()),
        }


def load_bench_model(path: Path) -> BenchModel:
    """A model folder (with its weights) or a spec YAML (freshly initialised weights)."""
    from gensynth.modeldir import load_model_dir
    from gensynth.prototypes import load_spec

    if path.is_dir():
        loaded = load_model_dir(path)
        spec, module, weights = loaded.spec, loaded.model, "trained"
    elif path.is_file():
        spec = load_spec(path)
        module, weights = spec.build().eval(), "random"
    else:
        raise ConfigError(
            f"{str(path)!r} does not exist", hint="give a model folder or a spec.yaml"
        )
    return BenchModel(path.name, spec, module, spec_macs(spec), weights)


def baseline_model(name: str, like: ArchSpec) -> BenchModel:
    """The reference net ``name`` at ``like``'s input shape and class count."""
    try:
        from gensynth.prototypes import reference_spec
    except ImportError:
        raise ConfigError(
            f"--baseline {name}: reference nets are not available in this build",
            hint="run without --baseline",
        ) from None
    spec = reference_spec(
        name,
        in_channels=like.in_channels,
        input_size=like.input_size,
        num_classes=like.num_classes,
    )
    return BenchModel(name, spec, spec.build().eval(), spec_macs(spec), "random")


def split_backends(names: list[str]) -> tuple[list[str], dict[str, str]]:
    """Available backends and, for the rest, the one-line reason; unknown names are errors."""
    available, skipped = [], {}
    for name in names:
        ok, reason = BACKENDS.get(name)().is_available()
        if ok:
            available.append(name)
        else:
            skipped[name] = reason
    if not available:
        raise BackendUnavailable(
            "none of the requested backends is available: "
            + "; ".join(f"{name}: {reason}" for name, reason in skipped.items())
        )
    return available, skipped


def run_bench(
    models: list[BenchModel],
    backends: list[str],
    batches: list[int],
    *,
    threads: int | None = None,
    timing: dict[str, Any] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> BenchReport:
    """Time every model on every available backend and batch; the first model is compared
    with the others (baselines), which are timed in alternating rounds with it."""
    available, skipped = split_backends(backends)
    rows: list[BenchRow] = []
    items = [TimedModel(m.module, m.spec.input_shape, m.macs) for m in models]
    for backend in available:
        for batch in batches:
            if on_step is not None:
                on_step(f"{backend}, batch {batch}")
            results = measure_interleaved(
                items, backend=backend, batch=batch, threads=threads, **(timing or {})
            )
            rows += [BenchRow(m.label, r) for m, r in zip(models, results, strict=True)]
    return BenchReport(models, rows, _compare(models, rows), skipped)


def _compare(models: list[BenchModel], rows: list[BenchRow]) -> list[Comparison]:
    if len(models) < 2:
        return []
    found = {(row.label, row.result.backend, row.result.batch): row.result for row in rows}
    comparisons = []
    for (label, backend, batch), result in found.items():
        if label != models[0].label:
            continue
        for baseline in models[1:]:
            other = found.get((baseline.label, backend, batch))
            if other is not None:
                comparisons.append(
                    Comparison(
                        backend,
                        batch,
                        baseline.label,
                        speedup(result, other),
                        efficiency_ratio(result, other),
                    )
                )
    return comparisons
