"""What the ``workers`` and ``ray`` engines share: a pool of worker loops on one study.

There is no scheduler here. Each worker opens the session itself and runs the local engine's
loop (the same :class:`~gensynth.search.runner.TrialRunner`) until the study holds the budget
of complete trials; the Optuna storage (a journal file or a database) is the only
coordination, so proposals and study writes happen in the workers, in parallel. The parent
draws progress by polling the study, relays Ctrl-C, and replaces a worker that was killed
(its trial is re-queued first).

A study may end with up to N-1 trials more than the budget: workers that start their last
trial at the same moment all finish it.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.errors import ConfigError, GensynthError
from gensynth.search.runner import count_complete
from gensynth.studies.records import TrialRecord
from gensynth.studies.recovery import recover_lost_trials
from gensynth.studies.storage import parse_storage_url

if TYPE_CHECKING:
    from gensynth.data.dataset import DefectDataset
    from gensynth.search.events import ExploreEvents
    from gensynth.search.session import ExploreSession
    from gensynth.search.stop import StopSignal
    from gensynth.search.study_spec import StudySpec

__all__ = [
    "Pool",
    "WorkerJob",
    "check_shared_storage",
    "ctrl_c_requests_stop",
    "run_pool",
    "run_worker",
]

POLL_S = 1.0
#: How long workers get to record their trial as interrupted before they are terminated.
STOP_GRACE_S = 30.0
#: Replacements for workers that died, per run, before the run gives up.
MAX_RESTARTS = 4
Outcome = tuple[str, str | None, str | None]  # ("done" | "stopped" | "error", message, hint)


@dataclasses.dataclass(frozen=True)
class WorkerJob:
    """What one worker needs besides the data: the study spec, its index and its budget."""

    spec: StudySpec
    worker: int
    threads: int
    deadline_wall: float | None  # time.time() at which to stop; clocks differ across hosts


def run_worker(job: WorkerJob, data: DefectDataset, asked_to_stop: Callable[[], bool]) -> Outcome:
    """One worker: open the session on the shared study and run the local loop; never raises."""
    import torch

    from gensynth.engines._local import run_trials
    from gensynth.search.events import ExploreEvents
    from gensynth.search.session import open_session
    from gensynth.search.stop import StopSignal

    torch.set_num_threads(job.threads)
    left = None if job.deadline_wall is None else job.deadline_wall - time.time()
    stop = StopSignal(None if left is None else time.monotonic() + left, external=asked_to_stop)
    try:
        session = open_session(job.spec, force_resume=True, worker=job.worker, data=data)
        run_trials(session, ExploreEvents(), stop)
    except KeyboardInterrupt:
        return ("stopped", None, None)
    except GensynthError as error:
        return ("error", error.message, error.hint)
    except Exception as error:
        return ("error", f"{type(error).__name__}: {error}"[:500], None)
    return ("stopped" if stop.requested else "done", None, None)


class Pool(abc.ABC):
    """The workers of one run, as the parent sees them."""

    kind: str = "worker processes"

    def __init__(self, session: ExploreSession, stop: StopSignal, threads: int) -> None:
        self.session = session
        self.threads = threads
        left = None if stop.deadline is None else stop.deadline - time.monotonic()
        self.deadline_wall = None if left is None else time.time() + left
        self.spec = _portable(session.spec, session.artifact_dir)
        self.restarts = 0
        self.error: GensynthError | None = None

    def job(self, worker: int) -> WorkerJob:
        return WorkerJob(self.spec, worker, self.threads, self.deadline_wall)

    @abc.abstractmethod
    def start(self, worker: int) -> None:
        """Start worker ``worker`` (again, after it was killed)."""

    @abc.abstractmethod
    def alive(self) -> list[int]:
        """The workers still running."""

    @abc.abstractmethod
    def collect(self) -> list[int]:
        """Read what finished workers said (an error sets ``error``); those killed, removed."""

    @abc.abstractmethod
    def ask_stop(self) -> None:
        """Ask every worker to stop once its trial in flight is recorded."""

    @abc.abstractmethod
    def stop_all(self, grace: float) -> None:
        """Ask, wait up to ``grace`` seconds, then end the stragglers."""

    def report(self, outcome: Outcome, worker: int) -> None:
        kind, text, hint = outcome
        if kind == "error" and self.error is None:
            self.error = GensynthError(f"worker {worker}: {text}", hint=hint)


def run_pool(pool: Pool, events: ExploreEvents, stop: StopSignal) -> int:
    """Start the pool's workers, watch them until the budget, and report; complete trials."""
    session = pool.session
    seen = _finished_numbers(session)
    for worker in range(session.spec.workers):
        pool.start(worker)
    with ctrl_c_requests_stop(stop):
        try:
            _watch(pool, events, stop, seen)
        except KeyboardInterrupt:  # a second Ctrl-C: do not wait for the trials in flight
            pool.stop_all(grace=2.0)
            _report_new(session, events, seen)
            raise
    pool.stop_all(grace=STOP_GRACE_S)
    _report_new(session, events, seen)
    if pool.error is not None:
        raise pool.error
    if stop.requested:
        raise KeyboardInterrupt
    return count_complete(session.study)


