"""The speed screen: candidates timed against the reference before any of them trains in full.

A finalist must not be slower than the reference (:mod:`gensynth.search.selection`), and
latency does not depend on the weights. So the candidates the finalist rule would promote
(up to SCREEN_FACTOR per finalist place) are built with untrained weights and timed side
by side with the reference, on the deployment backend, in a fresh process; the most
accurate ones within the allowance fill the places, and the slower ones are not trained.
In a latency-first search (``--latency``, no MACs band) they are timed against the budget
instead: a candidate over it by more than the allowance cannot win (the finals drop a
finalist over the budget), so it is not trained. With ``--accuracy-min`` alone ("accurate
enough, as fast as possible") only candidates at least SLACK_SPEEDUP faster than the
reference are trained: the finals' time goes to cheaper nets that may also meet it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gensynth.search.selection import (
    LATENCY_TOLERANCE,
    SLACK_SPEEDUP,
    block_ratio,
    keep_fast,
    latency_slack,
    too_slow,
)

if TYPE_CHECKING:
    from gensynth.search.promote import Promotion
    from gensynth.search.session import ExploreSession
    from gensynth.studies.records import TrialRecord

__all__ = ["SCREEN_FACTOR", "SpeedScreen", "screen_candidates"]

#: Candidates timed per finalist place.
SCREEN_FACTOR = 3


@dataclasses.dataclass(frozen=True)
class SpeedScreen:
    """Each candidate timed (by trial number, in finalist order) with its latency ratio to
    the reference round by round, the allowance, the reference's median, the ones kept."""

    ratios: dict[int, float | None]
    slack: float
    reference_ms: float
    kept: tuple[int, ...]
    seconds: float
    #: "reference"; "budget" (the ratios are then median / budget); "faster" (--accuracy-min
    #: alone: only candidates faster than the reference by SLACK_SPEEDUP are kept)
    against: str = "reference"
    promotion: Promotion | None = None  # the longer proxy runs before the screen, if any

    @property
    def timed(self) -> tuple[int, ...]:
        return tuple(self.ratios)

    @property
    def dropped(self) -> tuple[int, ...]:
        """Timed candidates that were slower than allowed (not the ones left over)."""
        return tuple(n for n, ratio in self.ratios.items() if too_slow(ratio, self.slack))

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": "candidates timed with untrained weights beside the reference; only those "
            "not slower (round by round, within the allowance) are trained in full",
            "against": self.against,
            "allowed": self.slack,
            "reference_ms": self.reference_ms,
            "candidates": [
                {"trial": n, "latency_ratio": self.ratios.get(n), "kept": n in self.kept}
                for n in self.timed
            ],
            "seconds": self.seconds,
            "promotion": None if self.promotion is None else self.promotion.to_json(),
        }


def screen_candidates(
    session: ExploreSession,
    reference: TrialRecord,
    candidates: Sequence[TrialRecord],
    count: int,
) -> tuple[list[TrialRecord], SpeedScreen]:
    """The first ``count`` of ``candidates`` not slower than ``reference``, and the screen."""
    from gensynth.backends import FreshModel, compare_latency_fresh
    from gensynth.prototypes import spec_from_dict

    start = time.perf_counter()
    items = [FreshModel(spec_from_dict(r.spec or {}), label=f"#{r.number}")
             for r in (reference, *candidates)]  # fmt: skip
    spec = session.spec
    comparison = compare_latency_fresh(
        items, backend=spec.backend, batch=spec.batch, threads=spec.threads
    )
    ours, *theirs = comparison.results
    budget_ms = getattr(spec, "latency_ms", None)
    against = "budget" if budget_ms is not None else "reference"
    ratios: dict[int, float | None]
    if budget_ms is not None:  # latency-first: the budget decides
        budget = budget_ms
        ratios = {record.number: result.median_ms / budget
                  for record, result in zip(candidates, theirs, strict=True)}  # fmt: skip
        slack = LATENCY_TOLERANCE
    else:
        ratios = {
            record.number: block_ratio(result.block_medians_ms, ours.block_medians_ms)
            for record, result in zip(candidates, theirs, strict=True)
        }
        slack = latency_slack(ours.block_spread)
        if getattr(spec, "fastest", False):  # accurate enough, as fast as possible
            slack, against = -SLACK_SPEEDUP, "faster"
    kept = keep_fast(candidates, ratios, count, slack)
    screen = SpeedScreen(
        ratios=ratios,
        slack=slack,
        reference_ms=ours.median_ms,
        kept=tuple(r.number for r in kept),
        seconds=time.perf_counter() - start,
        against=against,
    )
    return kept, screen
