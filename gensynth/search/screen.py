"""The speed screen: candidates timed against the reference before any of them trains in full.

A finalist must not be slower than the reference (:mod:`gensynth.search.selection`), and
latency does not depend on the weights. So the candidates the finalist rule would promote
(up to SCREEN_FACTOR per finalist place) are built with untrained weights and timed side
by side with the reference, on the deployment backend, in a fresh process; the most
accurate ones within the allowance fill the places, and the slower ones are not trained.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gensynth.search.selection import block_ratio, keep_fast, latency_slack, too_slow

if TYPE_CHECKING:
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
            "allowed": self.slack,
            "reference_ms": self.reference_ms,
            "candidates": [
                {"trial": n, "latency_ratio": self.ratios.get(n), "kept": n in self.kept}
                for n in self.timed
            ],
            "seconds": self.seconds,
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
    ratios = {
        record.number: block_ratio(result.block_medians_ms, ours.block_medians_ms)
        for record, result in zip(candidates, theirs, strict=True)
    }
    slack = latency_slack(ours.block_spread)
    kept = keep_fast(candidates, ratios, count, slack)
    screen = SpeedScreen(
        ratios=ratios,
        slack=slack,
        reference_ms=ours.median_ms,
        kept=tuple(r.number for r in kept),
        seconds=time.perf_counter() - start,
    )
    return kept, screen
