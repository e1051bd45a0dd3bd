"""Before the finals: which candidates are trained in full, and the latency allowance.

The finalist order (:func:`pick_finalists`), the proxy's accuracy floor (the scored
reference's, :func:`accurate_pool`) and the speed screen's test (:func:`keep_fast`, the same
round-by-round test as the finals: :func:`block_ratio`, :func:`latency_slack`,
:func:`too_slow`). :mod:`gensynth.search.selection` re-exports every name here.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence

from gensynth.studies.records import TrialRecord

__all__ = [
    "LATENCY_SLACK_MAX",
    "LATENCY_TOLERANCE",
    "accurate_pool",
    "block_ratio",
    "keep_fast",
    "latency_slack",
    "pick_finalists",
    "reference_proxy_metric",
    "too_slow",
]

#: A finalist may be this much slower than the reference (or twice the timing's spread, if
#: larger, up to LATENCY_SLACK_MAX: one stray block must not admit a clearly slower net).
LATENCY_TOLERANCE = 0.05
LATENCY_SLACK_MAX = 0.15


def reference_proxy_metric(records: Sequence[TrialRecord]) -> float | None:
    """The proxy metric of the scored reference among ``records``, or None."""
    return next(
        (float(r.metric) for r in records
         if r.origin == "reference" and r.feasible and r.metric is not None),
        None,
    )  # fmt: skip


def accurate_pool(records: Sequence[TrialRecord]) -> list[TrialRecord]:
    """The scored ``records`` at least as accurate on the proxy as the scored reference.

    This is the accuracy indicator of generative synthesis, relative to the hand design: the
    proxy's accuracy is not the fully trained one, so an absolute ``--accuracy-min`` is
    checked on the finalists instead. Without a scored reference, every scored record.
    """
    scored = [r for r in records if r.feasible and r.metric is not None]
    floor = reference_proxy_metric(scored)
    return [r for r in scored if floor is None or (r.metric or 0.0) >= floor]


def pick_finalists(
    records: Sequence[TrialRecord], count: int, reference: TrialRecord | None
) -> list[TrialRecord]:
    """The reference and up to ``count`` other feasible trials: the ones to train in full.

    Trials at least as accurate on the proxy as the reference come first, most accurate
    first (NetScore breaks ties), so the finalists have the best chance to qualify; the rest
    fill up the count, best NetScore first. Identical specs count once.

    Ordering the qualifying trials by NetScore instead promoted the lightest of them, and
    those lost in full training: on X-SDD at 25 M MACs all three (34 K to 77 K parameters
    against the reference's 128 K) fell 0.9 to 1.4 points short on validation and ran 24 to
    87% slower. The full-training rule (:func:`select_winner`) still picks by NetScore.
    """
    trained = [r for r in records if r.trained and r.spec_hash and r.metric is not None]
    floor = reference.metric if reference is not None and reference.metric is not None else None
    by_score = sorted(trained, key=lambda r: (-(r.netscore or float("-inf")), r.number))
    ahead = [r for r in by_score if floor is None or (r.metric or 0.0) >= floor]
    if floor is not None:
        ahead.sort(key=lambda r: -(r.metric or 0.0))  # stable: NetScore breaks ties
    ordered = ahead + [r for r in by_score if r not in ahead]
    chosen: list[TrialRecord] = [] if reference is None else [reference]
    seen = {r.spec_hash for r in chosen}
    for record in ordered:
        if len(chosen) - (reference is not None) >= count:
            break
        if record.spec_hash not in seen:
            chosen.append(record)
            seen.add(record.spec_hash)
    return chosen


def block_ratio(mine: Sequence[float], theirs: Sequence[float]) -> float | None:
    """The median over rounds of ``mine[i] / theirs[i]`` (block medians, in timing order).

    None unless both have the same number of blocks, all of theirs positive.
    """
    if not mine or len(mine) != len(theirs) or min(theirs) <= 0:
        return None
    return statistics.median(a / b for a, b in zip(mine, theirs, strict=True))


def latency_slack(reference_spread: float, tolerance: float = LATENCY_TOLERANCE) -> float:
    """How much slower than the reference still counts as "not slower": ``tolerance``, or
    twice the spread of the reference's blocks if larger, but at most LATENCY_SLACK_MAX."""
    return min(LATENCY_SLACK_MAX, max(tolerance, 2 * reference_spread))


def too_slow(ratio: float | None, slack: float) -> bool:
    """Whether a round-by-round latency ratio to the reference exceeds ``1 + slack``; no
    ratio is not slower (nothing says it is)."""
    return ratio is not None and ratio > 1 + slack


def keep_fast(
    candidates: Sequence[TrialRecord],
    ratios: Mapping[int, float | None],
    count: int,
    slack: float,
) -> list[TrialRecord]:
    """The first ``count`` of ``candidates`` (in finalist order) not slower than the
    reference: round-by-round latency ratio (``ratios``, by trial number) within
    ``1 + slack`` (:func:`too_slow`).

    On X-SDD at 25 M MACs the three finalists chosen by proxy accuracy alone ran 49-92%
    slower than the reference once trained: none could qualify, and their training was
    two thirds of the finishing time.
    """
    kept: list[TrialRecord] = []
    for record in candidates:
        if len(kept) >= count:
            break
        if not too_slow(ratios.get(record.number), slack):
            kept.append(record)
    return kept
