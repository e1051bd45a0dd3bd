"""Constraint-driven repair: scale a proposal's widths until its MACs land in the band.

Costs are monotone in the width multiplier, so a bracketing search (log-log interpolation,
guarded by bisection) finds a multiplier whose rounded widths fall inside the band. Where
rounding to multiples of 8 steps over the band, single widths are nudged by 8 or 16 (widths
stay multiples of 8); where even the narrowest design is too costly, stages are made shallower.
A spec that still cannot reach the band comes back with ``feasible=False`` and the reason.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from gensynth.constraints.costs import Costs, count_costs
from gensynth.constraints.indicator import FlopsBand, compact_count

if TYPE_CHECKING:
    from gensynth.prototypes import ArchSpec

__all__ = ["MAX_MULTIPLIER", "MIN_MULTIPLIER", "RepairResult", "bisect_width", "repair"]

MIN_MULTIPLIER = 1 / 64  # with the 8-channel floor, every width is at its minimum here
MAX_MULTIPLIER = 32.0
_GAP = 1e-4  # bracket ratio below which only rounding separates the two sides


@dataclasses.dataclass(frozen=True)
class RepairResult:
    """The outcome of :func:`repair`.

    ``spec`` is the repaired design when ``feasible``, else the closest one tried; ``costs``
    are its costs; ``multiplier`` the width multiplier applied to the input spec; ``steps``
    the number of cost evaluations; ``reason`` why the band cannot be reached; ``detail`` the
    fallbacks used (shallower stages, finer rounding, nudged widths).
    """

    spec: ArchSpec
    costs: Costs
    multiplier: float
    steps: int
    feasible: bool
    reason: str | None = None
    detail: str = ""


@dataclasses.dataclass
class _Point:
    multiplier: float
    spec: ArchSpec
    value: float


@dataclasses.dataclass
class _Search:
    found: _Point | None = None
    below: _Point | None = None  # the widest point under ``lower``
    above: _Point | None = None  # the narrowest point over ``upper``
    steps: int = 0
    outcome: str = "gap"  # "found", "too-costly", "too-cheap", "gap", "steps"


def _search(
    spec: ArchSpec,
    measure: Callable[[ArchSpec], float],
    lower: float,
    upper: float,
    *,
    lo: float,
    hi: float,
    max_steps: int,
    divisor: int = 8,
    start: float = 1.0,
) -> _Search:
    """Bracket and narrow the multiplier whose scaled spec has ``lower <= measure <= upper``."""
    state = _Search()
    memo: dict[tuple[int, ...], float] = {}
    target = math.sqrt(max(lower, 1e-12) * upper)
    m = min(max(start, lo), hi)
    for _ in range(4 * max_steps):
        if state.steps >= max_steps:
            break
        scaled = spec.scale_width(m, divisor=divisor)
        key = scaled.widths()
        if key not in memo:
            memo[key] = measure(scaled)
            state.steps += 1
        point = _Point(m, scaled, memo[key])
        if lower <= point.value <= upper:
            state.found, state.outcome = point, "found"
            return state
        if point.value < lower:
            state.below = point
            if m >= hi:
                state.outcome = "too-cheap"
                return state
        else:
            state.above = point
            if m <= lo:
                state.outcome = "too-costly"
                return state
        following = _next_multiplier(state, target, lo, hi)
        if following is None:
            state.outcome = "gap"
            return state
        m = following
    state.outcome = "steps"
    return state


def _next_multiplier(state: _Search, target: float, lo: float, hi: float) -> float | None:
    below, above = state.below, state.above
    if below is None and above is not None:  # costs ~ m^2: jump, then clamp
        return max(lo, above.multiplier * min(0.8, math.sqrt(target / above.value)))
    if above is None and below is not None:
        return min(hi, below.multiplier * max(1.25, math.sqrt(target / max(below.value, 1e-12))))
    if below is None or above is None:
        return None
    a, b = math.log(below.multiplier), math.log(above.multiplier)
    if b - a < math.log1p(_GAP):
        return None
    fa, fb = math.log(max(below.value, 1e-12)), math.log(above.value)
    t = (math.log(target) - fa) / (fb - fa) if fb > fa else 0.5
    t = min(max(t, 0.15), 0.85)  # keep away from the ends so the bracket always shrinks
    if state.steps % 3 == 2:  # every third step bisect: a guard against slow one-sided moves
        t = 0.5
    return math.exp(a + t * (b - a))


def bisect_width(
    spec: ArchSpec,
    measure: Callable[[ArchSpec], float],
    lower: float,
    upper: float,
    *,
    lo: float = MIN_MULTIPLIER,
    hi: float = MAX_MULTIPLIER,
    max_steps: int = 40,
    divisor: int = 8,
    start: float = 1.0,
) -> ArchSpec | None:
    """``spec`` scaled so that ``lower <= measure(scaled) <= upper``, or None.

    ``measure`` must be non-decreasing in the width multiplier (MACs, params, latency); it is
    called once per distinct scaled spec, at most ``max_steps`` times, starting at ``start``.
    """
    state = _search(
        spec, measure, lower, upper, lo=lo, hi=hi, max_steps=max_steps, divisor=divisor,
        start=start,
    )  # fmt: skip
    return state.found.spec if state.found is not None else None


def repair(
    spec: ArchSpec,
    band: FlopsBand,
    *,
    params_max: int | None = None,
    max_steps: int = 60,
    max_dropped: int = 8,
) -> RepairResult:
    """Scale ``spec``'s widths until its MACs fall inside ``band`` (and params under the cap).

    Fallbacks, in order: width nudges (by 8) where rounding steps over the band;
    one block fewer in the costliest stage (up to ``max_dropped`` times) where the band is
    still missed. Never returns an infeasible spec with ``feasible=True``.
    """
    current, steps, notes = spec, 0, []
    first: tuple[ArchSpec, _Search] | None = None
    for _ in range(max_dropped + 1):
        state = _search(
            current,
            _macs,
            band.lower,
            band.upper,
            lo=MIN_MULTIPLIER,
            hi=MAX_MULTIPLIER,
            max_steps=max_steps,
        )
        steps += state.steps
        if state.found is None and state.below and state.above:
            found, extra, note = _fill_gap(current, state, band, max_steps)
            steps += extra
            if found is not None:
                state.found = found
                notes.append(note)
        first = first or (current, state)
        if state.found is not None:
            return _check_params(current, state.found, band, params_max, steps, "; ".join(notes))
        if state.outcome == "too-cheap":
            break
        # Too costly at the narrowest widths: downsample earlier, else one block fewer.
        strided = current.downsample_earlier()
        if strided is not None:
            current, stage = strided
            notes.append(f"{stage} stride 2")
            continue
        dropped = _drop_block(current, state)
        if dropped is None:
            break
        current, stage = dropped
        notes.append(f"{stage} -1 block")
    tried = f"also tried: {', '.join(notes)}" if notes else ""
    start, state = first if first is not None else (spec, _Search())
    return _infeasible(start, band, state, steps, tried)


def _macs(spec: ArchSpec) -> float:
    return float(count_costs(spec).macs)


def _drop_block(spec: ArchSpec, state: _Search) -> tuple[ArchSpec, str] | None:
    """One block fewer in the stage that costs most where the search ended."""
    probe = state.above.spec if state.above is not None else spec.scale_width(MIN_MULTIPLIER)
    try:
        sections = probe.analytic_costs().sections
    except NotImplementedError:
        return None
    for name in sorted(sections, key=sections.__getitem__, reverse=True):
        shallower = spec.reduce_depth(name)
        if shallower is not None:
            return shallower, name
    return None


def _fill_gap(
    spec: ArchSpec, state: _Search, band: FlopsBand, max_steps: int
) -> tuple[_Point | None, int, str]:
    """Rounding stepped over the band: nudge single widths by 8 (then 16) towards it.

    Widths stay multiples of 8: CPU backends use blocked layouts of 8 (AVX2) or 16 channels
    and fall back to slower kernels otherwise.
    """
    below, above = state.below, state.above
    if below is None or above is None:
        return None, 0, ""
    return _nudge_both(spec, below, above, band, (8, 16))


def _nudge_both(
    spec: ArchSpec, below: _Point, above: _Point, band: FlopsBand, deltas: tuple[int, ...]
) -> tuple[_Point | None, int, str]:
    steps = 0
    for base, sign in ((below, 1), (above, -1)):
        found, extra = _nudge(base, sign, band, deltas)
        steps += extra
        if found is not None:
            pairs = zip(spec.width_names(), base.spec.widths(), found.spec.widths(), strict=True)
            changed = [f"{name} {old}->{new}" for name, old, new in pairs if old != new]
            return found, steps, "nudged widths: " + ", ".join(changed)
    return None, steps, ""


def _nudge(
    base: _Point, sign: int, band: FlopsBand, deltas: tuple[int, ...]
) -> tuple[_Point | None, int]:
    """Greedy: move single widths by ``deltas`` towards the band until one lands inside it."""
    current, steps = base, 0
    for _ in range(12):
        inside, progress = [], None
        widths = current.spec.widths()
        for i in range(len(widths)):
            for delta in deltas:
                new = widths[i] + sign * delta
                if new < 8:
                    continue
                candidate = current.spec.with_widths((*widths[:i], new, *widths[i + 1 :]))
                value, steps = _macs(candidate), steps + 1
                point = _Point(base.multiplier, candidate, value)
                if band.contains(value):
                    inside.append((abs(math.log(value / band.target)), i, point))
                elif (
                    (value < band.lower) == (sign > 0)
                    and value != current.value
                    and (progress is None or sign * (value - progress.value) > 0)
                ):
                    progress = point
        if inside:
            return min(inside, key=lambda item: item[:2])[2], steps
        if progress is None:
            break
        current = progress
    return None, steps


def _check_params(
    spec: ArchSpec,
    found: _Point,
    band: FlopsBand,
    params_max: int | None,
    steps: int,
    detail: str,
) -> RepairResult:
    costs = count_costs(found.spec)
    if params_max is None or costs.params <= params_max:
        return RepairResult(found.spec, costs, found.multiplier, steps, True, None, detail)
    # Params grow with width too: the narrowest design inside the band has the fewest.
    low_end = band.lower + 0.25 * (band.upper - band.lower)
    state = _search(
        spec,
        _macs,
        band.lower,
        low_end,
        lo=MIN_MULTIPLIER,
        hi=found.multiplier,
        max_steps=60,
        start=found.multiplier,
    )
    steps += state.steps
    if state.found is not None:
        low = count_costs(state.found.spec)
        if low.params <= params_max:
            point = state.found
            return RepairResult(point.spec, low, point.multiplier, steps, True, None, detail)
        found, costs = state.found, low
    reason = (
        f"needs {compact_count(costs.params)} parameters at {compact_count(costs.macs)} MACs "
        f"(the low end of the band {band.describe()}), above the limit "
        f"{compact_count(params_max)}"
    )
    return RepairResult(found.spec, costs, found.multiplier, steps, False, reason, detail)


def _infeasible(
    spec: ArchSpec, band: FlopsBand, state: _Search, steps: int, detail: str
) -> RepairResult:
    point = state.above if state.outcome == "too-costly" else state.below or state.above
    if point is None:
        point = _Point(1.0, spec, _macs(spec))
    costs = count_costs(point.spec)
    measured = compact_count(costs.macs)
    if state.outcome == "too-costly":
        sections = _sections(point.spec)
        reason = (
            f"needs {measured} MACs even at the minimum width ({spec.min_width} channels "
            "everywhere), above "
            f"the band {band.describe()}{sections}; reduce depth, kernel sizes or resolution"
        )
    elif state.outcome == "too-cheap":
        reason = (
            f"reaches only {measured} MACs at the widest ({MAX_MULTIPLIER:g}x widths), below "
            f"the band {band.describe()}; add depth or stages"
        )
    else:
        lo = compact_count(state.below.value) if state.below else "?"
        hi = compact_count(state.above.value) if state.above else "?"
        reason = (
            f"width rounding steps over the band {band.describe()}: {lo} MACs at one width, "
            f"{hi} at the next; widen the tolerance or change the design"
        )
    return RepairResult(point.spec, costs, point.multiplier, steps, False, reason, detail)


def _sections(spec: ArchSpec) -> str:
    try:
        sections = spec.analytic_costs().sections
    except NotImplementedError:
        return ""
    total = sum(sections.values()) or 1
    name = max(sections, key=sections.__getitem__)
    return f" (largest part: {name}, {100 * sections[name] / total:.0f}%)"
