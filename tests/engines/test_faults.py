"""Faults for real: kill -9 of explore, of one of 4 workers, and a full artifact disk.

In each, nothing that completed may be lost or repeated, no trial may be left RUNNING, and
the study must load and show and export afterwards. The counts are defined (and taken) in
``tests/fault_scenarios.py``, which ``benchmarks/faults.py`` runs with timings.
"""

from __future__ import annotations

import uuid

import pytest
from fault_scenarios import (
    disk_full_mid_run,
    kill_explore_then_rerun,
    kill_one_worker,
    mount_tmpfs,
    unmount,
)
from safetensors import safe_open
from studies_builders import check_invariants, require

from gensynth.studies.records import Attr

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning"),
]
NOTHING = {"lost": 0, "duplicated": 0, "left_running": 0, "left_waiting": 0}
STORAGES = ["journal", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture
def storage_url(request, tmp_path) -> str:
    if request.param == "postgresql":
        return request.getfixturevalue("pg_url")
    return f"journal:///{tmp_path}/study.log"


def _name() -> str:  # PostgreSQL is shared by every test: one study each
    return f"faults-{uuid.uuid4().hex[:8]}"


def _check_retried(outcome, reason: str) -> None:
    """The trial the fault hit failed with ``reason`` and was trained again, same spec."""
    victim, retry = outcome.victim, outcome.retry
    assert victim.state.name == "FAIL" and victim.user_attrs[Attr.FAIL_REASON].startswith(reason)
    assert retry is not None, f"trial #{victim.number} was not retried"
    assert retry.state.name == "COMPLETE"
    assert retry.user_attrs[Attr.SPEC] == victim.user_attrs[Attr.SPEC]
    assert outcome.exported == len(outcome.trials)  # export sees every trial, the failed one too


@pytest.mark.parametrize("storage_url", STORAGES, indirect=True)
def test_kill_9_of_explore_mid_trial_then_a_rerun_loses_and_repeats_nothing(
    tmp_path, data_dir, storage_url
):
    outcome = kill_explore_then_rerun(tmp_path, data_dir, storage_url, _name())
    assert outcome.counts.figures() == NOTHING, outcome.counts
    _check_retried(outcome, "worker died")
    assert f"re-queued lost trials: {outcome.victim.number}" in outcome.outputs["second"]
    assert sum(t.state.name == "COMPLETE" for t in outcome.trials) >= 3
    check_invariants(outcome.trials)


@pytest.mark.parametrize("storage_url", STORAGES, indirect=True)
def test_kill_9_of_one_of_4_workers_loses_and_repeats_nothing(tmp_path, data_dir, storage_url):
    outcome = kill_one_worker(tmp_path, data_dir, storage_url, _name(), workers=4)
    assert outcome.counts.figures() == NOTHING, outcome.counts
    _check_retried(outcome, "worker died")
    assert f"re-queued trial #{outcome.victim.number}" in outcome.outputs["run"]
    assert sum(t.state.name == "COMPLETE" for t in outcome.trials) >= 6
    check_invariants(outcome.trials)


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB tmpfs for the artifact store: the first weights fit; then it is filled."""
    folder = tmp_path / "artifacts"
    why = mount_tmpfs(folder, "4m")
    require(why is None, f"the full-disk test mounts a tmpfs (root, CAP_SYS_ADMIN): {why}")
    yield folder
    unmount(folder)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_full_artifact_disk_fails_the_trial_stops_the_run_and_a_rerun_retries_it(
    tmp_path, data_dir, small_disk, workers
):
    url = f"journal:///{tmp_path}/study.log"
    outcome = disk_full_mid_run(tmp_path, data_dir, url, "full", small_disk, workers=workers)
    first, details = outcome.outputs["first"], outcome.details
    errors = [line for line in first.splitlines() if line.startswith("Error:")]
    assert details["first_exit"] == 1 and "Traceback" not in first
    assert len(errors) == 1 and "disk full: the artifact store" in errors[0]
    assert errors[0].startswith("Error: disk full" if workers == 1 else "Error: worker ")
    assert str(small_disk) in errors[0] and "rerun the same command" in errors[0]
    assert details["running_at_stop"] == []  # the stop recorded the trial, no RUNNING left
    nothing_left = {"partial": [], "unreferenced": [], "missing": []}
    assert details["leftovers_at_stop"] == nothing_left  # no half file, no dangling reference
    victim = outcome.victim
    assert Attr.WEIGHTS not in victim.user_attrs
    assert not [k for k in victim.system_attrs if k.startswith("artifacts:")]

    assert outcome.counts.figures() == NOTHING, outcome.counts
    _check_retried(outcome, "disk full")
    requeued = next(ln for ln in outcome.outputs["second"].splitlines() if "re-queued" in ln)
    assert str(victim.number) in requeued.rpartition(": ")[2].split(", ")  # and the others
    assert details["leftovers_after"] == nothing_left
    weights = small_disk / outcome.retry.user_attrs[Attr.WEIGHTS]
    with safe_open(str(weights), framework="pt") as handle:  # whole, readable weights
        assert list(handle.keys())
    check_invariants(outcome.trials)
