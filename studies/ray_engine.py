"""``--engine ray``: trials run as Ray Tune trials; Ray's OptunaSearch drives the same study.

The searcher lives in the driver and attaches to the study ``open_session`` opened (same
storage object, same name, same sampler), so local and Ray runs continue each other. Its
define-by-run space runs the loop's own proposal step on the Optuna trial (generator, repair,
indicators, recorded attributes and constraints; infeasible and duplicate candidates are
settled there, untrained). Ray workers train and probe the rest and report the objective
values with the loop's attributes and a weights file; ``on_trial_complete`` sets those on the
Optuna trial and uploads the weights to the study's artifact store before Optuna is told.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import socket
import sys
import time
import uuid
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.errors import GensynthError, TrialFailed
from gensynth.search.loop import StopSignal, count_complete, trained_attrs, trial_seed
from gensynth.search.records import Attr, TrialRecord
from gensynth.studies.engines import import_ray

if TYPE_CHECKING:
    from collections.abc import Iterator

    import optuna

    from gensynth.data.dataset import DefectDataset
    from gensynth.search.events import ExploreEvents
    from gensynth.search.generator import Proposal
    from gensynth.search.session import ExploreSession
    from gensynth.search.study_spec import StudySpec
    from gensynth.training import TrainConfig

__all__ = ["RayJob", "run_ray", "train_trial"]

KEY = "gensynth"  # the config entry the space returns
_INCOMING = ".incoming"  # weights written by Ray workers, before the driver uploads them


@dataclasses.dataclass(frozen=True)
class RayJob:
    """What every Ray trial shares (sent once through Ray's object store)."""

    spec: StudySpec
    data: DefectDataset
    train_config: TrainConfig
    artifact_dir: str
    threads: int


def run_ray(session: ExploreSession, events: ExploreEvents, stop: StopSignal) -> int:
    """Run trials on Ray until the study holds the budget; the number of complete trials."""
    import_ray()
    import ray

    started_here = _init_ray(session.spec)
    try:
        threads = _threads_per_trial(session.spec)
        events.message(
            f"  Ray: {session.spec.workers} concurrent trials × {threads} CPU "
            f"({_cluster_cpus():.0f} CPUs in the cluster)"
        )
        with _ctrl_c_stops(stop) as interrupted:
            completed = _rounds(session, events, stop, threads)
        if interrupted:
            raise KeyboardInterrupt
        return completed
    finally:
        if started_here:
            ray.shutdown()


@contextlib.contextmanager
def _ctrl_c_stops(stop: StopSignal) -> Iterator[list[bool]]:
    """Ctrl-C asks Tune to stop (in-flight trials are then recorded as interrupted).

    Wherever the signal lands inside Ray's own code, the request reaches the run: Tune polls
    ``StopAll`` every step. A second Ctrl-C interrupts at once. Yields a list that is
    non-empty once Ctrl-C was pressed.
    """
    import signal
    import threading

    pressed: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield pressed
        return

    def handler(_signum: int, _frame: Any) -> None:
        if pressed:
            raise KeyboardInterrupt
        pressed.append(True)
        stop.requested = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)


def _rounds(session: ExploreSession, events: ExploreEvents, stop: StopSignal, threads: int) -> int:
    """Tune runs until the budget; lost trials are re-queued between them."""
    from gensynth.search.loop import _stop_on_repeated_failures
    from gensynth.search.recovery import recover_lost_trials
    from gensynth.studies._ray_search import GensynthSearch

    study = session.study
    failures: list[str] = []
    while (done := count_complete(study)) < session.spec.trials and not stop():
        searcher = GensynthSearch(session, events, stop, failures)
        try:
            _tune(session, searcher, threads, session.spec.trials - done, stop)
        finally:
            searcher.fail_unfinished("interrupted")
        _stop_on_repeated_failures(failures)
        if count_complete(study) == done and failures:
            raise GensynthError(f"no Ray trial completed; the last failed with: {failures[-1]}")
        if stop():  # Ctrl-C or the time limit: the next run re-queues (and says so)
            break
        recover_lost_trials(study)
    return count_complete(study)


