"""The ``ray`` engine: worker loops as Ray tasks, on a local Ray instance or a cluster.

Ray places the workers (``--workers`` tasks of ``--threads`` CPUs each) and carries the data
from the driver through its object store, so the data need only be on the driver. Each task
runs the same worker loop as the ``workers`` engine against the same Optuna storage: a
study started locally continues on Ray and back. Proposals, repair, latency checks and
study writes happen in the workers, so they never wait for one another; the driver only
polls the study for progress and relays Ctrl-C through a tiny Ray actor. A task lost with
its node or process is replaced and its trial re-queued (heartbeats on a database storage;
on this host, by its pid).
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import subprocess
import sys
import time
from types import ModuleType
from typing import TYPE_CHECKING, Any

from gensynth.engines._base import ENGINES, Engine
from gensynth.engines._pool import Outcome, Pool, WorkerJob, check_shared_storage, run_pool
from gensynth.errors import ConfigError, GensynthError

if TYPE_CHECKING:
    from gensynth.data.dataset import DefectDataset
    from gensynth.search.events import ExploreEvents
    from gensynth.search.session import ExploreSession
    from gensynth.search.stop import StopSignal
    from gensynth.search.study_spec import StudySpec

__all__ = ["RAY_INSTALL_HINT", "RayEngine", "import_ray", "ray_address_check"]

RAY_INSTALL_HINT = "pip install 'gensynth[ray]'"
#: Seconds to wait for a Ray address to answer before giving up.
RAY_CONNECT_TIMEOUT_S = 30.0


@ENGINES.register("ray")
class RayEngine(Engine):
    name = "ray"
    description = "worker loops as Ray tasks, on this machine or a Ray cluster"

    def check(self, spec: StudySpec) -> None:
        import_ray()
        check_shared_storage(spec, f"--engine ray --workers {spec.workers}")
        if spec.ray_address:
            ray_address_check(spec.ray_address)

    def run(self, session: ExploreSession, events: ExploreEvents, stop: StopSignal) -> int:
        import ray

        started_here = _init_ray(session.spec)
        try:
            pool = _RayPool(session, stop)
            events.message(
                f"  Ray: {session.spec.workers} worker tasks × {pool.threads} CPU "
                f"({_cluster_cpus():.0f} CPUs in the cluster); progress is read from the study"
            )
            return run_pool(pool, events, stop)
        finally:
            if started_here:
                ray.shutdown()


class _StopFlag:
    """A Ray actor the workers poll: set once the driver asks them to stop."""

    def __init__(self) -> None:
        self.value = False

    def set(self) -> None:
        self.value = True

    def is_set(self) -> bool:
        return self.value


def _task_main(job: WorkerJob, data: DefectDataset, flag: Any) -> Outcome:
    """One Ray worker task: the shared worker loop, hearing Ctrl-C through the flag actor."""
    import ray

    from gensynth.engines._pool import run_worker

    return run_worker(job, data, lambda: bool(ray.get(flag.is_set.remote())))


@functools.cache
def _remotes() -> tuple[Any, Any]:
    """The Ray task and actor classes (made once, after ``import ray``)."""
    import ray

    return ray.remote(max_retries=0)(_task_main), ray.remote(num_cpus=0)(_StopFlag)


class _RayPool(Pool):
    kind = "Ray tasks"

    def __init__(self, session: ExploreSession, stop: StopSignal) -> None:
        import ray

        threads = session.spec.threads or max(1, int(_cluster_cpus()) // session.spec.workers)
        super().__init__(session, stop, threads)
        task, flag = _remotes()
        self.task = task
        self.flag = flag.remote()
        self.data = ray.put(session.data)
        self.cpus = max(1, min(threads, int(_cluster_cpus())))  # more than the cluster hangs
        self.refs: dict[int, Any] = {}

    def start(self, worker: int) -> None:
        self.refs[worker] = self.task.options(
            num_cpus=self.cpus, name=f"gensynth-worker-{worker}"
        ).remote(self.job(worker), self.data, self.flag)

    def _ready(self) -> list[int]:
        import ray

        refs = list(self.refs.values())
        done, _ = ray.wait(refs, num_returns=len(refs), timeout=0) if refs else ([], [])
        finished = set(done)
        return [w for w, ref in self.refs.items() if ref in finished]

    def alive(self) -> list[int]:
        ready = set(self._ready())
        return [w for w in self.refs if w not in ready]

    def collect(self) -> list[int]:
        import ray

        killed = []
        for worker in self._ready():
            ref = self.refs.pop(worker)
            try:
                self.report(ray.get(ref), worker)
            except ray.exceptions.TaskCancelledError:
                continue
            except ray.exceptions.RayError:  # the process or its node died
                killed.append(worker)
        return killed

    def ask_stop(self) -> None:
        self.flag.set.remote()

    def stop_all(self, grace: float) -> None:
        import ray

        self.ask_stop()
        pending = list(self.refs.values())
        if pending:
            ray.wait(pending, num_returns=len(pending), timeout=grace)
        self.collect()
        for ref in self.refs.values():
            ray.cancel(ref, force=True)
        self.refs.clear()


def import_ray() -> ModuleType:
    """The ``ray`` module, or a one-line error with the install hint."""
    try:
        import ray
    except ImportError as err:
        raise GensynthError(
            f"--engine ray needs Ray, which is not installed ({err.name or err})",
            hint=RAY_INSTALL_HINT,
        ) from None
    return ray


def _init_ray(spec: StudySpec) -> bool:
    """Connect to ``--ray-address`` or start a local instance; True if started here."""
    import ray

    if ray.is_initialized():
        return False
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    if spec.ray_address:  # RayEngine.check has probed it already
        try:
            ray.init(address=spec.ray_address, **options)
        except (ConnectionError, RuntimeError, TimeoutError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise GensynthError(
                f"cannot join the Ray cluster at {spec.ray_address}: {first[:300]}",
                hint="check the address (ray status on the head node), or drop --ray-address",
            ) from None
        return True
    ray.init(num_cpus=os.cpu_count() or 1, include_dashboard=False, **options)
    return True


def _cluster_cpus() -> float:
    import ray

    return float(ray.cluster_resources().get("CPU", 1))


def ray_address_check(address: str, timeout: float = RAY_CONNECT_TIMEOUT_S) -> None:
    """Fail in one line, within about ``timeout`` seconds, unless a Ray cluster answers there.

    A port can accept connections without being Ray (a proxy, another service), and
    ``ray.init`` then retries for a long time and logs from C++; so after a plain TCP check the
    address is tried by ``ray.init`` in a child process that is killed at the deadline.
    """
    if address == "auto" or address.startswith("local"):
        return
    target = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ConfigError(
            f"--ray-address: expected host:port, ray://host:port or auto, got {address!r}"
        )
    started = time.monotonic()
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as err:
        reason = "timed out" if isinstance(err, TimeoutError) else (err.strerror or str(err))
        raise _no_answer(address, f"{reason} after {timeout:g} s") from None
    _probe_ray(address, max(1.0, timeout - (time.monotonic() - started)))


_PROBE = (
    "import logging, sys, ray\n"
    "ray.init(address=sys.argv[1], log_to_driver=False, logging_level=logging.ERROR)\n"
    "print(int(ray.cluster_resources().get('CPU', 0)))\n"
)


def _probe_ray(address: str, timeout: float) -> None:
    try:
        result = subprocess.run(
            [sys.executable, "-c", _PROBE, address],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise _no_answer(address, f"no Ray cluster answered within {timeout:.0f} s") from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if "Error" in line]
        reason = (lines[-1] if lines else "not a Ray cluster").split(":", 1)[-1].strip()
        raise _no_answer(address, reason[:200])


def _no_answer(address: str, reason: str) -> GensynthError:
    return GensynthError(
        f"Ray at {address} does not answer ({reason})",
        hint="start the cluster (ray start --head) and pass the address it prints, "
        "or drop --ray-address for a local Ray instance",
    )
