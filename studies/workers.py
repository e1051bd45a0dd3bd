"""``--workers N`` on the local engine: N processes run trials against one shared study.

There is no scheduler here. Each worker opens the session itself and runs the ordinary loop
until the study holds the budget of complete trials; Optuna's storage (a journal file or a
database) is the only coordination. The parent draws progress by polling the study, stops the
workers on Ctrl-C, and replaces a worker that dies (its trial is re-queued first).

A study may end with up to N-1 trials more than the budget: workers that start their last
trial at the same moment all finish it.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import queue
import time
from typing import TYPE_CHECKING, Any

from gensynth.errors import GensynthError
from gensynth.search.loop import StopSignal, count_complete
from gensynth.search.records import TrialRecord
from gensynth.studies.engines import check_engine, worker_threads

if TYPE_CHECKING:
    from multiprocessing.context import SpawnProcess
    from multiprocessing.synchronize import Event

    from gensynth.data.dataset import DefectDataset
    from gensynth.search.events import ExploreEvents
    from gensynth.search.session import ExploreSession
    from gensynth.search.study_spec import StudySpec

__all__ = ["WorkerJob", "run_workers"]

POLL_S = 1.0
#: How long workers get to record their trial as interrupted before they are terminated.
STOP_GRACE_S = 30.0
#: Replacements for workers that died, per run, before the run gives up.
MAX_RESTARTS = 4


@dataclasses.dataclass(frozen=True)
class WorkerJob:
    """What one worker process needs: the study spec, its index, threads and the data."""

    spec: StudySpec
    worker: int
    threads: int
    deadline_wall: float | None
    data: DefectDataset
    parent_pid: int


class _WorkerStop(StopSignal):
    """Stops when the parent asks, the parent is gone, or the deadline passes."""

    def __init__(self, event: Event, parent_pid: int, deadline_wall: float | None) -> None:
        super().__init__(None)
        self.event = event
        self.parent_pid = parent_pid
        self.deadline_wall = deadline_wall

    def __call__(self) -> bool:
        if self.event.is_set() or os.getppid() != self.parent_pid:
            self.requested = True  # the loop records the trial in flight as "interrupted"
        if self.deadline_wall is not None and time.time() >= self.deadline_wall:
            return True
        return self.requested


def _worker_main(job: WorkerJob, stop_event: Event, messages: Any) -> None:
    """One worker process: open the session and run the ordinary loop until the budget."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent relays Ctrl-C via stop_event
    import torch

    from gensynth.search.events import ExploreEvents
    from gensynth.search.loop import run_trials
    from gensynth.search.session import open_session

    torch.set_num_threads(job.threads)
    try:
        session = open_session(job.spec, force_resume=True, worker=job.worker, data=job.data)
        stop = _WorkerStop(stop_event, job.parent_pid, job.deadline_wall)
        run_trials(session, ExploreEvents(), stop)
    except KeyboardInterrupt:
        messages.put((job.worker, "stopped", None, None))
    except GensynthError as error:
        messages.put((job.worker, "error", error.message, error.hint))
        raise SystemExit(1) from None
    except Exception as error:
        messages.put((job.worker, "error", f"{type(error).__name__}: {error}"[:500], None))
        raise SystemExit(1) from None


