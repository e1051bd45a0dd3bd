"""Hooks through which the explore loop reports progress; the CLI draws them with Rich."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gensynth.search.generator import Proposal
    from gensynth.search.records import TrialRecord

__all__ = ["ExploreEvents"]


class ExploreEvents:
    """Every hook does nothing by default; override the ones you draw."""

    def message(self, text: str) -> None:
        """A line worth showing the user (resume notes, warnings, stage changes)."""

    def started(self, info: dict[str, Any]) -> None:
        """The run is ready: study name, resumed or not, budget, completed trials so far."""

    def trial_started(self, number: int, proposal: Proposal) -> None:
        """A candidate was proposed, repaired and checked; training starts if feasible."""

    def training(self, update: dict[str, Any]) -> None:
        """A training step or epoch of the current candidate (see ``gensynth.training.fit``)."""

    def trial_finished(self, record: TrialRecord, completed: int) -> None:
        """A trial was recorded (complete, infeasible, reused or failed)."""

    def stage(self, name: str, total: int | None = None) -> None:
        """The final stages: ``final-train``, ``export``, ``latency``."""
