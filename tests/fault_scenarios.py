"""Three faults a shared study must survive, driven for real, and what each one cost.

Used by the marked tests (``tests/engines/test_faults.py``) and by ``benchmarks/faults.py``.
Each scenario runs real ``gensynth explore`` processes on tiny budgets, strikes while a trial
is in training, and counts, from the study itself:

- **lost**: a trial that was COMPLETE before the fault and is not COMPLETE after it, or whose
  values, end time or weights changed;
- **duplicated**: a spec trained to COMPLETE more than once (the recorded ``reuse`` twins
  aside), or a retry of a trial that had completed;
- **left running**: RUNNING trials once the run (or the rerun) has finished; and, beside
  it, **left waiting**: re-queued trials nobody evaluated.

All of them must be 0. Times are from the fault: ``requeue_s`` until the trial it hit is
recorded as failed (and re-queued), ``redone_s`` until its retry is COMPLETE.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import errno
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

import optuna
from studies_builders import (
    explore_args,
    finish,
    gensynth_cmd,
    in_training,
    pid_of,
    start,
    wait_for,
)

from gensynth.studies.artifacts import PARTIAL_SUFFIX
from gensynth.studies.records import Attr, records_of
from gensynth.studies.storage import open_storage

#: How long the first trial of a run may take to appear (process start, data, first epochs).
FIRST_TRIAL_S = 300
BALLAST = "ballast"


@dataclasses.dataclass(frozen=True)
class Done:
    """What a completed trial must keep, whatever happens later."""

    values: tuple[float, ...] | None
    finished: datetime.datetime | None
    spec_hash: str | None
    weights: str | None

    @classmethod
    def of(cls, trial: optuna.trial.FrozenTrial) -> Done:
        values = tuple(trial.values) if trial.values is not None else None
        attrs = trial.user_attrs
        return cls(values, trial.datetime_complete, attrs.get(Attr.SPEC_HASH),
                   attrs.get(Attr.WEIGHTS))  # fmt: skip


def completed(trials: list[optuna.trial.FrozenTrial]) -> dict[int, Done]:
    return {t.number: Done.of(t) for t in trials if t.state.name == "COMPLETE"}


@dataclasses.dataclass
class FaultCounts:
    """The trial numbers (or spec hashes) behind each count; see the module docstring."""

    lost: list[int]
    duplicated: list[str]
    left_running: list[int]
    left_waiting: list[int]

    def figures(self) -> dict[str, int]:
        return {k: len(v) for k, v in dataclasses.asdict(self).items()}


def _retried(trial: optuna.trial.FrozenTrial) -> list[int]:
    return list(trial.system_attrs.get("retry_history", []))


def count_faults(before: dict[int, Done], after: list[optuna.trial.FrozenTrial]) -> FaultCounts:
    """Compare the completed trials of ``before`` with the study ``after`` the fault."""
    by_number = {t.number: t for t in after}
    lost = [n for n, done in before.items()
            if n not in by_number or by_number[n].state.name != "COMPLETE"
            or Done.of(by_number[n]) != done]  # fmt: skip
    trained = collections.Counter(r.spec_hash for r in records_of(after) if r.trained)
    duplicated = [f"spec {h} trained {k} times" for h, k in trained.items() if k > 1]
    duplicated += [f"#{t.number} retried completed #{n}" for t in after for n in _retried(t)
                   if n in by_number and by_number[n].state.name == "COMPLETE"]  # fmt: skip
    return FaultCounts(
        lost=lost,
        duplicated=duplicated,
        left_running=[t.number for t in after if t.state.name == "RUNNING"],
        left_waiting=[t.number for t in after if t.state.name == "WAITING"],
    )


@dataclasses.dataclass
class Outcome:
    """One scenario's result: the counts, the trial the fault hit, its retry, the times."""

    scenario: str
    storage: str
    counts: FaultCounts
    victim: optuna.trial.FrozenTrial
    retry: optuna.trial.FrozenTrial | None
    requeue_s: float | None
    redone_s: float | None
    trials: list[optuna.trial.FrozenTrial]
    exported: int
    outputs: dict[str, str] = dataclasses.field(default_factory=dict)
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        """The figures of a results file (no trial objects)."""
        return {
            "scenario": self.scenario, "storage": self.storage, **self.counts.figures(),
            "victim": self.victim.number,
            **_retry_facts(self.retry),
            "requeue_s": _round(self.requeue_s), "redone_s": _round(self.redone_s),
            "trials": len(self.trials),
            "complete": sum(t.state.name == "COMPLETE" for t in self.trials),
            "exported": self.exported, **self.details,
        }  # fmt: skip


