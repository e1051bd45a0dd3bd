"""Parity by construction: the same seed and study give the same trials on every engine.

Proposals, recorded attributes (their values, not only their keys), insights, constraint
values and objective values must not depend on where a trial ran. Only what names the
process (``worker``), the wall-clock timings and the artifact ids may differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest

from gensynth.exploration import explore
from gensynth.search.study_spec import ExploreOptions, resolve_options
from gensynth.studies.records import Attr
from gensynth.studies.storage import open_storage

#: Attributes that name the process or the clock, not the trial.
PER_PROCESS = {Attr.WORKER, Attr.TIMINGS, Attr.WEIGHTS}


def _run(tmp_path: Path, data_dir: Path, engine: str, **extra: Any) -> list[dict[str, Any]]:
    url = f"journal:///{tmp_path}/{engine}.log"
    spec = resolve_options(
        ExploreOptions(
            data=str(data_dir), input_size=32, flops="2M", tolerance="10%", trials=4,
            epochs=1, final_epochs=0, timeout="off", study="parity", storage=url,
            engine=engine, threads=1, seed=3, **extra,
        )
    )  # fmt: skip
    explore(spec, finalize_winner=False)
    study = optuna.load_study(study_name="parity", storage=open_storage(url))
    return [_comparable(trial) for trial in study.get_trials(deepcopy=False)]


def _comparable(trial: optuna.trial.FrozenTrial) -> dict[str, Any]:
    attrs = {k: v for k, v in trial.user_attrs.items() if k not in PER_PROCESS}
    return {
        "number": trial.number,
        "state": trial.state.name,
        "values": trial.values,
        "constraints": trial.constraints,
        "attrs": attrs,
    }


def _check_same(local: list[dict[str, Any]], other: list[dict[str, Any]]) -> None:
    assert [t["number"] for t in other] == [t["number"] for t in local]
    trained = [t for t in local if t["attrs"].get(Attr.FEASIBLE)]
    assert trained and all(t["attrs"][Attr.INSIGHTS] for t in trained)  # something to compare
    for mine, theirs in zip(local, other, strict=True):
        assert theirs == mine, f"trial {mine['number']} differs"


def test_local_and_workers_record_the_same_trials(tmp_path, data_dir):
    local = _run(tmp_path, data_dir, "local")
    workers = _run(tmp_path, data_dir, "workers", workers=1)
    _check_same(local, workers)


@pytest.mark.ray
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_ray_records_the_same_trials_as_local(tmp_path, data_dir):
    pytest.importorskip("ray")
    local = _run(tmp_path, data_dir, "local")
    ray = _run(tmp_path, data_dir, "ray", workers=1)
    _check_same(local, ray)
