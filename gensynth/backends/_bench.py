"""Side-by-side benchmarks: models x backends x thread counts x batch sizes, with a baseline.

For each backend, thread count and batch, the models are timed with
:func:`~gensynth.backends.compare_latency`: each in its own session, alone, in alternating
blocks, so the speed-up over the baseline is the ratio of two deployed-like figures.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from gensynth.backends._base import BACKENDS, RuntimeOptions, resolve_threads
from gensynth.backends._efficiency import efficiency_ratio
from gensynth.backends._measure import TimedModel, compare_latency
from gensynth.backends._result import METHOD, LatencyComparison, LatencyResult
from gensynth.errors import BackendUnavailable, ConfigError

if TYPE_CHECKING:
    from torch import nn

    from gensynth.prototypes import ArchSpec

__all__ = [
    "BenchModel",
    "BenchReport",
    "BenchRow",
    "Comparison",
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
    #: A serialised ONNX model timed as it is (INT8), instead of an export of ``module``.
    onnx: bytes | None = dataclasses.field(default=None, repr=False)
    precision: str = "fp32"


@dataclasses.dataclass(frozen=True)
class BenchRow:
    label: str
    result: LatencyResult


@dataclasses.dataclass(frozen=True)
class Comparison:
    """The model against the baseline on one backend, thread count and batch.

    ``speedup`` is the ratio of the two medians of block medians; ``block_speedups`` the
    ratio in each round of alternating blocks, and ``spread`` their (max - min) / median.
    ``loaded`` is True when either figure was measured under load.
    """

    backend: str
    batch: int
    baseline: str
    speedup: float
    efficiency_ratio: float | None
    threads: int = 0
    block_speedups: tuple[float, ...] = ()
    spread: float = 0.0
    loaded: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "block_speedups": list(self.block_speedups)}


@dataclasses.dataclass
class BenchReport:
    models: list[BenchModel]
    rows: list[BenchRow]
    comparisons: list[Comparison]
    skipped: dict[str, str]

    @property
    def loaded(self) -> bool:
        """True when any figure of the report was measured under load."""
        return any(row.result.loaded for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        """Everything, machine-readable, with the machine, versions and load average."""
        from gensynth.provenance import git_sha, machine, versions

        return {
            "method": METHOD,
            "models": [
                {
                    "label": m.label,
                    "spec_hash": m.spec.spec_hash,
                    "describe": m.spec.describe(),
                    "input_shape": list(m.spec.input_shape),
                    "macs": m.macs,
                    "weights": m.weights,
                    "precision": m.precision,
                }
                for m in self.models
            ],
            "results": [{"model": row.label, **row.result.to_dict()} for row in self.rows],
            "comparisons": [c.to_dict() for c in self.comparisons],
            "skipped": self.skipped,
            "loaded": self.loaded,
            "machine": machine(),
            "versions": versions(),
            "git_sha": git_sha(),
            "load_avg": list(os.getloadavg()),
        }


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
    threads: int | Sequence[int] | None = None,
    options: RuntimeOptions | None = None,
    timing: dict[str, Any] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> BenchReport:
    """Time every model on every available backend, thread count and batch.

    The first model is compared with the others (baselines): per backend, thread count and
    batch they are timed together with :func:`compare_latency`, in alternating blocks.
    """
    available, skipped = split_backends(backends)
    _check_onnx_models(models, available)
    rows: list[BenchRow] = []
    comparisons: list[Comparison] = []
    items = [TimedModel(m.module, m.spec.input_shape, m.macs, m.label, m.onnx) for m in models]
    for backend, count, batch in itertools.product(available, _thread_counts(threads), batches):
        if on_step is not None:
            on_step(f"{backend}, {count} thread(s), batch {batch}")
        measured = compare_latency(
            items, backend=backend, batch=batch, threads=count, options=options, **(timing or {})
        )
        rows += [BenchRow(m.label, r) for m, r in zip(models, measured.results, strict=True)]
        comparisons += _compare(models, measured)
    return BenchReport(models, rows, comparisons, skipped)


def _check_onnx_models(models: list[BenchModel], backends: list[str]) -> None:
    """Models given as ONNX files (INT8) run on ONNX Runtime's CPU backend or OpenVINO."""
    given = [m.label for m in models if m.onnx is not None]
    others = [name for name in backends if name not in ("onnxruntime-cpu", "openvino")]
    if given and others:
        raise ConfigError(
            f"{given[0]} is an INT8 ONNX model: expected --backends onnxruntime-cpu or "
            f"openvino, got {', '.join(backends)}",
            hint="time the other backends in another run, without INT8",
        )


def _thread_counts(threads: int | Sequence[int] | None) -> list[int]:
    """The thread counts to time, each checked; the default is all usable cores."""
    if threads is None or isinstance(threads, int):
        return [resolve_threads(threads)]
    counts = [resolve_threads(count) for count in threads]
    if not counts:
        raise ConfigError("threads: expected at least one thread count, got none")
    return list(dict.fromkeys(counts))


def _compare(models: list[BenchModel], measured: LatencyComparison) -> list[Comparison]:
    """The first model against each baseline, from one alternating-block comparison."""
    first = measured.results[0]
    comparisons = []
    for stats in measured.speedups:
        other = measured.results[stats.baseline]
        comparisons.append(
            Comparison(
                backend=first.backend,
                batch=first.batch,
                baseline=models[stats.baseline].label,
                speedup=stats.speedup,
                efficiency_ratio=efficiency_ratio(first, other),
                threads=first.threads,
                block_speedups=stats.block_speedups,
                spread=stats.spread,
                loaded=first.loaded or other.loaded,
            )
        )
    return comparisons