def _retry_facts(retry: optuna.trial.FrozenTrial | None) -> dict[str, Any]:
    if retry is None:
        return {"retry": None}
    timings = retry.user_attrs.get(Attr.TIMINGS) or {}
    return {"retry": retry.number, "retry_origin": retry.user_attrs.get(Attr.ORIGIN),
            "retry_train_s": timings.get("train_s")}  # fmt: skip


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def storage_kind(url: str) -> str:
    return url.split("://", 1)[0].split("+", 1)[0]


def load_trials(url: str, study: str) -> list[optuna.trial.FrozenTrial] | None:
    """The study's trials, or None while it does not exist yet (never creates a file)."""
    if url.startswith("journal:") and not Path(url.split(":///", 1)[1]).is_file():
        return None
    try:
        storage = open_storage(url, heartbeat_interval=None, grace_period=None)
        return optuna.load_study(study_name=study, storage=storage).get_trials()
    except KeyError:
        return None


def trials_of(url: str, study: str) -> list[optuna.trial.FrozenTrial]:
    trials = load_trials(url, study)
    if trials is None:
        raise AssertionError(f"study {study!r} cannot be loaded")
    return trials


def _done_and_training(url: str, study: str) -> optuna.trial.FrozenTrial | None:
    """A trial in training once at least one trial is trained and complete, else None."""
    trials = load_trials(url, study)
    if not trials or not any(r.trained for r in records_of(trials)):
        return None
    return in_training(trials)


def wait_mid_trial(url: str, study: str) -> optuna.trial.FrozenTrial:
    """Poll the study until one trial has completed and another is in training."""
    return wait_for(lambda: _done_and_training(url, study), FIRST_TRIAL_S,
                    "a finished trial and one in training")  # fmt: skip


def studies_readable(workdir: Path, url: str, study: str) -> int:
    """``gensynth studies show`` and ``export`` work on the study; the trials exported."""
    env = {**os.environ, "GENSYNTH_DEBUG": ""}
    common = ["--storage", url]
    show = subprocess.run(gensynth_cmd(["studies", "show", study, *common, "--json"]),
                          cwd=workdir, capture_output=True, text=True, env=env)  # fmt: skip
    if show.returncode != 0:
        raise AssertionError(f"studies show failed:\n{show.stderr[-2000:]}")
    json.loads(show.stdout)
    export = subprocess.run(
        gensynth_cmd(["studies", "export", study, *common, "--format", "json"]),
        cwd=workdir, capture_output=True, text=True, env=env,
    )  # fmt: skip
    if export.returncode != 0:
        raise AssertionError(f"studies export failed:\n{export.stderr[-2000:]}")
    return len(json.loads(export.stdout)["trials"])


def _reason(trial: optuna.trial.FrozenTrial) -> str:
    return trial.user_attrs.get(Attr.FAIL_REASON) or ""


def _retry_of(trials: list[optuna.trial.FrozenTrial], number: int) -> Any:
    return next((t for t in trials if number in _retried(t)), None)


def _seconds(start: datetime.datetime, end: datetime.datetime | None) -> float | None:
    return None if end is None else (end - start).total_seconds()


def _struck(trials: list[optuna.trial.FrozenTrial], polled: int, pid: int | None) -> int:
    """The trial the kill hit: the polled one may have finished in the moment before the kill,
    and then the kill hit the next one in flight (failed as "worker died", of ``pid``)."""
    if trials[polled].state.name != "COMPLETE":
        return polled
    hit = [t.number for t in trials if _reason(t).startswith("worker died")
           and (pid is None or t.user_attrs.get(Attr.WORKER, "").endswith(f":{pid}"))]  # fmt: skip
    return hit[0] if hit else polled


def _outcome(scenario: str, url: str, workdir: Path, study: str, victim_number: int,
             before: dict[int, Done], struck: datetime.datetime,
             redo_from: datetime.datetime | None = None,
             pid: int | None = None) -> Outcome:  # fmt: skip
    trials = trials_of(url, study)
    victim = trials[_struck(trials, victim_number, pid)]
    retry = _retry_of(trials, victim_number)
    return Outcome(
        scenario=scenario,
        storage=storage_kind(url),
        counts=count_faults(before, trials),
        victim=victim,
        retry=retry,
        requeue_s=_seconds(struck, victim.datetime_complete),
        redone_s=None if retry is None else _seconds(redo_from or struck, retry.datetime_complete),
        trials=trials,
        exported=studies_readable(workdir, url, study),
    )


def kill_explore_then_rerun(workdir: Path, data: Path, url: str, study: str) -> Outcome:
    """``kill -9`` of a local ``explore`` (its whole process group) mid-trial, then a rerun."""
    args = explore_args(data, url, study, trials=3, epochs=3)
    process = start(args, workdir, workdir / "first.log")
    victim = wait_mid_trial(url, study)
    before = completed(trials_of(url, study))
    struck = datetime.datetime.now()
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    second = finish(start(args, workdir, workdir / "second.log"), workdir / "second.log")
    outcome = _outcome("kill -9 explore, rerun", url, workdir, study, victim.number, before,
                       struck)  # fmt: skip
    outcome.outputs = {"first": (workdir / "first.log").read_text(), "second": second}
    return outcome


