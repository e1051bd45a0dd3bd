"""`--engine ray` on a local Ray instance: the same study as the local engine, both ways."""

from __future__ import annotations

import signal
import subprocess

import optuna
import pytest
from safetensors.torch import load_file
from studies_builders import check_invariants, explore_args, finish, running_trained, start
from studies_builders import wait_for as wait_until

from gensynth.studies.leaderboard import leaderboard
from gensynth.studies.records import Attr, constraints_of
from gensynth.studies.storage import open_storage
from gensynth.studies.trials import download_trial_weights, spec_of_trial

pytest.importorskip("ray")
pytestmark = [pytest.mark.ray, pytest.mark.slow, pytest.mark.timeout(300)]


def test_ray_continues_a_local_study_and_records_what_the_loop_records(tmp_path, data_dir):
    url = f"journal:///{tmp_path}/team.log"
    local = explore_args(data_dir, url, "mixed", trials=2)
    finish(start(local, tmp_path, tmp_path / "local.log"), tmp_path / "local.log")
    ray_args = explore_args(data_dir, url, "mixed", trials=4, engine="ray", workers=2)
    ray_args.append("--overwrite")  # the local run's winner is in gensynth-out/best
    output = finish(start(ray_args, tmp_path, tmp_path / "ray.log"), tmp_path / "ray.log")
    assert "Resuming study 'mixed'" in output and "Ray: 2 worker tasks" in output

    study = optuna.load_study(study_name="mixed", storage=open_storage(url))
    trials = study.trials
    assert sum(t.state.name == "COMPLETE" for t in trials) >= 4
    by_ray = [t for t in trials if t.number >= 2]
    assert by_ray and all(t.state.name == "COMPLETE" for t in by_ray)
    assert len({t.user_attrs[Attr.WORKER] for t in by_ray}) == 2  # both tasks proposed trials
    for trial in by_ray:
        assert set(constraints_of(trial)) == {"macs_over", "macs_under"}  # set before the tell
        assert trial.user_attrs[Attr.SPEC_HASH] and Attr.FEASIBLE in trial.user_attrs
    trained = [t for t in by_ray if t.user_attrs.get(Attr.ORIGIN) not in ("reuse", None)
               and t.user_attrs.get(Attr.FEASIBLE)]  # fmt: skip
    assert trained, "no Ray trial trained"
    trial = trained[0]
    assert trial.user_attrs[Attr.NETSCORE] == pytest.approx(trial.value, abs=1e-3)
    assert trial.user_attrs[Attr.INSIGHTS] and trial.user_attrs[Attr.TIMINGS]["train_s"] > 0
    weights = download_trial_weights(url, "mixed", trial.number, tmp_path)
    spec_of_trial(url, "mixed", trial.number).build().load_state_dict(load_file(str(weights)))
    ranked = {row.trial for row in leaderboard(study)}
    assert {t.number for t in trained} <= ranked  # one leaderboard, whichever engine ran
    check_invariants(trials)


def test_ctrl_c_on_ray_then_the_local_engine_finishes_the_study(tmp_path, data_dir):
    url = f"journal:///{tmp_path}/team.log"
    ray_args = explore_args(data_dir, url, "handover", trials=3, engine="ray", workers=2,
                            epochs=3)  # fmt: skip
    process = start(ray_args, tmp_path, tmp_path / "ray.log")
    log = tmp_path / "ray.log"
    wait_until(lambda: "Ray: 2 worker tasks" in log.read_text(), 120, "Ray to start")
    wait_until(lambda: running_trained(url, "handover"), 120, "a Ray trial in training")
    process.send_signal(signal.SIGINT)
    try:
        assert process.wait(timeout=90) == 130, (tmp_path / "ray.log").read_text()[-3000:]
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert "Interrupted" in (tmp_path / "ray.log").read_text()
    study = optuna.load_study(study_name="handover", storage=open_storage(url))
    interrupted = [t for t in study.trials if t.state.name == "FAIL"]
    assert interrupted and all(
        t.user_attrs[Attr.FAIL_REASON] == "interrupted" for t in interrupted
    )

    local = explore_args(data_dir, url, "handover", trials=3, epochs=3)
    output = finish(start(local, tmp_path, tmp_path / "local.log"), tmp_path / "local.log")
    assert "re-queued lost trials" in output
    trials = optuna.load_study(study_name="handover", storage=open_storage(url)).trials
    assert sum(t.state.name == "COMPLETE" for t in trials) >= 3
    check_invariants(trials)
