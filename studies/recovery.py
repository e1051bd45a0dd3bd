"""Recovering lost work: trials whose process died or was interrupted are run again.

Completed trials are never touched. A lost trial is re-queued (Optuna WAITING state) with its
spec, so the next worker that asks for a trial evaluates the same candidate again. RDB
storages also have Optuna's heartbeat for processes on other hosts; journal files have none,
so for them (and for a quick rerun on the same host) a dead process is recognised by its pid.
"""

from __future__ import annotations

import os
import socket
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from gensynth.studies._optuna_internals import fail_foreign_trial
from gensynth.studies.records import Attr

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

__all__ = ["RETRYABLE", "recover_lost_trials"]

#: Fail reasons after which a trial's spec is evaluated again: the candidate was not at
#: fault. An artifact store that cannot be written (a full disk, say) stops the run; the
#: rerun, once that is fixed, retries the trial.
RETRYABLE = (
    "interrupted",
    "worker died",
    "stopped by the time limit",
    "disk full",
    "cannot write to the artifact store",
)
MAX_RETRIES = 2


def _process_is_dead(worker: str | None) -> bool:
    """True only when ``worker`` ("host:pid") ran on this host and that pid is gone."""
    if not worker or ":" not in worker:
        return False
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return _is_zombie(int(pid))


def _is_zombie(pid: int) -> bool:
    """A killed process nobody has reaped yet (common in containers without an init)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return False  # no /proc (macOS): a live pid counts as alive
    return stat.rpartition(")")[2].split()[:1] in (["Z"], ["X"])


def _retried_numbers(trials: list[FrozenTrial]) -> set[int]:
    """Numbers of the trials that were re-queued already (Optuna's retry history)."""
    import optuna
    from optuna.storages import RetryFailedTrialCallback

    done: set[int] = set()
    with warnings.catch_warnings():  # "experimental" since Optuna 3.0
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        for trial in trials:
            done.update(RetryFailedTrialCallback.retry_history(trial))
    return done


def recover_lost_trials(study: optuna.Study) -> list[int]:
    """Fail RUNNING trials of dead local processes and re-queue lost ones; their numbers."""
    import optuna
    from optuna.storages import RetryHeartbeatStaleTrialCallback
    from optuna.trial import TrialState

    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if _process_is_dead(trial.user_attrs.get(Attr.WORKER)):
            fail_foreign_trial(study, trial, {Attr.FAIL_REASON: "worker died"})
    trials = study.get_trials(deepcopy=False)
    retried = _retried_numbers(trials)
    requeued = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retry = RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRIES)
    for trial in trials:
        reason = trial.user_attrs.get(Attr.FAIL_REASON) or ""
        lost = trial.state == TrialState.FAIL and reason.startswith(RETRYABLE)
        if lost and trial.number not in retried and Attr.SPEC in trial.user_attrs:
            retry(study, trial)
            requeued.append(trial.number)
    return requeued
