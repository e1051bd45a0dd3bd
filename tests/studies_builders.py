"""Builders for the study tests: crafted studies, data folders, and real explore processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from PIL import Image

from gensynth.studies.records import Attr
from gensynth.studies.study import SPEC_KEY

SPEC = {
    "prototype": "residual", "in_channels": 1, "input_size": 32, "num_classes": 3,
    "stem": {"width": 8, "kernel": 3, "stride": 2, "pool": False},
    "stages": [{"block": "basic", "width": 16, "depth": 1, "stride": 2, "kernel": 3,
                "expansion": 1.0, "se": False}],
    "act": "relu",
}  # fmt: skip


def _trained(number_macs: int, params: int, metric: float, netscore: float) -> dict[str, Any]:
    return {
        Attr.SPEC: SPEC, Attr.SPEC_HASH: f"h{number_macs}", Attr.DESCRIBE: f"net-{number_macs}",
        Attr.ORIGIN: "sample", Attr.MACS: number_macs, Attr.PARAMS: params,
        Attr.FEASIBLE: True, Attr.METRIC: metric, Attr.METRIC_NAME: "accuracy",
        Attr.METRICS: {"accuracy": metric}, Attr.NETSCORE: netscore,
        Attr.WORKER: "elsewhere:1",
    }  # fmt: skip


def crafted_study(storage: str, name: str = "crafted") -> optuna.Study:
    """A gensynth-like study made without training: 3 trained, 1 reuse, 2 infeasible, 1 failed,
    1 running. Front on (MACs low, accuracy high): trials 0 and 2."""
    study = optuna.create_study(study_name=name, storage=storage, direction="maximize")
    study.set_user_attr(SPEC_KEY, {
        "task": "classify", "prototype": "residual", "flops": 2_000_000, "tolerance": 0.1,
        "objectives": ["netscore"], "storage": storage,
    })  # fmt: skip
    ok = {"macs_over": -0.05, "macs_under": -0.05}
    rows = [
        (80.0, _trained(1_900_000, 20_000, 60.0, 80.0), ok),
        (70.0, _trained(2_100_000, 40_000, 55.0, 70.0), ok),
        (85.0, _trained(2_150_000, 10_000, 75.0, 85.0), ok),
        (85.0, {**_trained(2_150_000, 10_000, 75.0, 85.0), Attr.ORIGIN: "reuse",
                Attr.REUSED_FROM: 2}, ok),
        (-1000.0, {Attr.SPEC: SPEC, Attr.MACS: 3_000_000, Attr.PARAMS: 90_000,
                   Attr.FEASIBLE: False, Attr.REASON: "macs 3M misses 2M ± 10%"},
         {"macs_over": 0.4, "macs_under": -0.6}),
        (-1000.0, {Attr.SPEC: SPEC, Attr.MACS: 900_000, Attr.PARAMS: 5_000,
                   Attr.FEASIBLE: False, Attr.REASON: "macs 0.9M misses 2M ± 10%"},
         {"macs_over": -1.1, "macs_under": 0.9}),
    ]  # fmt: skip
    for value, attrs, constraints in rows:
        trial = study.ask()
        for key, val in attrs.items():
            trial.set_user_attr(key, val)
        for key, val in constraints.items():
            trial.set_constraint(key, val)
        study.tell(trial, value)
    failed = study.ask()
    failed.set_user_attr(Attr.FAIL_REASON, "training diverged: loss is nan")
    study.tell(failed, state=optuna.trial.TrialState.FAIL)
    study.ask().set_user_attr(Attr.WORKER, "elsewhere:2")  # stays RUNNING
    return study


def write_class_folder(root: Path, per_class: int = 10, size: int = 32) -> Path:
    """A generic classification folder (root/<class>/*.png): a bright square per class."""
    rng = np.random.default_rng(0)
    for k, name in enumerate(("crazing", "inclusion", "scratches")):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            image = rng.normal(90, 20, (size, size)).clip(0, 255)
            y = 3 + 9 * k
            image[y : y + 6, 4 + i % 8 : 10 + i % 8] = 230
            Image.fromarray(image.astype(np.uint8)).save(folder / f"{name}_{i}.png")
    return root


def explore_args(data: Path, storage: str, study: str, *, trials: int, **extra: Any) -> list[str]:
    """Arguments of a short `gensynth explore` on disk data (one epoch at 32 px)."""
    args = [
        "explore", "--data", str(data), "--input-size", "32", "--flops", "2M",
        "--tolerance", "10%", "--epochs", str(extra.pop("epochs", 1)), "--final-epochs", "0",
        "--no-baseline", "--trials", str(trials), "--storage", storage, "--study", study,
        "--timeout", "off",
    ]  # fmt: skip
    for key, value in extra.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return args


def gensynth_cmd(args: list[str]) -> list[str]:
    return [sys.executable, "-m", "gensynth.cli.main", *args]


def start(args: list[str], cwd: Path, log: Path) -> subprocess.Popen:
    """A `gensynth` process in its own session (so its whole group can be killed)."""
    env = {**os.environ, "GENSYNTH_DEBUG": "", "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    handle = log.open("w")
    return subprocess.Popen(
        gensynth_cmd(args), cwd=cwd, stdout=handle, stderr=subprocess.STDOUT, env=env,
        start_new_session=True,
    )  # fmt: skip


def finish(process: subprocess.Popen, log: Path, timeout: float = 240) -> str:
    """Wait for a process; its output (the test fails with it if the exit code is not 0)."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        raise AssertionError(f"timed out; output:\n{log.read_text()[-4000:]}") from None
    text = log.read_text()
    assert process.returncode == 0, text[-4000:]
    return text


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``condition`` until it returns something truthy."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def running_trained(url: str, study: str) -> Any:
    """A RUNNING trial whose candidate is proposed and feasible-looking (training), or None."""
    from gensynth.studies.storage import open_storage

    try:
        storage = open_storage(url, heartbeat_interval=None, grace_period=None)
        trials = optuna.load_study(study_name=study, storage=storage).get_trials(deepcopy=False)
    except KeyError:
        return None
    return in_training(trials)


def in_training(trials: list[Any]) -> Any:
    """The first RUNNING trial that is proposed and not yet settled (training), or None."""
    for trial in trials:
        attrs = trial.user_attrs
        if trial.state.name == "RUNNING" and Attr.SPEC in attrs and Attr.FEASIBLE not in attrs:
            return trial
    return None


def pid_of(trial: Any) -> int:
    host, _, pid = trial.user_attrs[Attr.WORKER].rpartition(":")
    assert host == socket.gethostname()
    return int(pid)


def check_invariants(trials: list[Any]) -> None:
    """Numbers unique; no spec trained twice (reuses aside); every lost trial was retried."""
    from gensynth.studies.records import records_of

    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers))
    trained = [r.spec_hash for r in records_of(trials) if r.trained]
    assert len(trained) == len(set(trained)), trained
    retried = {n for t in trials for n in t.system_attrs.get("retry_history", [])}
    for trial in trials:
        reason = trial.user_attrs.get(Attr.FAIL_REASON) or ""
        if trial.state.name == "FAIL" and reason.startswith(("worker died", "interrupted")):
            assert trial.number in retried, f"lost trial {trial.number} was not retried"


def require(condition: bool, reason: str) -> None:
    """tests/conftest.py's rule: skip when a service is missing; in CI, fail."""
    import importlib.util

    path = Path(__file__).resolve().parent / "conftest.py"
    spec = importlib.util.spec_from_file_location("gensynth_tests_conftest", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.require(condition, reason)
