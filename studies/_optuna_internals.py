"""The one place gensynth reaches into Optuna's private API, and why.

Optuna has no public way to change a trial that another process created: its ``Trial``
object lives there. Recovering the trial of a dead process needs just that: its fail reason
recorded before it is failed and re-queued. ``Study.tell`` fails a foreign trial by number
(public), but a user attribute can only be set through the storage, with the trial's id,
which a ``FrozenTrial`` keeps as ``_trial_id``.

Constraint values are written the same way. Optuna 5 reads two forms, both from the trial's
system attributes: the named ``constraints:<name>`` keys that ``Trial.set_constraint`` writes,
and the list under ``constraints`` that the samplers' ``constraints_func`` writes (deprecated in
5.0, to go in 7.0; read as constraints ``"0"``, ``"1"``, ...). optuna-dashboard (0.21 and its
main branch) reads only the list. So gensynth writes the list, the one form both read, and
writes it once: Optuna merges the two forms, so writing both would count every violation
twice. Optuna has no public setter for the list (``Trial.set_system_attr`` is gone), so it
goes through the storage with the trial's id.

Referencing an artifact after its file is written needs Optuna's attribute prefix for
artifacts, which is private too. If a later Optuna renames these, only this module changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

__all__ = [
    "CONSTRAINTS_KEY",
    "fail_foreign_trial",
    "reference_trial_artifact",
    "set_constraint_list",
]

#: Optuna's ``_CONSTRAINTS_KEY`` and optuna-dashboard's ``CONSTRAINTS_KEY`` (a test checks both).
CONSTRAINTS_KEY = "constraints"


def fail_foreign_trial(study: optuna.Study, trial: FrozenTrial, attrs: dict[str, Any]) -> None:
    """Set ``attrs`` on another process's RUNNING trial, then fail it."""
    from optuna.trial import TrialState

    storage = study._storage
    for key, value in attrs.items():
        storage.set_trial_user_attr(trial._trial_id, key, value)
    study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)


def set_constraint_list(trial: optuna.Trial, values: list[float]) -> None:
    """Store ``values`` as the trial's constraint list (system attribute ``constraints``)."""
    trial.storage.set_trial_system_attr(trial._trial_id, CONSTRAINTS_KEY, list(values))


def reference_trial_artifact(trial: optuna.Trial, meta: dict[str, Any]) -> None:
    """Record an artifact already written on ``trial``, the way ``upload_artifact`` does.

    ``upload_artifact`` records the reference first and writes the file after; gensynth
    writes first (see :mod:`gensynth.studies.artifacts`), so it sets the same system
    attribute itself, through the storage and the trial's id.
    """
    import json

    from optuna.artifacts._upload import ARTIFACTS_ATTR_PREFIX

    key = ARTIFACTS_ATTR_PREFIX + meta["artifact_id"]
    trial.storage.set_trial_system_attr(trial._trial_id, key, json.dumps(meta))
