"""The study's accuracy trend: proxy accuracy against parameter count, fitted on its trials.

Inside a MACs band the generator's drafts differ mostly in how the MACs are spent: a few wide
stages at low resolution, or many thin ones at high resolution. The thin ones have far fewer
parameters, so at a common accuracy NetScore always prefers them, yet on real data they are
the least accurate (on X-SDD, Spearman 0.73 between log parameters and proxy accuracy over 72
trials). The trend ``metric = intercept + slope * ln(params)``, fitted by least squares on
the study's own scored trials, lets the generator predict which drafts would still meet the
accuracy requirement (the reference's proxy accuracy) before training any of them.

The trend is not extrapolated: a draft lighter or heavier than every trial seen is predicted
the accuracy at the edge of the seen range. Unclamped, a positive slope made a 16 M-parameter
draft look like the most accurate one in a study whose trials had at most 0.5 M.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from gensynth.studies.records import TrialRecord

__all__ = ["MIN_TREND_TRIALS", "AccuracyTrend"]

#: Scored trials with distinct parameter counts needed before a trend is fitted.
MIN_TREND_TRIALS = 4


@dataclasses.dataclass(frozen=True)
class AccuracyTrend:
    """``metric ~ intercept + slope * ln(params)``; the slope is never negative."""

    intercept: float
    slope: float
    trials: int
    #: The range of ln(params) the trend was fitted on; predictions are clamped to it.
    low: float = -math.inf
    high: float = math.inf

    @classmethod
    def fit(cls, records: Sequence[TrialRecord]) -> AccuracyTrend | None:
        """The trend of the feasible, scored ``records``; None with too few distinct ones."""
        points = [
            (math.log(r.params), float(r.metric))
            for r in records
            if r.feasible and r.metric is not None and r.params
        ]
        if len({x for x, _ in points}) < MIN_TREND_TRIALS:
            return None
        x, y = np.array(points, dtype=float).T
        slope = max(0.0, float(np.polyfit(x, y, 1)[0]))  # more parameters never hurt
        intercept = float(np.mean(y) - slope * np.mean(x))
        return cls(intercept, slope, len(points), float(x.min()), float(x.max()))

    def predict(self, params: int) -> float:
        """Predicted proxy metric of a design with ``params`` parameters, in the seen range."""
        x = min(self.high, max(self.low, math.log(max(1, params))))
        return self.intercept + self.slope * x
