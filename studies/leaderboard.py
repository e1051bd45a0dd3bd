"""The leaderboard: feasible trials ranked, and the Pareto front for multi-objective studies."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from gensynth.studies.records import TrialRecord, records_of

if TYPE_CHECKING:
    import optuna

__all__ = ["LeaderboardRow", "leaderboard", "pareto_front"]


@dataclasses.dataclass(frozen=True)
class LeaderboardRow:
    rank: int
    trial: int
    describe: str
    macs: int | None
    params: int | None
    latency_ms: float | None
    metric: float | None
    netscore: float | None
    values: tuple[float, ...]
    origin: str
    on_front: bool

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def pareto_front(records: list[TrialRecord], directions: list[str]) -> list[TrialRecord]:
    """The non-dominated records under ``directions`` (each ``maximize`` or ``minimize``)."""
    usable = [r for r in records if r.values is not None]
    if not usable:
        return []
    signs = np.array([1.0 if d == "maximize" else -1.0 for d in directions])
    points = np.array([np.asarray(r.values, dtype=float) * signs for r in usable])
    front = []
    for i, point in enumerate(points):
        better_or_equal = np.all(points >= point, axis=1)
        strictly_better = np.any(points > point, axis=1)
        if not np.any(better_or_equal & strictly_better):
            front.append(usable[i])
    return front


def _sort_key(record: TrialRecord, directions: list[str]) -> tuple[float, ...]:
    if record.values is None:
        return (np.inf,)
    sign = -1.0 if directions[0] == "maximize" else 1.0
    return (sign * record.values[0], record.number)


def leaderboard(study: optuna.Study, *, limit: int | None = None) -> list[LeaderboardRow]:
    """Feasible trials, best first: by the objective, or front first then NetScore (Pareto).

    A trial that reused an identical spec's result is left out (its twin is listed).
    """
    directions = [d.name.lower() for d in study.directions]
    feasible = [r for r in records_of(study.get_trials(deepcopy=False)) if r.feasible]
    feasible = [r for r in feasible if r.origin != "reuse"]
    front = {r.number for r in pareto_front(feasible, directions)}
    if len(directions) == 1:
        ranked = sorted(feasible, key=lambda r: _sort_key(r, directions))
    else:
        ranked = sorted(
            feasible, key=lambda r: (r.number not in front, -(r.netscore or -np.inf), r.number)
        )
    rows = [
        LeaderboardRow(
            rank=i + 1,
            trial=r.number,
            describe=r.describe,
            macs=r.macs,
            params=r.params,
            latency_ms=r.latency_ms,
            metric=r.metric,
            netscore=r.netscore,
            values=tuple(r.values or ()),
            origin=r.origin,
            on_front=r.number in front,
        )
        for i, r in enumerate(ranked)
    ]
    return rows[:limit] if limit else rows
