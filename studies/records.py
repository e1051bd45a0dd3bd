"""The trial schema: what a trial stores, under which user-attribute names, and how to read it.

Every value is JSON-serialisable, so Optuna's public API and optuna-dashboard read the same.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

__all__ = ["INFEASIBLE_MAXIMIZE", "INFEASIBLE_MINIMIZE", "Attr", "TrialRecord", "records_of"]

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
        )

    @property
    def trained(self) -> bool:
        return self.feasible and self.origin != "reuse"


def records_of(trials: list[FrozenTrial]) -> list[TrialRecord]:
    return [TrialRecord.from_trial(trial) for trial in trials]
