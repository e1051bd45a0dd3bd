"""Latency budgets as constraints: measured on a real backend, cached, and repaired by width.

Latency is measured, not predicted, with the same method as ``gensynth bench`` (each
candidate alone in its own session, timed in blocks, load recorded; see
:mod:`gensynth.backends`) on a shorter budget (:data:`LOOP_TIMING`). Measurements are noisy
(shared CPUs, frequency scaling): the verdict uses the median of the block medians and
accepts a ``tolerance`` above the budget (5% by default) so that noise does not flip it, while
repair aims ``margin`` below the budget (10% by default) so that a repaired spec passes a
later re-measurement. A figure measured under load says so in the verdict's detail.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gensynth.constraints.indicator import IndicatorResult
from gensynth.constraints.quantities import format_ms, parse_latency_ms, parse_positive_int
from gensynth.errors import ConfigError, ConstraintError
from gensynth.vocabulary import DEFAULT_BACKEND

if TYPE_CHECKING:
    from gensynth.backends import LatencyCache, LatencyResult, RuntimeOptions
    from gensynth.prototypes import ArchSpec

__all__ = [
    "LOOP_TIMING",
    "LatencyIndicator",
    "LatencyScaling",
    "repair_latency",
    "scale_to_latency",
]

#: The full method on a shorter budget inside the search loop: three blocks and 0.3 s of
#: timed calls per candidate (about 1 s with export for a 100M-MAC net at batch 1).
LOOP_TIMING: dict[str, Any] = {
    "warmup": 2,
    "blocks": 3,
    "repeats": 15,
    "min_time_s": 0.3,
    "max_time_s": 5.0,
}
#: Most measurements one latency repair may spend.
REPAIR_STEPS = 12


class LatencyIndicator:
    """``median latency <= budget_ms`` on ``backend`` at ``batch``, within ``tolerance``.

    Each spec is measured once per machine, backend, batch, thread count and runtime options
    and then read from the on-disk cache. The backend is checked when the indicator is made,
    so an unknown or missing backend fails before any search starts.
    """

    name = "latency"

    def __init__(
        self,
        budget_ms: float,
        backend: str = DEFAULT_BACKEND,
        batch: int = 1,
        threads: int | None = None,
        *,
        tolerance: float = 0.05,
        cache: LatencyCache | None = None,
        use_cache: bool = True,
        timing: dict[str, Any] | None = None,
        options: RuntimeOptions | None = None,
    ) -> None:
        from gensynth.backends import (
            LatencyCache,
            RuntimeOptions,
            check_batch,
            get_backend,
            resolve_threads,
        )

        if (
            isinstance(budget_ms, bool)
            or not isinstance(budget_ms, (int, float))
            or not (math.isfinite(budget_ms) and budget_ms > 0)
        ):
            raise ConfigError(
                f"latency budget: expected a positive number of ms, got {budget_ms!r}"
            )
        if not 0 <= tolerance < 1:
            raise ConfigError(
                f"latency tolerance: expected a fraction in [0, 1), got {tolerance!r}"
            )
        get_backend(backend)
        self.budget_ms = float(budget_ms)
        self.backend = backend
        self.batch = check_batch(batch)
        self.threads = resolve_threads(threads)
        self.tolerance = tolerance
        self.cache = (cache or LatencyCache()) if use_cache else None
        self.timing = dict(LOOP_TIMING, **(timing or {}))
        self.options = options or RuntimeOptions()

    @classmethod
    def from_flags(
        cls,
        latency: str,
        backend: str = DEFAULT_BACKEND,
        batch: str | int = 1,
        threads: str | int | None = None,
        **kwargs: Any,
    ) -> LatencyIndicator:
        """The indicator for CLI text such as ``--latency 2ms --backend onnxruntime-cpu``."""
        return cls(
            parse_latency_ms(latency),
            backend,
            parse_positive_int(batch, what="--batch"),
            None if threads is None else parse_positive_int(threads, what="--threads"),
            **kwargs,
        )

    @property
    def limit(self) -> str:
        return f"<= {format_ms(self.budget_ms)} ({self.backend}, batch {self.batch})"

    def measure(self, spec: ArchSpec, *, fresh: bool = False) -> LatencyResult:
        """The latency of ``spec``: from the cache, or measured now (always when ``fresh``)."""
        from gensynth.backends import measure_latency

        key = (spec.spec_hash, self.backend, self.batch, self.threads, self.options)
        if self.cache is not None and not fresh:
            cached = self.cache.get(*key)
            if cached is not None:
                return cached
        result = measure_latency(
            spec.build(),
            spec.input_shape,
            backend=self.backend,
            batch=self.batch,
            threads=self.threads,
            options=self.options,
            **self.timing,
        )
        if self.cache is not None:
            self.cache.put(spec.spec_hash, result, self.options)
        return result

    def evaluate(self, result: LatencyResult) -> IndicatorResult:
        """The verdict on one measurement; violation <= 0 is feasible (Optuna's convention)."""
        allowed = self.budget_ms * (1 + self.tolerance)
        return IndicatorResult(
            name=self.name,
            measured=result.median_ms,
            limit=self.limit,
            unit="ms",
            violation=(result.median_ms - allowed) / self.budget_ms,
            detail=_detail(result, self.tolerance),
        )

    def check(self, spec: ArchSpec) -> IndicatorResult:
        return self.evaluate(self.measure(spec))


def _detail(result: LatencyResult, tolerance: float) -> str:
    """How the figure was taken, in one line; a figure measured under load says so."""
    blocks = len(result.block_medians_ms)
    how = f"{blocks} block medians ({result.repeats} runs)" if blocks else f"{result.repeats} runs"
    settings = result.settings.describe() if result.settings else f"{result.threads} threads"
    text = (
        f"median of {how}, spread {result.block_spread:.0%}, p90 {format_ms(result.p90_ms)}, "
        f"{settings}; +{tolerance:.0%} noise tolerance"
    )
    if result.loaded and result.load is not None:
        text += "; MEASURED UNDER LOAD: " + "; ".join(result.load.reasons)
    return text


def repair_latency(
    spec: ArchSpec,
    budget_ms: float,
    backend: str = DEFAULT_BACKEND,
    batch: int = 1,
    threads: int | None = None,
    *,
    margin: float = 0.1,
    band: float = 0.2,
    indicator: LatencyIndicator | None = None,
) -> ArchSpec | None:
    """``spec`` with widths shrunk until it meets the latency budget, or None if it cannot.

    Where even the narrowest widths are too slow, the design downsamples earlier (stage by
    stage, then the stem's max-pool) and is shrunk again, as the MACs repair does.

    A spec that already passes is returned unchanged. Otherwise the width multiplier is
    bisected into ``[budget·(1-margin-band), budget·(1-margin)]``; ``margin`` is headroom for
    measurement noise. Where width rounding steps over that band, the widest spec found under
    it is taken instead. The result is measured again afresh at the end and must pass.
    ``indicator``, when given, supplies the budget, backend, batch, threads and cache.
    """
    if not 0 <= margin < 1 or not 0 < band < 1 - margin:
        raise ConfigError(
            f"latency repair: expected 0 <= margin and 0 < band with margin + band < 1, "
            f"got margin {margin!r} and band {band!r}"
        )
    indicator = indicator or LatencyIndicator(budget_ms, backend, batch, threads)
    if indicator.check(spec).passed:
        return spec

    def median_ms(candidate: ArchSpec) -> float:
        return indicator.measure(candidate).median_ms

    upper = indicator.budget_ms * (1 - margin)
    lower = indicator.budget_ms * (1 - margin - band)
    start = _predicted_start(spec, indicator, lower, upper)
    # The second pass is cheap: every spec the first one measured is read from the cache.
    repaired = _bisect(spec, median_ms, lower, upper, start) or _bisect(
        spec, median_ms, 0.0, upper, start
    )
    if repaired is None:  # too slow even at its narrowest widths: downsample earlier
        repaired = _downsampled(spec, median_ms, lower, upper)
    if repaired is None:
        return None
    # Noise can put a lucky run under the budget: only a fresh measurement decides.
    return repaired if indicator.evaluate(indicator.measure(repaired, fresh=True)).passed else None


def _downsampled(
    spec: ArchSpec, median_ms: Callable[[ArchSpec], float], lower: float, upper: float
) -> ArchSpec | None:
    """The first earlier-downsampled variant of ``spec`` (see :func:`_variants`) whose
    narrowest widths meet ``upper``, scaled by width into the band; None if none does. One
    measurement rules out each variant that is too slow."""
    from gensynth.constraints.repair import MIN_MULTIPLIER

    for variant in _variants(spec)[1:]:
        if median_ms(variant.scale_width(MIN_MULTIPLIER)) > upper:
            continue
        found = _bisect(variant, median_ms, lower, upper) or _bisect(
            variant, median_ms, 0.0, upper
        )
        if found is not None:
            return found
    return None


def _bisect(
    spec: ArchSpec,
    measure: Callable[[ArchSpec], float],
    lower: float,
    upper: float,
    start: float = 1.0,
) -> ArchSpec | None:
    """The shared width bisection, shrink-only, with few steps: each one is a measurement."""
    from gensynth.constraints.repair import bisect_width

    return bisect_width(spec, measure, lower, upper, hi=1.0, max_steps=REPAIR_STEPS, start=start)


def _predicted_start(
    spec: ArchSpec, indicator: LatencyIndicator, lower: float, upper: float
) -> float:
    """Where the measured bisection starts: the width multiplier the fitted cost model
    predicts for the band (no measurement spent), or 1 without a model for this machine.

    A pre-filter only: the measured latency still decides, and a wrong prediction costs a
    few more measurements, never a wrong verdict.
    """
    from gensynth.backends import load_latency_model
    from gensynth.constraints.repair import bisect_width
    from gensynth.errors import GensynthError

    try:
        model = load_latency_model(
            backend=indicator.backend, batch=indicator.batch, threads=indicator.threads
        )
        predicted = bisect_width(spec, model.predict_ms, lower, upper, hi=1.0, max_steps=40)
    except (GensynthError, NotImplementedError, KeyError, ValueError):
        return 1.0  # no fit here, or a prototype the model does not cover
    if predicted is None:
        return 1.0
    return _multiplier_of(spec, predicted)


def _multiplier_of(spec: ArchSpec, scaled: ArchSpec) -> float:
    """The width multiplier that turned ``spec`` into ``scaled`` (the ratio of total widths)."""
    return min(1.0, sum(scaled.widths()) / max(1, sum(spec.widths())))


#: The widest a latency-scaled reference may grow: 8x its widths (about 64x its MACs).
MAX_GROWTH = 8.0


@dataclasses.dataclass(frozen=True)
class LatencyScaling:
    """A design scaled to a latency budget by measured latency: the spec, its measured
    median, the width multiplier applied, and the measurements spent."""

    spec: ArchSpec
    median_ms: float
    multiplier: float
    steps: int


def scale_to_latency(
    spec: ArchSpec,
    indicator: LatencyIndicator,
    *,
    margin: float = 0.1,
    band: float = 0.2,
    measure: Callable[[ArchSpec], float] | None = None,
) -> LatencyScaling:
    """``spec`` scaled, up or down, until its measured latency falls in
    ``[budget·(1-margin-band), budget·(1-margin)]``: the reference of a latency-first search.

    Unlike :func:`repair_latency` (shrink only, for candidates), this also grows a design
    that is faster than the band, so the reference uses the budget the way the hand design
    scaled to a MACs budget uses its MACs. Widths are bisected first; where the narrowest
    widths are still too slow, the design downsamples earlier, stage by stage, and then
    switches its stem's max-pool on (what the MACs repair does), and the widths are
    bisected again. ``measure`` (default: the indicator's measured median, cached) is the
    latency function; tests pass a deterministic one. Where width rounding steps over the
    band, the widest spec measured under ``budget·(1-margin)`` is taken. A budget that the
    smallest variant misses raises ConstraintError naming the smallest latency measured,
    before anything trains.
    """
    from gensynth.constraints.repair import MIN_MULTIPLIER

    if not 0 <= margin < 1 or not 0 < band < 1 - margin:
        raise ConfigError(
            f"latency scaling: expected 0 <= margin and 0 < band with margin + band < 1, "
            f"got margin {margin!r} and band {band!r}"
        )
    upper = indicator.budget_ms * (1 - margin)
    lower = indicator.budget_ms * (1 - margin - band)
    memo: dict[str, float] = {}

    def median_ms(candidate: ArchSpec) -> float:
        if candidate.spec_hash not in memo:
            memo[candidate.spec_hash] = (
                measure(candidate) if measure else indicator.measure(candidate).median_ms
            )
        return memo[candidate.spec_hash]

    fastest = math.inf
    for variant in _variants(spec):
        narrowest = median_ms(variant.scale_width(MIN_MULTIPLIER))
        fastest = min(fastest, narrowest)
        if narrowest > upper:
            continue  # too slow even at its narrowest widths: downsample earlier
        found = _scale_widths(variant, median_ms, lower, upper, measure is None, indicator)
        if found is not None:
            ratio = sum(found.widths()) / max(1, sum(spec.widths()))
            return LatencyScaling(found, median_ms(found), ratio, len(memo))
    raise ConstraintError(
        f"latency budget {indicator.budget_ms:g} ms is below what {indicator.backend} reaches "
        f"at batch {indicator.batch}: the smallest net tried (the reference at its narrowest "
        f"widths, downsampled early) measured {fastest:.3g} ms",
        hint=f"use --latency {_round_up(fastest / (1 - margin)):g}ms or more",
    )


def _scale_widths(
    spec: ArchSpec,
    median_ms: Callable[[ArchSpec], float],
    lower: float,
    upper: float,
    predict: bool,
    indicator: LatencyIndicator,
) -> ArchSpec | None:
    """The width bisection into the band, or the widest spec measured under ``upper``."""
    from gensynth.constraints.repair import MIN_MULTIPLIER, bisect_width

    tried: list[ArchSpec] = []

    def measured(candidate: ArchSpec) -> float:
        tried.append(candidate)
        return median_ms(candidate)

    start = _predicted_start(spec, indicator, lower, upper) if predict else 1.0
    found = bisect_width(
        spec, measured, lower, upper, lo=MIN_MULTIPLIER, hi=MAX_GROWTH,
        max_steps=REPAIR_STEPS, start=start,
    )  # fmt: skip
    if found is not None:
        return found
    under = [c for c in tried if median_ms(c) <= upper]
    return max(under, key=lambda c: sum(c.widths()), default=None)


def _variants(spec: ArchSpec) -> list[ArchSpec]:
    """``spec``, then each earlier downsampling, then the same with the stem's max-pool on."""
    chain = [spec]
    while (strided := chain[-1].downsample_earlier()) is not None:
        chain.append(strided[0])
    stem = getattr(spec, "stem", None)
    if stem is not None and getattr(stem, "pool", True) is False:
        pooled = [dataclasses.replace(s, stem=dataclasses.replace(stem, pool=True))
                  for s in chain]  # fmt: skip
        chain += pooled
    return chain


def _round_up(ms: float) -> float:
    """A budget a user can type: two significant digits, rounded up."""
    digits = 1 - math.floor(math.log10(ms))
    return math.ceil(ms * 10**digits) / 10**digits