def kill_one_worker(
    workdir: Path, data: Path, url: str, study: str, *, workers: int = 4
) -> Outcome:
    """``kill -9`` of one of ``workers`` worker processes mid-trial; the run goes on."""
    args = explore_args(data, url, study, trials=6, epochs=3, workers=workers)
    process = start(args, workdir, workdir / "run.log")
    victim = wait_mid_trial(url, study)
    before = completed(trials_of(url, study))
    struck = datetime.datetime.now()
    pid = pid_of(victim)
    os.kill(pid, signal.SIGKILL)
    output = finish(process, workdir / "run.log", timeout=600)
    outcome = _outcome(f"kill -9 1 of {workers} workers", url, workdir, study, victim.number,
                       before, struck, pid=pid)  # fmt: skip
    outcome.outputs = {"run": output}
    return outcome


def mount_tmpfs(folder: Path, size: str) -> str | None:
    """Mount a tmpfs of ``size`` on ``folder``; None, or why it cannot be mounted here."""
    folder.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        return "no mount command"
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return "mounting a tmpfs needs root"
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        return f"mount -t tmpfs failed: {done.stderr.strip() or done.returncode}"
    return None


def unmount(folder: Path) -> None:
    if subprocess.run(["umount", str(folder)], capture_output=True).returncode != 0:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def fill(folder: Path) -> int:
    """Write a ballast file until the disk under ``folder`` is full; its size."""
    chunk = b"\0" * (1 << 16)
    written = 0
    with (folder / BALLAST).open("wb") as handle:
        try:
            while True:
                handle.write(chunk)
                handle.flush()
                written += len(chunk)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
    return written


def wait_exit(process: subprocess.Popen, log: Path, timeout: float = 300) -> tuple[int, str]:
    """The exit code and output of a process that may fail (killed if it outlives timeout)."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise AssertionError(f"timed out; output:\n{log.read_text()[-4000:]}") from None
    return process.returncode, log.read_text()


def store_leftovers(folder: Path, trials: list[optuna.trial.FrozenTrial]) -> dict[str, list]:
    """Files in the artifact store that no trial references, partial files, and references
    (weights) whose file is missing."""
    files = {p.name for p in folder.iterdir() if p.name != BALLAST}
    referenced = {k.split(":", 1)[1] for t in trials for k in t.system_attrs
                  if k.startswith("artifacts:")}  # fmt: skip
    weights = {t.user_attrs[Attr.WEIGHTS] for t in trials if Attr.WEIGHTS in t.user_attrs}
    return {
        "partial": sorted(f for f in files if f.endswith(PARTIAL_SUFFIX)),
        "unreferenced": sorted(f for f in files - referenced if not f.endswith(PARTIAL_SUFFIX)),
        "missing": sorted((referenced | weights) - files),
    }


def disk_full_mid_run(
    workdir: Path, data: Path, url: str, study: str, store: Path, *, workers: int = 1
) -> Outcome:
    """The artifact store (a small mounted disk) fills while a trial trains; then, with space
    freed, the same command is rerun."""
    args = explore_args(data, url, study, trials=4, epochs=3, artifacts=store, workers=workers)
    process = start(args, workdir, workdir / "first.log")
    wait_mid_trial(url, study)
    before = completed(trials_of(url, study))
    struck = datetime.datetime.now()
    ballast = fill(store)
    code, first = wait_exit(process, workdir / "first.log")
    stopped = trials_of(url, study)
    victim = next((t for t in stopped if _reason(t).startswith("disk full")), None)
    if victim is None:
        raise AssertionError(f"no trial failed with 'disk full' (exit {code}):\n{first[-3000:]}")
    left = store_leftovers(store, stopped)
    running_at_stop = [t.number for t in stopped if t.state.name == "RUNNING"]
    (store / BALLAST).unlink()
    rerun_at = datetime.datetime.now()
    second = finish(start(args, workdir, workdir / "second.log"), workdir / "second.log")
    scenario = "artifact disk full, rerun" + (f" ({workers} workers)" if workers > 1 else "")
    outcome = _outcome(scenario, url, workdir, study, victim.number, before, struck,
                       redo_from=rerun_at)  # fmt: skip
    outcome.outputs = {"first": first, "second": second}
    outcome.details = {
        "first_exit": code, "ballast_bytes": ballast, "running_at_stop": running_at_stop,
        "leftovers_at_stop": left, "leftovers_after": store_leftovers(store, outcome.trials),
    }  # fmt: skip
    return outcome
