"""gensynth.studies: persistence and reporting only.

Storage URLs (:func:`parse_storage_url`, ``$GENSYNTH_STORAGE``), opening and resuming
studies, the trial records and their recovery, leaderboards, export, Pareto plots, and
fetching a trial's spec and weights. Running trials is the engines' job
(``gensynth.engines``), not this package's.
"""

from __future__ import annotations

from gensynth.studies.export import export_study, study_document
from gensynth.studies.leaderboard import LeaderboardRow, leaderboard, pareto_front
from gensynth.studies.pareto import ParetoPlot, plot_pareto
from gensynth.studies.storage import (
    default_storage,
    open_existing_storage,
    open_storage,
    parse_storage_url,
    redact,
)
from gensynth.studies.study import load_existing_study, open_study, study_names
from gensynth.studies.summary import StudySummary, list_studies, summarize
from gensynth.studies.trials import download_trial_weights, fetch_trial, spec_of_trial

__all__ = [
    "LeaderboardRow",
    "ParetoPlot",
    "StudySummary",
    "default_storage",
    "download_trial_weights",
    "export_study",
    "fetch_trial",
    "leaderboard",
    "list_studies",
    "load_existing_study",
    "open_existing_storage",
    "open_storage",
    "open_study",
    "pareto_front",
    "parse_storage_url",
    "plot_pareto",
    "redact",
    "spec_of_trial",
    "study_document",
    "study_names",
    "summarize",
]