def _init_ray(spec: StudySpec) -> bool:
    """Connect to ``--ray-address`` or start a local instance; True if started here."""
    import logging

    import ray

    if ray.is_initialized():
        return False
    os.environ.setdefault("TUNE_DISABLE_SIGINT_HANDLER", "1")  # Ctrl-C: KeyboardInterrupt
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")  # with verbose=0: no tables on stdout
    options: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING}
    if spec.ray_address:  # check_engine has probed it already
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


def _threads_per_trial(spec: StudySpec) -> int:
    if spec.threads is not None:
        return spec.threads
    return max(1, int(_cluster_cpus()) // spec.workers)


def _tune(
    session: ExploreSession, searcher: Any, threads: int, samples: int, stop: StopSignal
) -> None:
    from ray import tune

    from gensynth.studies._ray_search import StopAll

    spec = session.spec
    job = RayJob(spec, session.data, session.train_config, str(session.artifact_dir.resolve()),
                 threads)  # fmt: skip
    cpus = max(1, min(threads, int(_cluster_cpus())))  # a request above the cluster would hang
    trainable = tune.with_resources(tune.with_parameters(train_trial, job=job), {"cpu": cpus})
    tuner = tune.Tuner(
        trainable,
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            num_samples=samples,
            max_concurrent_trials=spec.workers,
            reuse_actors=True,  # a trial reuses a worker process: no torch import each time
            trial_name_creator=_trial_name,
            trial_dirname_creator=_trial_name,
        ),
        run_config=tune.RunConfig(
            name=f"{spec.study_name}-{time.strftime('%Y%m%d-%H%M%S')}",
            storage_path=str((Path(spec.out) / "ray-results").resolve()),
            stop=StopAll(stop),
            verbose=0,
            failure_config=tune.FailureConfig(max_failures=0),
        ),
    )
    with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
        warnings.simplefilter("ignore")  # "define-by-run took N s": our repair is that work
        tuner.fit()  # stdout is for data: Tune's remaining chatter goes to stderr


def _trial_name(trial: Any) -> str:
    return f"trial-{trial.trial_id}"


def _propose(objective: Any, trial: optuna.Trial) -> dict[str, Any]:
    """The define-by-run space: the loop's proposal step, run in the driver."""
    trial.set_user_attr(Attr.WORKER, f"{socket.gethostname()}:{os.getpid()}")
    if trial.user_attrs.get(Attr.FAIL_REASON):  # a retry inherits the lost trial's attrs
        trial.set_user_attr(Attr.FAIL_REASON, None)
    try:
        proposal, settled = objective.prepare(trial)
    except GensynthError as error:
        return {KEY: {"kind": "failed", "reason": error.message}}
    except Exception as error:  # a candidate the stack cannot build: recorded, the run goes on
        return {KEY: {"kind": "failed", "reason": f"{type(error).__name__}: {error}"[:500]}}
    if settled is not None:
        return {KEY: {"kind": "settled", "values": settled}}
    return {KEY: {"kind": "train", "number": trial.number, "proposal": proposal}}


def _lost_reason(stop: StopSignal, error: bool) -> str:
    """Why a trial ended without a result; the retryable ones are re-queued."""
    if stop.requested:
        return "interrupted"
    if stop():
        return "stopped by the time limit before training finished"
    if error:
        return "worker died (the Ray trial ended with an error)"
    return "interrupted (the Ray trial ended without a result)"