def _watch(pool: Pool, events: ExploreEvents, stop: StopSignal, seen: set[int]) -> None:
    """Poll the study until every worker is done; replace workers that were killed."""
    asked = False
    while True:
        if stop() and not asked:
            asked = True
            pool.ask_stop()
            if stop.requested:
                events.message("Stopping the workers (their trials in flight are re-queued)")
        killed = pool.collect()
        _report_new(pool.session, events, seen)
        if pool.error is not None:
            return
        if killed:
            _replace(pool, events, killed, stopping=asked)
        if not pool.alive():
            return
        time.sleep(POLL_S)


def _replace(pool: Pool, events: ExploreEvents, killed: list[int], *, stopping: bool) -> None:
    """Re-queue the trials of killed workers and start replacements."""
    session = pool.session
    requeued = recover_lost_trials(session.study)
    events.message(
        f"  worker {', '.join(map(str, killed))} was killed; re-queued trial "
        f"{', '.join(f'#{n}' for n in requeued) or '(none in flight)'}"
    )
    if stopping or (count_complete(session.study) >= session.spec.trials and not requeued):
        return  # a re-queued trial gets a worker even once the budget is reached
    if pool.restarts + len(killed) > MAX_RESTARTS:
        pool.error = GensynthError(
            f"{pool.restarts + len(killed)} workers were killed",
            hint="check memory (dmesg) and rerun the same command; finished trials are kept",
        )
        return
    pool.restarts += len(killed)
    for worker in killed:
        pool.start(worker)


def _finished_numbers(session: ExploreSession) -> set[int]:
    return {t.number for t in session.study.get_trials(deepcopy=False) if t.state.is_finished()}


def _report_new(session: ExploreSession, events: ExploreEvents, seen: set[int]) -> None:
    """Draw the trials the workers finished since the last poll, in trial order."""
    trials = session.study.get_trials(deepcopy=False)
    fresh = [t for t in trials if t.state.is_finished() and t.number not in seen]
    complete = sum(1 for t in trials if t.state.name == "COMPLETE")
    for trial in sorted(fresh, key=lambda t: t.number):
        seen.add(trial.number)
        events.trial_finished(TrialRecord.from_trial(trial), complete)


@contextlib.contextmanager
def ctrl_c_requests_stop(stop: StopSignal) -> Iterator[None]:
    """The first Ctrl-C asks the workers to stop (trials in flight are recorded as
    interrupted); a second one interrupts at once. Wherever the signal lands (inside Ray's
    own code, say), the request reaches the run through ``stop``."""

    def handler(_signum: int, _frame: Any) -> None:
        if stop.requested:
            raise KeyboardInterrupt
        stop.requested = True

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def check_shared_storage(spec: StudySpec, what: str) -> None:
    """SQLite fails with "database is locked" under several writers: name what works."""
    location = parse_storage_url(spec.storage)
    if location.kind != "sqlite" or spec.workers < 2:
        return
    journal = location.path.with_suffix(".log") if location.path else "studies.log"
    raise ConfigError(
        f"{what} needs a storage several processes can write, "
        f"got {location.redacted} (SQLite allows one writer)",
        hint=f"use --storage journal:///{journal} on one host or a shared disk, "
        "or --storage postgresql://user@host/db across hosts",
    )


def _portable(spec: StudySpec, artifact_dir: Path) -> StudySpec:
    """The spec with its storage file and artifact folder as absolute paths.

    Workers elsewhere (another working folder, another node of a shared disk) must open the
    very same study and artifact store.
    """
    location = parse_storage_url(spec.storage)
    storage = spec.storage
    if location.path is not None and not location.path.is_absolute():
        storage = f"{location.kind}:///{location.path.resolve()}"
    return dataclasses.replace(spec, storage=storage, artifacts=str(artifact_dir.resolve()))
