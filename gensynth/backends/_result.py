"""What a latency measurement returns: per-model figures, side-by-side ratios, how taken."""

from __future__ import annotations

import dataclasses
import statistics
from typing import Any

from gensynth.backends._base import RuntimeSettings
from gensynth.backends._load import LoadReport

__all__ = ["METHOD", "LatencyComparison", "LatencyResult", "SpeedupStats", "percentile"]

#: The measurement method, stored with every figure and part of the latency cache key.
METHOD = "alternating-blocks/1"


@dataclasses.dataclass(frozen=True)
class LatencyResult:
    """One model's latency on one backend: statistics, how they were taken, and the load.

    ``median_ms`` is the median of the block medians (``block_medians_ms``); ``p90_ms``,
    ``mean_ms``, ``min_ms`` and ``cv`` (standard deviation / mean) are over every timed
    call. ``block_spread`` is (max - min) / median of the block medians: a few percent on a
    quiet machine. ``load`` says whether the figure was measured under load, and why.
    ``settings`` are the runtime settings read back from the session. ``macs`` (per image)
    enables the efficiency figures.
    """

    backend: str
    batch: int
    threads: int
    median_ms: float
    p90_ms: float
    mean_ms: float
    min_ms: float
    cv: float
    repeats: int
    warmup: int
    parity_max_abs_diff: float | None
    seconds_total: float
    device: str = "cpu"
    macs: int | None = None
    block_medians_ms: tuple[float, ...] = ()
    block_spread: float = 0.0
    settings: RuntimeSettings | None = None
    load: LoadReport | None = None
    method: str = METHOD

    @property
    def per_image_ms(self) -> float:
        return self.median_ms / self.batch

    @property
    def images_per_s(self) -> float:
        return 1e3 * self.batch / self.median_ms

    @property
    def macs_per_s(self) -> float | None:
        """Achieved compute throughput (MACs per second at the median), if MACs are known."""
        return None if self.macs is None else self.macs * self.images_per_s

    @property
    def gmacs_per_s(self) -> float | None:
        rate = self.macs_per_s
        return None if rate is None else rate / 1e9

    @property
    def loaded(self) -> bool:
        """True when the figure was measured under load (see ``load.reasons``)."""
        return self.load is not None and self.load.flagged

    def to_dict(self) -> dict[str, Any]:
        data = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        data["block_medians_ms"] = list(self.block_medians_ms)
        data["settings"] = None if self.settings is None else self.settings.to_dict()
        data["load"] = None if self.load is None else self.load.to_dict()
        for name in ("per_image_ms", "images_per_s", "gmacs_per_s", "loaded"):
            data[name] = getattr(self, name)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LatencyResult:
        names = {field.name for field in dataclasses.fields(cls)}
        fields = {key: value for key, value in data.items() if key in names}
        fields["block_medians_ms"] = tuple(fields.get("block_medians_ms", ()))
        if fields.get("settings") is not None:
            fields["settings"] = RuntimeSettings.from_dict(fields["settings"])
        if fields.get("load") is not None:
            fields["load"] = LoadReport.from_dict(fields["load"])
        return cls(**fields)


@dataclasses.dataclass(frozen=True)
class SpeedupStats:
    """How many times faster the first model is than model ``baseline``, block by block.

    ``speedup`` is the ratio of the two medians of block medians; ``block_speedups`` pairs
    the blocks of each round (A then B, back to back), and ``spread`` is their
    (max - min) / median: a few percent on a quiet machine.
    """

    baseline: int
    speedup: float
    block_speedups: tuple[float, ...]
    spread: float

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "block_speedups": list(self.block_speedups)}


@dataclasses.dataclass(frozen=True)
class LatencyComparison:
    """Several models timed in alternating blocks: one result each, and the first against
    every other (``speedups``). ``idle_wait_ms_max`` is the longest wait for one model's
    runtime threads to go idle before another's block. ``process`` is ``"fresh"`` when the
    timing ran in a process of its own (:func:`~gensynth.backends.compare_latency_fresh`),
    ``"same"`` when in the caller's."""

    results: tuple[LatencyResult, ...]
    speedups: tuple[SpeedupStats, ...]
    idle_wait_ms_max: float
    labels: tuple[str, ...] = ()
    process: str = "same"

    @property
    def loaded(self) -> bool:
        return any(result.loaded for result in self.results)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LatencyComparison:
        """The comparison :meth:`to_dict` wrote (derived fields are recomputed)."""
        return cls(
            results=tuple(LatencyResult.from_dict(result) for result in data["results"]),
            speedups=tuple(
                SpeedupStats(s["baseline"], s["speedup"], tuple(s["block_speedups"]), s["spread"])
                for s in data["speedups"]
            ),
            idle_wait_ms_max=data["idle_wait_ms_max"],
            labels=tuple(data.get("labels", ())),
            process=data.get("process", "same"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": METHOD,
            "labels": list(self.labels),
            "results": [result.to_dict() for result in self.results],
            "speedups": [stats.to_dict() for stats in self.speedups],
            "idle_wait_ms_max": self.idle_wait_ms_max,
            "process": self.process,
            "loaded": self.loaded,
        }


def summarise(blocks: list[list[float]], **fields: Any) -> LatencyResult:
    """A result from the timed calls of each block (seconds) and the fields given."""
    medians = [statistics.median(block) * 1e3 for block in blocks]
    ms = sorted(t * 1e3 for block in blocks for t in block)
    mean = statistics.fmean(ms)
    stdev = statistics.stdev(ms) if len(ms) > 1 else 0.0
    median = statistics.median(medians)
    return LatencyResult(
        median_ms=median,
        p90_ms=percentile(ms, 0.9),
        mean_ms=mean,
        min_ms=ms[0],
        cv=stdev / mean if mean > 0 else 0.0,
        repeats=len(ms),
        block_medians_ms=tuple(medians),
        block_spread=spread(medians),
        **fields,
    )


def speedup_stats(first: LatencyResult, other: LatencyResult, baseline: int) -> SpeedupStats:
    """The first model against ``other``, overall and round by round."""
    pairs = zip(other.block_medians_ms, first.block_medians_ms, strict=True)
    per_round = tuple(theirs / mine for theirs, mine in pairs)
    return SpeedupStats(
        baseline=baseline,
        speedup=other.median_ms / first.median_ms,
        block_speedups=per_round,
        spread=spread(list(per_round)),
    )


def spread(values: list[float]) -> float:
    """(max - min) / median; 0 for fewer than two values."""
    if len(values) < 2:
        return 0.0
    middle = statistics.median(values)
    return (max(values) - min(values)) / middle if middle > 0 else 0.0


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, linearly interpolated (``numpy.percentile``)."""
    import numpy as np

    return float(np.percentile(values, 100.0 * q))