def _record_result(
    session: ExploreSession, trial: optuna.Trial, result: dict | None, lost_reason: str
) -> bool:
    """Set the trained attributes and upload the weights; False when the trial failed."""
    result = result or {}
    kind = result.get("gensynth_kind")
    if kind == "settled":
        return True
    if kind != "trained":
        trial.set_user_attr(Attr.FAIL_REASON, result.get("gensynth_reason") or lost_reason)
        return False
    for key, value in json.loads(result["gensynth_attrs"]).items():
        trial.set_user_attr(key, value)
    artifact = _upload_incoming(session, trial, result["gensynth_weights"])
    trial.set_user_attr(Attr.WEIGHTS, artifact)
    return True


def _upload_incoming(session: ExploreSession, trial: optuna.Trial, path: str) -> str:
    from optuna.artifacts import upload_artifact

    file = Path(path)
    try:
        return upload_artifact(
            artifact_store=session.artifact_store,
            file_path=str(file),
            study_or_trial=trial,
            mimetype="application/octet-stream",
        )
    finally:
        file.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            file.parent.rmdir()


def _after_tell(
    session: ExploreSession, events: ExploreEvents, number: int, failures: list[str]
) -> None:
    trial = session.study.get_trials(deepcopy=False)[number]
    record = TrialRecord.from_trial(trial)
    if record.state == "FAIL":
        failures.append(record.fail_reason or "unknown")
    else:
        failures.clear()
    events.trial_finished(record, count_complete(session.study))


# -- in the Ray workers -------------------------------------------------------------------------


def train_trial(config: dict[str, Any], job: RayJob) -> None:
    """A Ray Tune function trainable: train and probe one candidate, report once."""
    from ray import tune

    task = config[KEY]
    if task["kind"] == "settled":
        tune.report({**_metrics(job.spec, task["values"]), "gensynth_kind": "settled"})
        return
    if task["kind"] == "failed":
        tune.report(_failed(job.spec, task["reason"]))
        return
    try:
        tune.report(_train(job, task["number"], task["proposal"]))
    except TrialFailed as error:
        tune.report(_failed(job.spec, error.message))
    except Exception as error:
        tune.report(_failed(job.spec, f"{type(error).__name__}: {error}"[:500]))


def _failed(spec: StudySpec, reason: str) -> dict[str, Any]:
    """A failure report: sentinel metrics (Tune checks they are there) and the reason."""
    from gensynth.search.records import INFEASIBLE_MAXIMIZE, INFEASIBLE_MINIMIZE

    sentinels = [INFEASIBLE_MAXIMIZE if d == "maximize" else INFEASIBLE_MINIMIZE
                 for d in spec.directions]  # fmt: skip
    return {**_metrics(spec, sentinels), "gensynth_kind": "failed", "gensynth_reason": reason}


def _train(job: RayJob, number: int, proposal: Proposal) -> dict[str, Any]:
    import torch

    from gensynth.search.inquisitor import Inquisitor

    torch.set_num_threads(job.threads)
    started = time.perf_counter()
    inquisitor = Inquisitor(job.data, job.train_config, task=job.spec.task)
    evaluation = inquisitor.evaluate(proposal.spec, seed=trial_seed(job.spec, number))
    record_start = time.perf_counter()
    path = _write_weights(Path(job.artifact_dir), number, evaluation.state_dict)
    attrs, values = trained_attrs(job.spec, number, proposal, evaluation, started, record_start)
    return {
        **_metrics(job.spec, values),
        "gensynth_kind": "trained",
        "gensynth_attrs": json.dumps(attrs),
        "gensynth_weights": str(path),
    }


def _metrics(spec: StudySpec, values: float | list[float]) -> dict[str, float]:
    listed = values if isinstance(values, list) else [values]
    return {name: float(v) for name, v in zip(spec.objectives, listed, strict=True)}


def _write_weights(artifact_dir: Path, number: int, state: dict[str, Any]) -> Path:
    """Safetensors weights where the driver picks them up (a folder all nodes share)."""
    from safetensors.torch import save_file

    folder = artifact_dir / _INCOMING / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"trial-{number}.safetensors"
    tensors = {k: v.detach().contiguous() for k, v in state.items()}
    save_file(tensors, str(path), metadata={"trial": str(number)})
    return path
