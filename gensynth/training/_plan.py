"""Planning the epoch count from a time budget: time a few steps, then fit the epochs.

The plan is made before the learning-rate schedule is built, so a budgeted run still has a
whole warm-up + cosine schedule that ends at zero, just over fewer epochs; cutting a
cosine schedule short instead would stop at a high learning rate.
"""

from __future__ import annotations

import dataclasses
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
    clock: Callable[[], float] = time.perf_counter,
) -> EpochPlan:
    """The largest epoch count up to ``epochs`` whose estimated time fits the budget (>= 1).

    ``step`` runs one training step of the real recipe (on a throwaway copy of the model) and
    ``evaluate`` one validation pass; the time spent planning counts against the budget.
    """
    started = clock()
    for _ in range(WARMUP_STEPS):
        step()
    times = []
    for _ in range(TIMED_STEPS):
        tick = clock()
        step()
        times.append(clock() - tick)
    per_step = statistics.median(times)  # one step held up by another process is not typical
    tick = clock()
    evaluate()
    per_eval = clock() - tick
    per_epoch = steps_per_epoch * per_step + evals_per_epoch * per_eval
    spent = clock() - started
    fitting = int((time_budget - spent) // per_epoch) if per_epoch > 0 else epochs
    return EpochPlan(
        time_budget=float(time_budget),
        requested_epochs=epochs,
        epochs=max(1, min(epochs, fitting)),
        seconds_per_step=per_step,
        seconds_per_eval=per_eval,
        seconds_per_epoch=per_epoch,
        planning_seconds=spent,
    )
