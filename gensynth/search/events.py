"""Hooks through which an exploration reports progress; the CLI draws them with Rich."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gensynth.search.generator import Proposal
    from gensynth.search.screen import SpeedScreen
    from gensynth.studies.records import TrialRecord

__all__ = ["ExploreEvents", "RunStart"]


@dataclasses.dataclass(frozen=True)
class RunStart:
    """What a run is about to do, said once before the first trial."""

    study: str
    storage: str  # password hidden
    resumed: bool
    completed: int
    trials: int
    requeued: tuple[int, ...]
    limits: str
    prototype: str
    task: str
    data: str
    proxy: str
    timeout_s: float | None
    final_epochs: int
    artifacts: str
    plan: str = ""  # the budget, and the time each part is expected to take

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class ExploreEvents:
    """Every hook does nothing by default; override the ones you draw."""

    def message(self, text: str) -> None:
        """A line worth showing the user (resume notes, warnings, stage changes)."""

    def started(self, start: RunStart) -> None:
        """The run is ready: study name, resumed or not, budget, completed trials so far."""

    def trial_started(self, number: int, proposal: Proposal) -> None:
        """A candidate was proposed, repaired and checked; training starts if feasible."""

    def training(self, update: dict[str, Any]) -> None:
        """A training step or epoch of the current candidate (see ``gensynth.training.fit``)."""

    def trial_finished(self, record: TrialRecord, completed: int) -> None:
        """A trial was recorded (complete, infeasible, reused or failed)."""

    def finalist(self, index: int, count: int, record: TrialRecord, epochs: int) -> None:
        """Finalist ``index`` of ``count`` starts its full training (``epochs`` epochs)."""

    def stage(self, name: str, total: int | None = None) -> None:
        """The final stages: ``screen`` (``total`` candidates timed against the reference
        before full training), ``latency`` (finalists timed side by side), ``export``."""

    def screened(self, screen: SpeedScreen) -> None:
        """The speed screen's outcome: which candidates go on to full training."""
