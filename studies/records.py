"""The trial schema: what a trial stores, under which user-attribute names, and how to read it.

Every value is JSON-serialisable, so Optuna's public API and optuna-dashboard read the same.
Constraint values are Optuna's (its samplers read them); their names are a user attribute.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

from gensynth.errors import TrialFailed
from gensynth.studies._optuna_internals import set_constraint_list

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

__all__ = [
    "INFEASIBLE_MAXIMIZE",
    "INFEASIBLE_MINIMIZE",
    "Attr",
    "TrialRecord",
    "constraints_of",
    "record_constraints",
    "records_of",
]

#: Objective value recorded for candidates that break a limit (never trained).
INFEASIBLE_MAXIMIZE = -1000.0
INFEASIBLE_MINIMIZE = 1e18


class Attr:
    """User-attribute keys on a trial."""

    SPEC = "spec"  # the ArchSpec as a dict (also what a retried trial re-evaluates)
    SPEC_HASH = "spec_hash"
    DESCRIBE = "describe"  # compact one-line form
    ORIGIN = "origin"  # reference | sample | mutation | retry | reuse
    ORIGIN_DETAIL = "origin_detail"
    MACS = "macs"
    PARAMS = "params"
    LATENCY_MS = "latency_ms"
    FEASIBLE = "feasible"
    REASON = "infeasible_reason"
    METRIC = "metric"  # primary validation metric, percent (accuracy or mIoU)
    METRIC_NAME = "metric_name"
    METRICS = "metrics"
    NETSCORE = "netscore"
    INSIGHTS = "insights"
    TIMINGS = "timings"
    SEED = "seed"
    WEIGHTS = "weights_artifact"
    FAIL_REASON = "fail_reason"
    WORKER = "worker"  # host:pid that ran it
    REUSED_FROM = "reused_from"
    CONSTRAINT_NAMES = "constraint_names"  # names of the trial's constraint list, in order


@dataclasses.dataclass(frozen=True)
class TrialRecord:
    """A finished or running trial as gensynth sees it."""

    number: int
    state: str
    values: tuple[float, ...] | None
    spec: dict[str, Any] | None
    spec_hash: str | None
    describe: str
    origin: str
    feasible: bool
    reason: str | None
    macs: int | None
    params: int | None
    latency_ms: float | None
    metric: float | None
    netscore: float | None
    insights: dict[str, dict[str, float]]
    fail_reason: str | None
    user_attrs: dict[str, Any]
    duration_s: float | None
    constraints: dict[str, float] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_trial(cls, trial: FrozenTrial) -> TrialRecord:
        attrs = trial.user_attrs
        duration = trial.duration.total_seconds() if trial.duration is not None else None
        return cls(
            number=trial.number,
            state=trial.state.name,
            values=tuple(trial.values) if trial.values is not None else None,
            spec=attrs.get(Attr.SPEC),
            spec_hash=attrs.get(Attr.SPEC_HASH),
            describe=attrs.get(Attr.DESCRIBE, ""),
            origin=attrs.get(Attr.ORIGIN, ""),
            feasible=bool(attrs.get(Attr.FEASIBLE, False)) and trial.state.name == "COMPLETE",
            reason=attrs.get(Attr.REASON),
            macs=attrs.get(Attr.MACS),
            params=attrs.get(Attr.PARAMS),
            latency_ms=attrs.get(Attr.LATENCY_MS),
            metric=attrs.get(Attr.METRIC),
            netscore=attrs.get(Attr.NETSCORE),
            insights=attrs.get(Attr.INSIGHTS) or {},
            fail_reason=attrs.get(Attr.FAIL_REASON),
            user_attrs=dict(attrs),
            duration_s=duration,
            constraints=constraints_of(trial),
        )

    @property
    def trained(self) -> bool:
        return self.feasible and self.origin != "reuse"


def records_of(trials: list[FrozenTrial]) -> list[TrialRecord]:
    return [TrialRecord.from_trial(trial) for trial in trials]


def record_constraints(trial: optuna.Trial, values: dict[str, float]) -> None:
    """Store a trial's constraint values (each <= 0 when feasible) once, by name.

    The values go where Optuna's samplers and optuna-dashboard both read them (see
    ``_optuna_internals``), the names in ``Attr.CONSTRAINT_NAMES``. A trial that already has
    constraints keeps them: a retried trial carries the lost one's (same spec), and adding a
    second form would count its violations twice.
    """
    if trial.constraints:
        return
    for name, value in values.items():
        if not math.isfinite(value):
            raise TrialFailed(f"constraint {name!r}: expected a finite number, got {value}")
    trial.set_user_attr(Attr.CONSTRAINT_NAMES, list(values))
    set_constraint_list(trial, [float(v) for v in values.values()])


def constraints_of(trial: FrozenTrial) -> dict[str, float]:
    """A trial's constraint values by name: the named list, or an older study's named keys."""
    stored = dict(trial.constraints)
    names = trial.user_attrs.get(Attr.CONSTRAINT_NAMES) or []
    positions = [str(i) for i in range(len(names))]
    if not names or any(key not in stored for key in positions):
        return stored
    named = {name: stored.pop(key) for name, key in zip(names, positions, strict=True)}
    return {**named, **stored}