class _Pool:
    """The worker processes of one run, and what the parent has already reported."""

    def __init__(self, session: ExploreSession, stop: StopSignal) -> None:
        self.session = session
        self.context = multiprocessing.get_context("spawn")
        self.stop_event = self.context.Event()
        self.messages = self.context.Queue()
        self.threads = worker_threads(session.spec, session.spec.workers)
        left = None if stop.deadline is None else stop.deadline - time.monotonic()
        self.deadline_wall = None if left is None else time.time() + left
        self.processes: dict[int, SpawnProcess] = {}
        self.restarts = 0
        self.error: GensynthError | None = None

    def start(self, worker: int) -> None:
        job = WorkerJob(self.session.spec, worker, self.threads, self.deadline_wall,
                        self.session.data, os.getpid())  # fmt: skip
        process = self.context.Process(
            target=_worker_main,
            args=(job, self.stop_event, self.messages),
            name=f"gensynth-worker-{worker}",
            daemon=False,
        )
        process.start()
        self.processes[worker] = process

    def alive(self) -> list[int]:
        return [w for w, p in self.processes.items() if p.is_alive()]

    def read_messages(self) -> None:
        while True:
            try:
                worker, kind, text, hint = self.messages.get_nowait()
            except queue.Empty:
                return
            if kind == "error" and self.error is None:
                self.error = GensynthError(f"worker {worker}: {text}", hint=hint)

    def stop_all(self, grace: float = STOP_GRACE_S) -> None:
        """Ask every worker to stop after recording its trial; terminate stragglers."""
        self.stop_event.set()
        end = time.monotonic() + grace
        for process in self.processes.values():
            process.join(max(0.1, end - time.monotonic()))
        for process in self.processes.values():
            if process.is_alive():
                process.terminate()
                process.join(5)
            if process.is_alive():
                process.kill()
                process.join(5)


def run_workers(session: ExploreSession, events: ExploreEvents, stop: StopSignal) -> int:
    """Run ``spec.workers`` worker processes on the session's study; complete trials."""
    spec = session.spec
    check_engine(spec)
    pool = _Pool(session, stop)
    seen = _finished_numbers(session)
    events.message(
        f"  {spec.workers} worker processes × {pool.threads} torch threads on "
        f"{os.cpu_count()} cores; progress is read from the study"
    )
    for worker in range(spec.workers):
        pool.start(worker)
    try:
        _watch(pool, events, stop, seen)
    except KeyboardInterrupt:
        events.message("Stopping the workers (their trials in flight are re-queued next run)")
        pool.stop_all()
        _report_new(session, events, seen)
        raise
    pool.stop_all()
    _report_new(session, events, seen)
    pool.read_messages()
    if pool.error is not None:
        raise pool.error
    return count_complete(session.study)


def _watch(pool: _Pool, events: ExploreEvents, stop: StopSignal, seen: set[int]) -> None:
    """Poll the study until every worker is done; replace workers that were killed."""
    while True:
        if stop():
            pool.stop_event.set()
        pool.read_messages()
        if pool.error is not None:
            return
        _report_new(pool.session, events, seen)
        _replace_killed(pool, events)
        if not pool.alive():
            return
        time.sleep(POLL_S)


def _replace_killed(pool: _Pool, events: ExploreEvents) -> None:
    """Re-queue the trials of workers killed by a signal and start replacements."""
    from gensynth.search.recovery import recover_lost_trials

    killed = [w for w, p in pool.processes.items() if p.exitcode is not None and p.exitcode < 0]
    if not killed:
        return
    for worker in killed:
        pool.processes.pop(worker).close()
    session = pool.session
    requeued = recover_lost_trials(session.study)
    events.message(
        f"  worker {', '.join(map(str, killed))} was killed; re-queued trial "
        f"{', '.join(f'#{n}' for n in requeued) or '(none in flight)'}"
    )
    if pool.stop_event.is_set() or count_complete(session.study) >= session.spec.trials:
        return
    if pool.restarts + len(killed) > MAX_RESTARTS:
        pool.error = GensynthError(
            f"{pool.restarts + len(killed)} workers were killed by a signal",
            hint="check memory (dmesg) and rerun the same command; finished trials are kept",
        )
        return
    pool.restarts += len(killed)
    for worker in killed:
        pool.start(worker)


def _finished_numbers(session: ExploreSession) -> set[int]:
    return {t.number for t in session.study.get_trials(deepcopy=False) if t.state.is_finished()}


def _report_new(session: ExploreSession, events: ExploreEvents, seen: set[int]) -> None:
    """Emit ``trial_finished`` for trials that finished since the last poll."""
    trials = session.study.get_trials(deepcopy=False)
    done = sum(1 for t in trials if t.state.name == "COMPLETE")
    for trial in trials:
        if trial.state.is_finished() and trial.number not in seen:
            seen.add(trial.number)
            events.trial_finished(TrialRecord.from_trial(trial), done)
