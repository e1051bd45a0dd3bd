"""Planning the epoch count from a time budget: time a few steps, then fit the epochs.

The plan is made before the learning-rate schedule is built, so a budgeted run still has a
whole warm-up + cosine schedule that ends at zero, just over fewer epochs; cutting a
cosine schedule short instead would stop at a high learning rate.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
import time
from collections.abc import Callable
from typing import Any

__all__ = ["DEADLINE_SLACK", "TIMED_STEPS", "WARMUP_STEPS", "EpochPlan", "plan_epochs"]

#: Untimed steps first: the first steps of a fresh model pay for kernel selection and caches.
WARMUP_STEPS = 2
TIMED_STEPS = 5
#: A run that gets slower than planned (a busy shared machine) stops at this share of it.
DEADLINE_SLACK = 1.25


@dataclasses.dataclass(frozen=True)
class EpochPlan:
    """How many epochs fit into ``time_budget`` seconds, and the timings that said so."""

    time_budget: float
    requested_epochs: int
    epochs: int
    seconds_per_step: float
    seconds_per_eval: float
    seconds_per_epoch: float
    planning_seconds: float
    low_epochs: int = 0
    seconds_per_low_step: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def plan_epochs(
    step: Callable[[], object],
    evaluate: Callable[[], object],
    *,
    steps_per_epoch: int,
    evals_per_epoch: int,
    epochs: int,
    time_budget: float,
    low_step: Callable[[], object] | None = None,
    low_share: float = 0.0,
    clock: Callable[[], float] = time.perf_counter,
) -> EpochPlan:
    """The largest epoch count up to ``epochs`` whose estimated time fits the budget (>= 1).

    ``step`` runs one training step of the real recipe (on a throwaway copy of the model) and
    ``evaluate`` one validation pass; the time spent planning counts against the budget.
    ``low_step``, if given, is a step of the first ``floor(low_share × epochs)`` epochs
    (progressive resizing), which are planned at its own, lower cost.
    """
    started = clock()
    per_step = _time_steps(step, clock)
    per_low = None if low_step is None else _time_steps(low_step, clock)
    tick = clock()
    evaluate()
    per_eval = clock() - tick
    per_epoch = steps_per_epoch * per_step + evals_per_epoch * per_eval
    spent = clock() - started

    def low_epochs(count: int) -> int:
        return 0 if per_low is None else math.floor(low_share * count)

    def cost(count: int) -> float:
        saved = low_epochs(count) * steps_per_epoch * (per_step - (per_low or per_step))
        return count * per_epoch - saved

    fitting = epochs
    while fitting > 1 and cost(fitting) > time_budget - spent:
        fitting -= 1
    return EpochPlan(
        time_budget=float(time_budget),
        requested_epochs=epochs,
        epochs=fitting,
        seconds_per_step=per_step,
        seconds_per_eval=per_eval,
        seconds_per_epoch=per_epoch,
        planning_seconds=spent,
        low_epochs=low_epochs(fitting),
        seconds_per_low_step=per_low,
    )


def _time_steps(step: Callable[[], object], clock: Callable[[], float]) -> float:
    """The median time of TIMED_STEPS calls of ``step``, after WARMUP_STEPS untimed ones."""
    for _ in range(WARMUP_STEPS):
        step()
    times = []
    for _ in range(TIMED_STEPS):
        tick = clock()
        step()
        times.append(clock() - tick)
    return statistics.median(times)  # one step held up by another process is not typical
