"""How many timing runs a latency verdict needs, and whether it is within the noise.

A verdict compares block medians, taken in alternating rounds, with a limit: a latency
budget (``--latency``), or ``1 + allowance`` times the reference round by round. It is
*clear* when every round falls on the same side of the limit; then one more run would not
change it. When the rounds straddle the limit, the finals time the finalists again (up to
:data:`MAX_TIMING_RUNS` runs in all, the blocks pooled); a verdict still straddling then is
decided by the median, as before, and reported as *within the noise*, with how many rounds
fell on each side. On this 2-core machine batch-1 blocks of a 1-2 ms net spread 59-96%
(closing note of issue 10): one side-by-side could read 0.87x and the next 1.36x.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gensynth.backends import LatencyResult
    from gensynth.search.selection import Finalist

__all__ = [
    "MAX_TIMING_RUNS",
    "NoiseCheck",
    "budget_check",
    "finalist_checks",
    "needs_more_runs",
    "ratio_check",
    "settle",
]

#: Timing runs of the finalists at most (the first included) before a verdict is reported
#: as within the noise.
MAX_TIMING_RUNS = 3


@dataclasses.dataclass(frozen=True)
class NoiseCheck:
    """Rounds of a measurement against a limit: the median decides, the rounds tell how sure.

    ``values`` are per round (block medians in ms, or ratios to the reference); ``over`` is
    the verdict (the median above ``limit``); ``clear`` when every round agrees with it.
    """

    what: str  # "budget" or "reference"
    values: tuple[float, ...]
    limit: float
    runs: int = 1

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def over(self) -> bool:
        return bool(self.values) and self.median > self.limit

    @property
    def rounds_over(self) -> int:
        return sum(1 for v in self.values if v > self.limit)

    @property
    def clear(self) -> bool:
        over = self.rounds_over
        return over in (0, len(self.values))

    def describe(self) -> str:
        """One phrase; a verdict within the noise says so, with the rounds on each side."""
        side = "over" if self.over else "within"
        if self.what == "budget":
            text = f"median {self.median:.3g} ms {side} the {self.limit:.3g} ms budget"
        else:
            text = f"{self.median:.2f}x the reference round by round, {side} the {self.limit:.2f}x"
        if self.clear:
            return f"{text} (all {len(self.values)} rounds agree)"
        return (
            f"{text}: within the noise ({self.rounds_over} of {len(self.values)} rounds over "
            f"after {self.runs} timing run{'s' if self.runs != 1 else ''})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "against": self.what,
            "median": self.median,
            "limit": self.limit,
            "over": self.over,
            "rounds": len(self.values),
            "rounds_over": self.rounds_over,
            "within_noise": not self.clear,
            "runs": self.runs,
        }


def budget_check(blocks_ms: Sequence[float], budget_ms: float, runs: int = 1) -> NoiseCheck:
    """A finalist's block medians against a latency budget."""
    return NoiseCheck("budget", tuple(blocks_ms), float(budget_ms), runs)


def ratio_check(
    mine: Sequence[float], theirs: Sequence[float], limit: float, runs: int = 1
) -> NoiseCheck | None:
    """A finalist's block medians over the reference's, round by round, against ``limit``
    (``1 + allowance``); None without paired blocks."""
    if not mine or len(mine) != len(theirs) or min(theirs) <= 0:
        return None
    return NoiseCheck("reference", tuple(a / b for a, b in zip(mine, theirs, strict=True)),
                      float(limit), runs)  # fmt: skip


def needs_more_runs(checks: Sequence[NoiseCheck | None], runs: int) -> bool:
    """Whether another timing run could settle a verdict still within the noise."""
    return runs < MAX_TIMING_RUNS and any(c is not None and not c.clear for c in checks)


def finalist_checks(finalists: Sequence[Finalist], budget_ms: float | None) -> list[NoiseCheck]:
    """The latency verdicts the rule will take on ``finalists``: each against the budget
    (latency-first), else each candidate against the reference, round by round."""
    from gensynth.search.candidates import latency_slack

    if budget_ms is not None:
        return [budget_check(f.latency_blocks, budget_ms) for f in finalists if f.latency_blocks]
    reference = next((f for f in finalists if f.role == "reference"), None)
    if reference is None:
        return []
    limit = 1 + latency_slack(reference.latency_spread)
    checks = (ratio_check(f.latency_blocks, reference.latency_blocks, limit)
              for f in finalists if f is not reference)  # fmt: skip
    return [c for c in checks if c is not None]


def settle(
    finalists: Sequence[Finalist],
    time_again: Callable[[], Sequence[LatencyResult]],
    budget_ms: float | None,
) -> int:
    """Time ``finalists`` again (``time_again``: one result each, in order) until every
    verdict is clear or MAX_TIMING_RUNS runs are spent; their blocks pooled. The runs."""
    runs = 1
    while needs_more_runs(finalist_checks(finalists, budget_ms), runs):
        for finalist, result in zip(finalists, time_again(), strict=True):
            finalist.latency_blocks = (*finalist.latency_blocks, *result.block_medians_ms)
            blocks = finalist.latency_blocks
            finalist.latency_ms = statistics.median(blocks)
            finalist.latency_spread = (max(blocks) - min(blocks)) / finalist.latency_ms
        runs += 1
    return runs
