"""A real PostgreSQL server (GENSYNTH_TEST_POSTGRES_URL): teams, crashes and bad credentials."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import optuna
import pytest
from studies_builders import check_invariants, explore_args, finish, running_trained, start
from studies_builders import wait_for as wait_until
from typer.testing import CliRunner

from gensynth.cli.main import app
from gensynth.studies.records import Attr, records_of
from gensynth.studies.storage import open_storage
from gensynth.studies.trials import download_trial_weights

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.timeout(300),
    pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning"),
]
runner = CliRunner()


def _name() -> str:
    return f"pg-{uuid.uuid4().hex[:10]}"


def _study(url: str, name: str) -> optuna.Study:
    storage = open_storage(url, heartbeat_interval=None, grace_period=None)
    return optuna.load_study(study_name=name, storage=storage)


def _with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{parts.username}:{password}@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit(parts._replace(netloc=netloc))


def test_two_explore_processes_cooperate_on_one_study(pg_url, data_dir, tmp_path):
    name = _name()
    shared = tmp_path / "shared-artifacts"
    a = explore_args(data_dir, pg_url, name, trials=5, workers=2, artifacts=shared)
    b = explore_args(data_dir, pg_url, name, trials=5, artifacts=shared)
    first = start(a, tmp_path, tmp_path / "a.log")
    second = start(b, tmp_path, tmp_path / "b.log")
    finish(first, tmp_path / "a.log")
    finish(second, tmp_path / "b.log")

    study = _study(pg_url, name)
    password = urlsplit(pg_url).password
    assert not password or password not in json.dumps(study.user_attrs)  # stored redacted
    trials = study.trials
    assert sorted(t.number for t in trials) == list(range(len(trials)))
    assert 5 <= sum(t.state.name == "COMPLETE" for t in trials) <= 7
    assert len({t.user_attrs[Attr.WORKER] for t in trials}) >= 2
    check_invariants(trials)
    result = runner.invoke(app, ["studies", "show", name, "--storage", pg_url, "--json"])
    assert result.exit_code == 0, result.output
    shown = [row["trial"] for row in json.loads(result.stdout)["leaderboard"]]
    feasible = [r for r in records_of(trials) if r.trained]
    expected = [r.number for r in sorted(feasible, key=lambda r: (-r.values[0], r.number))]
    assert shown == expected  # every process's trials, one ranking
    weights = download_trial_weights(pg_url, name, feasible[0].number, tmp_path)
    assert weights.stat().st_size > 0


def test_a_killed_run_is_retried_by_heartbeat_and_finished_by_a_rerun(pg_url, data_dir, tmp_path):
    name = _name()
    args = explore_args(data_dir, pg_url, name, trials=3, epochs=3)
    process = start(args, tmp_path, tmp_path / "first.log")
    victim = wait_until(lambda: running_trained(pg_url, name), 150, "a trial in training")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    # read again: the poll may have seen the trial between two of its attribute writes
    victim = _study(pg_url, name).trials[victim.number]
    assert victim.state.name == "RUNNING"

    # Another host's worker: its storage checks heartbeats with a short grace period.
    checker = open_storage(pg_url, heartbeat_interval=1, grace_period=2)
    study = optuna.load_study(study_name=name, storage=checker)
    time.sleep(3)
    optuna.storages.fail_stale_trials(study)
    waiting = [t for t in study.trials if t.state.name == "WAITING"]
    assert study.trials[victim.number].state.name == "FAIL"
    assert [t.user_attrs[Attr.SPEC] for t in waiting] == [victim.user_attrs[Attr.SPEC]]

    output = finish(start(args, tmp_path, tmp_path / "second.log"), tmp_path / "second.log")
    assert "Resuming study" in output
    trials = _study(pg_url, name).trials
    retry = next(t for t in trials if t.system_attrs.get("retry_history") == [victim.number])
    kept = "reference" if victim.user_attrs.get(Attr.ORIGIN) == "reference" else "retry"
    assert retry.state.name == "COMPLETE" and retry.user_attrs[Attr.ORIGIN] == kept
    assert sum(t.state.name == "COMPLETE" for t in trials) >= 3
    check_invariants(trials)


def test_a_rerun_after_sigkill_retries_the_lost_trial_at_once(pg_url, data_dir, tmp_path):
    name = _name()
    args = explore_args(data_dir, pg_url, name, trials=2, epochs=3)
    process = start(args, tmp_path, tmp_path / "first.log")
    victim = wait_until(lambda: running_trained(pg_url, name), 150, "a trial in training")
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    output = finish(start(args, tmp_path, tmp_path / "second.log"), tmp_path / "second.log")
    assert f"re-queued lost trials: {victim.number}" in output
    trials = _study(pg_url, name).trials
    assert trials[victim.number].user_attrs[Attr.FAIL_REASON] == "worker died"
    assert sum(t.state.name == "COMPLETE" for t in trials) >= 2
    check_invariants(trials)


def _one_line_error(result, secret: str) -> str:
    assert result.exit_code == 1, result.output
    assert secret not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    return lines[0]


def test_a_wrong_password_is_one_line_without_the_password(pg_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    url = _with_password(pg_url, "wrong-pw-4711")
    line = _one_line_error(runner.invoke(app, ["studies", "list", "--storage", url]),
                           "wrong-pw-4711")  # fmt: skip
    assert ":***@" in line and "password authentication failed" in line
    result = runner.invoke(app, ["explore", "--storage", url, "--trials", "1"])
    assert "cannot open storage" in _one_line_error(result, "wrong-pw-4711")


@pytest.mark.parametrize("host", ["127.0.0.1:1", "no-such-host.invalid"])
def test_an_unreachable_host_is_one_line_without_the_password(pg_url, host):
    url = f"postgresql://gensynth:hidden-pw-42@{host}/gensynth_test"
    started = time.monotonic()
    line = _one_line_error(runner.invoke(app, ["studies", "list", "--storage", url]),
                           "hidden-pw-42")  # fmt: skip
    assert "cannot open storage" in line and "***" in line
    assert time.monotonic() - started < 30
