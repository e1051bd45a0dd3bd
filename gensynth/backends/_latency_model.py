"""A latency cost model fitted to measured block throughput: a cheap pre-filter, not a verdict.

``benchmarks/block_throughput.py`` measures, with the block method, tiny nets of one block
type at one resolution and width, at two depths. From those it fits, per backend, batch and
thread count:

- ``overhead_ms``: one run of a near-empty net (session call, input copy, head);
- per (block type, squeeze-excitation, resolution, channel alignment): the achieved MAC rate
  of one more block, from the difference between the two depths;
- per resolution: the MAC rate of a one-channel stem convolution, from what is left.

A residual spec's latency is then ``overhead + sum(ops / rate)`` over its stem and stages,
with the ops of each section from ``spec.analytic_costs()``, each stage at its output
resolution (rates interpolated in log resolution, clamped at the ends) and width alignment
(multiple of 8, of 4, or neither). Kernel size and expansion are not features: a pre-filter
ranks and prunes, and ``benchmarks/latency_model.py`` reports its error against measured
latency. Fitted models are stored as JSON, per machine.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import statistics
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.backends._base import resolve_threads
from gensynth.errors import ConfigError
from gensynth.vocabulary import DEFAULT_BACKEND, cache_dir

if TYPE_CHECKING:
    from gensynth.prototypes import ArchSpec

__all__ = [
    "BlockRate",
    "LatencyModel",
    "fit_latency_model",
    "latency_model_path",
    "load_latency_model",
    "predict_latency_ms",
    "width_alignment",
]

#: Environment variable naming a fitted latency model file, instead of the cache folder's.
MODEL_ENV = "GENSYNTH_LATENCY_MODEL"


def width_alignment(width: int) -> str:
    """``x8`` (a multiple of 8: ONNX Runtime's blocked layout), ``x4``, or ``other``."""
    return "x8" if width % 8 == 0 else ("x4" if width % 4 == 0 else "other")


@dataclasses.dataclass(frozen=True)
class BlockRate:
    """Achieved ops per second of one more block of a kind, at one resolution and alignment.

    Ops are what ``analytic_costs()`` tallies per section: MACs plus element-wise ops.
    """

    block: str
    se: bool
    resolution: int
    alignment: str
    gops_per_s: float


@dataclasses.dataclass(frozen=True)
class LatencyModel:
    """A fitted cost model for one backend, batch and thread count on one machine."""

    backend: str
    batch: int
    threads: int
    overhead_ms: float
    stem_rates: tuple[tuple[int, float], ...]  # (resolution, Gop/s), by resolution
    rates: tuple[BlockRate, ...]
    machine: str = ""

    def rate(self, block: str, se: bool, resolution: int, width: int) -> float:
        """Gop/s of ``block`` at ``resolution`` and ``width`` (nearest alignment measured)."""
        kinds = [r for r in self.rates if r.block == block and r.se == se]
        if not kinds:
            known = sorted({f"{r.block}{' + SE' if r.se else ''}" for r in self.rates})
            raise ConfigError(
                f"latency model: expected a measured block, got {block!r} (se={se}); "
                f"measured: {', '.join(known) or 'none'}",
                hint="run benchmarks/block_throughput.py with that block",
            )
        wanted = width_alignment(width)
        order = [wanted, *(a for a in ("x8", "x4", "other") if a != wanted)]
        for align in order:
            points = [(r.resolution, r.gops_per_s) for r in kinds if r.alignment == align]
            if points:
                return _interpolate(sorted(points), resolution)
        raise AssertionError("unreachable: kinds is not empty")

    def stem_rate(self, side: int, width: int) -> float:
        """Gop/s of the stem convolution at output ``side``; where the fit could not separate
        the stem from the noise, a basic block's rate there."""
        if self.stem_rates:
            return _interpolate(self.stem_rates, side)
        return self.rate("basic", False, side, width)

    def sections_ms(self, spec: ArchSpec) -> dict[str, float]:
        """Predicted milliseconds per batch of each section of ``spec`` (stem, stages)."""
        stem, stages = _residual_layout(spec)
        ops = spec.analytic_costs().sections
        per_batch = self.batch / 1e6  # ops -> ms at 1 Gop/s, for the whole batch
        out = {"stem": ops.get("stem", 0) * per_batch / self.stem_rate(stem, spec.stem.width)}
        for name, (block, se, resolution, width) in stages.items():
            out[name] = ops.get(name, 0) * per_batch / self.rate(block, se, resolution, width)
        return out

    def predict_ms(self, spec: ArchSpec) -> float:
        """Predicted median latency of ``spec`` in ms per batch."""
        return self.overhead_ms + sum(self.sections_ms(spec).values())

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["stem_rates"] = [list(pair) for pair in self.stem_rates]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LatencyModel:
        try:
            return cls(
                backend=data["backend"],
                batch=int(data["batch"]),
                threads=int(data["threads"]),
                overhead_ms=float(data["overhead_ms"]),
                stem_rates=tuple((int(r), float(g)) for r, g in data["stem_rates"]),
                rates=tuple(BlockRate(**rate) for rate in data["rates"]),
                machine=str(data.get("machine", "")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ConfigError(f"latency model: expected a fitted model, got {error}") from None


def _interpolate(points: Iterable[tuple[int, float]], resolution: int) -> float:
    """Rate at ``resolution``: linear in log resolution between neighbours, clamped outside.

    Interpolates seconds per MAC (what adds up), not MAC/s.
    """
    ordered = sorted(points)
    if not ordered:
        raise ConfigError("latency model: expected measured rates, got none")
    if resolution <= ordered[0][0]:
        return ordered[0][1]
    for (r0, g0), (r1, g1) in itertools.pairwise(ordered):
        if resolution <= r1:
            w = (math.log(resolution) - math.log(r0)) / (math.log(r1) - math.log(r0))
            return 1 / ((1 - w) / g0 + w / g1)
    return ordered[-1][1]


def _residual_layout(spec: Any) -> tuple[int, dict[str, tuple[str, bool, int, int]]]:
    """The stem's output side, and (block, se, output side, width) of each stage."""
    stem, stages = getattr(spec, "stem", None), getattr(spec, "stages", None)
    if stem is None or stages is None or not hasattr(stem, "stride"):
        raise ConfigError(
            f"latency model: expected a residual spec, got prototype {spec.prototype!r}"
        )
    size = -(-spec.input_size // stem.stride)
    stem_size = size
    size = -(-size // 2) if stem.pool else size
    layout = {}
    for i, stage in enumerate(stages):
        size = -(-size // stage.stride)
        layout[f"stage{i}"] = (stage.block, stage.se, size, stage.width)
    return stem_size, layout


def fit_latency_model(
    rows: Iterable[Mapping[str, Any]],
    overhead_ms: float,
    *,
    backend: str,
    batch: int,
    threads: int,
    machine: str = "",
) -> LatencyModel:
    """Fit the model to ``block_throughput`` rows (one per block type, SE, side and width).

    Each row holds ``block``, ``se``, ``resolution``, ``width``, the per-image ops of the
    stem and of the stage at the two depths (``stem_ops``, ``stage_ops``: [shallow, deep])
    and the two measured medians (``median_ms``: [shallow, deep], per batch). Rows whose deep
    net was not slower than the shallow one (noise) give no rate and are left out.
    """
    rates: list[BlockRate] = []
    rests: dict[int, list[tuple[float, float]]] = {}  # side -> (stem ops, ms left for it)
    for row in rows:
        (shallow, deep), (t_shallow, t_deep) = row["stage_ops"], row["median_ms"]
        if t_deep <= t_shallow or deep <= shallow:
            continue
        gops = batch * (deep - shallow) / (t_deep - t_shallow) / 1e6
        align = width_alignment(row["width"])
        rates.append(BlockRate(row["block"], row["se"], row["resolution"], align, gops))
        rest_ms = t_shallow - overhead_ms - batch * shallow / gops / 1e6
        rests.setdefault(row["resolution"], []).append((row["stem_ops"], rest_ms))
    if not rates:
        raise ConfigError(
            "latency model: expected measurements where deeper nets are slower, got none"
        )
    found = [_stem_rate(side, pairs, batch) for side, pairs in sorted(rests.items())]
    stems = tuple(pair for pair in found if pair is not None)
    return LatencyModel(backend, batch, threads, overhead_ms, stems, tuple(rates), machine)


def _stem_rate(
    side: int, pairs: list[tuple[float, float]], batch: int
) -> tuple[int, float] | None:
    """The stem's rate at ``side`` from the medians of what each row left for it, if positive.

    Medians over every row at that side: one row's remainder is a small difference of two
    noisy figures.
    """
    ops = statistics.median(p[0] for p in pairs)
    rest = statistics.median(p[1] for p in pairs)
    return (side, batch * ops / rest / 1e6) if rest > 0 and ops > 0 else None


def latency_model_path() -> Path:
    """``$GENSYNTH_LATENCY_MODEL``, else ``latency_model.json`` in the cache folder."""
    named = os.environ.get(MODEL_ENV)
    return Path(named).expanduser() if named else cache_dir() / "latency_model.json"


def load_latency_model(
    path: str | Path | None = None,
    *,
    backend: str = DEFAULT_BACKEND,
    batch: int = 1,
    threads: int | None = None,
) -> LatencyModel:
    """The fitted model for this machine, ``backend``, ``batch`` and ``threads`` in ``path``.

    ``path`` is a file with ``{"models": [...]}``, as ``block_throughput.py`` writes it (its
    results file, or the copy ``--install`` puts at :func:`latency_model_path`).
    """
    from gensynth.provenance import machine_id

    file = Path(path) if path is not None else latency_model_path()
    try:
        entries = json.loads(file.read_text())["models"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ConfigError(
            f"latency model {str(file)!r}: expected a fitted model file, got {error}",
            hint="run python benchmarks/block_throughput.py --install on this machine",
        ) from None
    threads = resolve_threads(threads)
    want = (backend, batch, threads, machine_id())
    for entry in entries:
        model = LatencyModel.from_dict(entry)
        if (model.backend, model.batch, model.threads, model.machine) == want:
            return model
    have = [f"{e.get('backend')} b{e.get('batch')} t{e.get('threads')}" for e in entries]
    raise ConfigError(
        f"latency model {str(file)!r}: expected a fit for {backend} b{batch} t{threads} on "
        f"{want[3]}, got {', '.join(have) or 'none'}",
        hint="run python benchmarks/block_throughput.py --install with those settings",
    )


def predict_latency_ms(
    spec: ArchSpec,
    backend: str = DEFAULT_BACKEND,
    batch: int = 1,
    threads: int | None = None,
    *,
    model: LatencyModel | None = None,
) -> float:
    """Estimated median latency of ``spec`` in ms per batch, from the fitted cost model.

    ``model`` defaults to this machine's fit in :func:`latency_model_path`. Microseconds per
    call; for pruning before a measurement, never instead of one.
    """
    if model is None:
        model = load_latency_model(backend=backend, batch=batch, threads=threads)
    elif (model.backend, model.batch) != (backend, batch) or (
        threads is not None and threads != model.threads
    ):
        raise ConfigError(
            f"latency model: expected {backend} b{batch} t{threads}, got a fit for "
            f"{model.backend} b{model.batch} t{model.threads}"
        )
    return model.predict_ms(spec)
