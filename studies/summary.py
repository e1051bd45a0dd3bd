"""What ``gensynth studies list`` shows: each study's task, limits, trial counts and best."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import TYPE_CHECKING, Any

from gensynth.constraints.limits import Limits
from gensynth.errors import GensynthError
from gensynth.studies.leaderboard import leaderboard
from gensynth.studies.records import records_of
from gensynth.studies.storage import open_existing_storage
from gensynth.studies.study import SPEC_KEY, study_names

if TYPE_CHECKING:
    import optuna

__all__ = ["StudySummary", "list_studies", "stored_limits", "stored_spec", "summarize"]


@dataclasses.dataclass(frozen=True)
class StudySummary:
    """One study at a glance; ``gensynth`` is False for studies other tools made."""

    name: str
    gensynth: bool
    task: str | None
    prototype: str | None
    limits: str
    objectives: tuple[str, ...]
    trials: int
    complete: int
    feasible: int
    infeasible: int
    failed: int
    running: int
    waiting: int
    best_trial: int | None
    best_value: float | None
    best_metric: float | None
    best_netscore: float | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def stored_spec(study: optuna.Study) -> dict[str, Any] | None:
    """The exploration spec a gensynth study was created with (a dict), or None."""
    data = study.user_attrs.get(SPEC_KEY)
    return data if isinstance(data, dict) else None


def stored_limits(study: optuna.Study) -> Limits | None:
    """The limits a gensynth study was created with (any gensynth version), or None."""
    data = stored_spec(study)
    if data is None:
        return None
    try:
        return Limits.from_mapping(data)
    except (GensynthError, TypeError):
        return None


def summarize(study: optuna.Study) -> StudySummary:
    """Counts by state (complete = feasible + infeasible) and the leaderboard's first row."""
    trials = study.get_trials(deepcopy=False)
    records = records_of(trials)
    states = Counter(t.state.name for t in trials)
    feasible = sum(1 for r in records if r.feasible)
    raw = stored_spec(study) or {}
    limits = stored_limits(study)
    rows = leaderboard(study, limit=1)
    best = rows[0] if rows else None
    return StudySummary(
        name=study.study_name,
        gensynth=bool(raw),
        task=raw.get("task"),
        prototype=raw.get("prototype"),
        limits=limits.describe() if limits else "-",
        objectives=tuple(raw.get("objectives") or (d.name.lower() for d in study.directions)),
        trials=len(trials),
        complete=states["COMPLETE"],
        feasible=feasible,
        infeasible=states["COMPLETE"] - feasible,
        failed=states["FAIL"],
        running=states["RUNNING"],
        waiting=states["WAITING"],
        best_trial=best.trial if best else None,
        best_value=best.values[0] if best and best.values else None,
        best_metric=best.metric if best else None,
        best_netscore=best.netscore if best else None,
    )


def list_studies(storage_url: str) -> list[StudySummary]:
    """A summary of every study in a storage, by name."""
    import optuna

    storage = open_existing_storage(storage_url)
    return [
        summarize(optuna.load_study(study_name=name, storage=storage))
        for name in study_names(storage)
    ]
