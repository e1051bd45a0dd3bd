"""`--workers N` for real: worker processes on a journal file, SIGKILL mid-trial, reruns."""

from __future__ import annotations

import os
import signal

import optuna
import pytest
from studies_builders import (
    check_invariants,
    explore_args,
    finish,
    pid_of,
    running_trained,
    start,
    wait_for,
)

from gensynth.studies.records import Attr
from gensynth.studies.storage import open_storage

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(300)]


def _study(url: str, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=open_storage(url))


def test_two_workers_share_one_journal_study(tmp_path, data_dir):
    url = f"journal:///{tmp_path}/team.log"
    log = tmp_path / "run.log"
    args = explore_args(data_dir, url, "w2", trials=4, workers=2)
    output = finish(start(args, tmp_path, log), log)
    assert "2 worker processes × 1 torch threads" in output
    trials = _study(url, "w2").trials
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert 4 <= len(complete) <= 5  # both workers may finish a last trial together
    assert len({t.user_attrs[Attr.WORKER] for t in trials}) == 2  # two processes did the work
    check_invariants(trials)
    assert all(f"#{t.number}" in output for t in complete)  # progress polled from the study


def test_a_worker_killed_mid_trial_is_replaced_and_its_trial_retried(tmp_path, data_dir):
    url = f"journal:///{tmp_path}/team.log"
    log = tmp_path / "run.log"
    process = start(explore_args(data_dir, url, "kill1", trials=4, workers=2, epochs=3),
                    tmp_path, log)  # fmt: skip
    victim = wait_for(lambda: running_trained(url, "kill1"), 150, "a trial in training")
    pid = pid_of(victim)
    os.kill(pid, signal.SIGKILL)
    output = finish(process, log)
    trials = _study(url, "kill1").trials
    # the trial the kill hit, read after the run: the polled one, unless it finished in the
    # moment before the kill (then the next one of that worker)
    died = [t for t in trials if t.user_attrs.get(Attr.FAIL_REASON) == "worker died"
            and t.user_attrs.get(Attr.WORKER, "").endswith(f":{pid}")]  # fmt: skip
    victim = trials[victim.number] if trials[victim.number].state.name != "COMPLETE" else died[0]
    assert victim.state.name == "FAIL" and victim.user_attrs[Attr.FAIL_REASON] == "worker died"
    retry = next(t for t in trials if victim.number in t.system_attrs.get("retry_history", []))
    assert retry.user_attrs[Attr.SPEC] == victim.user_attrs[Attr.SPEC]
    kept = "reference" if victim.user_attrs.get(Attr.ORIGIN) == "reference" else "retry"
    assert retry.state.name == "COMPLETE" and retry.user_attrs[Attr.ORIGIN] == kept
    assert f"re-queued trial #{victim.number}" in output
    assert sum(t.state.name == "COMPLETE" for t in trials) >= 4
    check_invariants(trials)


def test_the_whole_run_killed_then_rerun_finishes_without_loss(tmp_path, data_dir):
    url = f"journal:///{tmp_path}/team.log"
    args = explore_args(data_dir, url, "kill2", trials=4, workers=2, epochs=2)
    process = start(args, tmp_path, tmp_path / "first.log")

    def one_done_and_one_training():
        try:  # the journal file can exist a moment before the study is in it
            study = _study(url, "kill2") if (tmp_path / "team.log").exists() else None
        except KeyError:
            return None
        done = study and [t for t in study.trials if t.state.name == "COMPLETE"]
        return done and running_trained(url, "kill2")

    wait_for(one_done_and_one_training, 200, "a finished trial and one in training")
    os.killpg(process.pid, signal.SIGKILL)  # the parent and its workers, all at once
    process.wait()
    before = _study(url, "kill2").trials
    running = [t.number for t in before if t.state.name == "RUNNING"]
    kept = {t.number: t.datetime_complete for t in before if t.state.name == "COMPLETE"}
    assert running and kept

    output = finish(start(args, tmp_path, tmp_path / "second.log"), tmp_path / "second.log")
    after = _study(url, "kill2").trials
    assert "re-queued lost trials" in output
    for number in running:
        assert after[number].user_attrs[Attr.FAIL_REASON] == "worker died"
    assert {n: after[n].datetime_complete for n in kept} == kept  # finished work untouched
    assert sum(t.state.name == "COMPLETE" for t in after) >= 4
    check_invariants(after)
