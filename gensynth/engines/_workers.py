"""The ``workers`` engine: N local processes run trials against one shared study.

``--engine local --workers N`` (N > 1) means this engine. Each worker is a spawned process
running the local loop (see :mod:`gensynth.engines._pool`); a worker killed by a signal is
replaced and its trial re-queued while the run goes on.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from typing import TYPE_CHECKING, Any

from gensynth.engines._base import ENGINES, Engine, worker_threads
from gensynth.engines._pool import Pool, WorkerJob, check_shared_storage, run_pool, run_worker

if TYPE_CHECKING:
    from multiprocessing.context import SpawnProcess
    from multiprocessing.synchronize import Event

    from gensynth.data.dataset import DefectDataset
    from gensynth.search.events import ExploreEvents
    from gensynth.search.session import ExploreSession
    from gensynth.search.stop import StopSignal
    from gensynth.search.study_spec import StudySpec

__all__ = ["WorkersEngine"]


@ENGINES.register("workers")
class WorkersEngine(Engine):
    name = "workers"
    description = "N worker processes on this machine against one shared storage"

    def check(self, spec: StudySpec) -> None:
        check_shared_storage(spec, f"--workers {spec.workers}")

    def run(self, session: ExploreSession, events: ExploreEvents, stop: StopSignal) -> int:
        pool = _ProcessPool(session, stop)
        events.message(
            f"  {session.spec.workers} worker processes × {pool.threads} torch threads on "
            f"{os.cpu_count()} cores; progress is read from the study"
        )
        return run_pool(pool, events, stop)


def _process_main(
    job: WorkerJob, data: DefectDataset, parent_pid: int, stop_event: Event, messages: Any
) -> None:
    """One worker process: the shared worker loop; the parent relays Ctrl-C through an event."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def asked() -> bool:
        return stop_event.is_set() or os.getppid() != parent_pid  # parent gone: stop too

    outcome = run_worker(job, data, asked)
    messages.put((job.worker, outcome))
    if outcome[0] == "error":
        raise SystemExit(1)


class _ProcessPool(Pool):
    def __init__(self, session: ExploreSession, stop: StopSignal) -> None:
        super().__init__(session, stop, worker_threads(session.spec, session.spec.workers))
        self.context = multiprocessing.get_context("spawn")
        self.stop_event = self.context.Event()
        self.messages = self.context.Queue()
        self.processes: dict[int, SpawnProcess] = {}

    def start(self, worker: int) -> None:
        process = self.context.Process(
            target=_process_main,
            args=(self.job(worker), self.session.data, os.getpid(), self.stop_event,
                  self.messages),
            name=f"gensynth-worker-{worker}",
            daemon=False,
        )  # fmt: skip
        process.start()
        self.processes[worker] = process

    def alive(self) -> list[int]:
        return [w for w, p in self.processes.items() if p.is_alive()]

    def collect(self) -> list[int]:
        while True:
            try:
                worker, outcome = self.messages.get_nowait()
            except queue.Empty:
                break
            self.report(outcome, worker)
        killed = [w for w, p in self.processes.items() if (p.exitcode or 0) < 0]
        for worker in killed:
            self.processes.pop(worker).close()
        return killed

    def ask_stop(self) -> None:
        self.stop_event.set()

    def stop_all(self, grace: float) -> None:
        import time

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
        self.collect()
