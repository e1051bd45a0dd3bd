"""Promotion: the best few candidates trained longer on the proxy before the finals.

The proxy (a few epochs at 96 px) separates bad designs from good ones, but not the best from
the reference: on X-SDD its Kendall tau was 0.81 over the whole range and 0.67 among the
five best (benchmarks/proxy_ranking.py). With ``--promote N`` the first ``N`` candidates in
finalist order, and the reference, are proxy-trained again for PROMOTION_FACTOR times the
epochs (same resolution and subset, same seed); the candidates are then reordered by that
longer run, and those below the reference on it go to the back. The speed screen and the
finals follow as usual. Off by default (``N = 0``): it costs ``N + 1`` longer proxy runs.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gensynth.prototypes import ArchSpec
    from gensynth.search.session import ExploreSession
    from gensynth.studies.records import TrialRecord

__all__ = ["PROMOTION_FACTOR", "Promotion", "promote", "promote_session"]

#: Promoted candidates train this many times the proxy's epochs.
PROMOTION_FACTOR = 3


@dataclasses.dataclass(frozen=True)
class Promotion:
    """The longer proxy's metric of each promoted trial (by number) and the reference's."""

    epochs: int
    metrics: dict[int, float]
    reference_metric: float
    order: tuple[int, ...]
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": "the first candidates in finalist order and the reference proxy-trained "
            "again for longer; candidates reordered by it, those below the reference last",
            "epochs": self.epochs,
            "reference_metric": self.reference_metric,
            "candidates": [{"trial": n, "metric": m} for n, m in self.metrics.items()],
            "order": list(self.order),
            "seconds": self.seconds,
        }


def promote(
    reference: TrialRecord,
    candidates: Sequence[TrialRecord],
    count: int,
    score: Callable[[TrialRecord], float],
    epochs: int = 0,
) -> tuple[list[TrialRecord], Promotion]:
    """``candidates`` reordered: the first ``count`` scored again by ``score`` (the longer
    proxy) beside the reference; those at least as good as it first, best first; then the
    rest of the promoted ones, best first; then the candidates not promoted, in order."""
    start = time.perf_counter()
    floor = score(reference)
    promoted = list(candidates[:count])
    metrics = {r.number: score(r) for r in promoted}
    ranked = sorted(promoted, key=lambda r: -metrics[r.number])
    ahead = [r for r in ranked if metrics[r.number] >= floor]
    order = ahead + [r for r in ranked if r not in ahead] + list(candidates[count:])
    promotion = Promotion(epochs, metrics, floor, tuple(r.number for r in order),
                          time.perf_counter() - start)  # fmt: skip
    return order, promotion


def promote_session(
    session: ExploreSession, reference: TrialRecord, candidates: Sequence[TrialRecord], count: int
) -> tuple[list[TrialRecord], Promotion]:
    """:func:`promote` with the session's proxy recipe for PROMOTION_FACTOR times its epochs."""
    from gensynth.prototypes import spec_from_dict
    from gensynth.search.inquisitor import Inquisitor

    config = session.train_config
    longer = config.replace(epochs=config.epochs * PROMOTION_FACTOR)
    inquisitor = Inquisitor(session.data, longer, task=session.spec.task, probe_samples=8)

    def score(record: TrialRecord) -> float:
        spec: ArchSpec = spec_from_dict(record.spec or {})
        return float(inquisitor.evaluate(spec, seed=session.spec.seed).metric)

    return promote(reference, candidates, count, score, longer.epochs)
