"""The Ray glue in one process: searcher, trainable and recording, without a Ray instance."""

from __future__ import annotations

import pytest
from safetensors.torch import load_file

from gensynth.search.events import ExploreEvents
from gensynth.search.loop import StopSignal
from gensynth.search.records import Attr
from gensynth.search.recovery import recover_lost_trials
from gensynth.search.session import open_session
from gensynth.search.study_spec import ExploreOptions, resolve_options

pytest.importorskip("ray.tune")
pytestmark = [
    pytest.mark.ray,
    pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed:UserWarning"),
]


class _Finished(ExploreEvents):
    def __init__(self) -> None:
        self.records = []

    def trial_finished(self, record, completed):
        self.records.append(record)


@pytest.fixture
def session(tmp_path, data_dir):
    spec = resolve_options(ExploreOptions(
        data=str(data_dir), input_size=32, flops="2M", tolerance="10%", trials=3, epochs=1,
        storage=f"sqlite:///{tmp_path}/s.db", study="glue", timeout="off", engine="ray",
        out=str(tmp_path / "out"),
    ))  # fmt: skip
    return open_session(spec)


def _suggest_trainable(searcher, prefix: str):
    for i in range(6):
        config = searcher.suggest(f"{prefix}{i}")
        if config["gensynth"]["kind"] == "train":
            return f"{prefix}{i}", config
        searcher.on_trial_complete(f"{prefix}{i}", {"gensynth_kind": "settled"})
    raise AssertionError("no trainable candidate in 6 proposals")


def test_a_ray_trial_is_recorded_like_a_local_one(session, monkeypatch):
    from gensynth.studies._ray_search import GensynthSearch
    from gensynth.studies.ray_engine import RayJob, train_trial

    events, failures = _Finished(), []
    searcher = GensynthSearch(session, events, StopSignal(), failures)
    trial_id, config = _suggest_trainable(searcher, "a")
    reports = []
    monkeypatch.setattr("ray.tune.report", lambda metrics, **kw: reports.append(metrics))
    job = RayJob(session.spec, session.data, session.train_config,
                 str(session.artifact_dir.resolve()), 1)  # fmt: skip
    train_trial(config, job)
    assert reports[-1]["gensynth_kind"] == "trained", reports[-1]
    searcher.on_trial_complete(trial_id, reports[-1])

    trial = session.study.trials[config["gensynth"]["number"]]
    assert trial.state.name == "COMPLETE" and trial.value == reports[-1]["netscore"]
    attrs = trial.user_attrs
    for key in (Attr.SPEC, Attr.MACS, Attr.METRIC, Attr.NETSCORE, Attr.INSIGHTS, Attr.TIMINGS):
        assert key in attrs, key
    assert attrs[Attr.FEASIBLE] is True and set(trial.constraints) == {"macs_over", "macs_under"}
    weights = session.artifact_dir / attrs[Attr.WEIGHTS]
    from gensynth.prototypes import spec_from_dict

    spec_from_dict(attrs[Attr.SPEC]).build().load_state_dict(load_file(str(weights)))
    assert not any((session.artifact_dir / ".incoming").rglob("*.safetensors"))
    assert events.records[-1].number == trial.number


def test_failed_lost_and_unfinished_ray_trials_are_recorded_and_requeued(session):
    from gensynth.studies._ray_search import GensynthSearch

    failures: list[str] = []
    searcher = GensynthSearch(session, _Finished(), StopSignal(), failures)
    diverged, config = _suggest_trainable(searcher, "b")
    searcher.on_trial_complete(diverged, {"gensynth_kind": "failed", "netscore": -1000.0,
                                          "gensynth_reason": "training diverged"})  # fmt: skip
    lost, lost_config = _suggest_trainable(searcher, "c")
    searcher.on_trial_complete(lost, None, error=True)  # the Ray worker died
    _, open_config = _suggest_trainable(searcher, "d")
    searcher.fail_unfinished("interrupted")

    trials = session.study.trials
    reasons = {n: trials[c["gensynth"]["number"]].user_attrs[Attr.FAIL_REASON]
               for n, c in (("b", config), ("c", lost_config), ("d", open_config))}  # fmt: skip
    assert reasons["b"] == "training diverged"
    assert reasons["c"].startswith("worker died") and reasons["d"] == "interrupted"
    assert failures[0] == "training diverged"
    requeued = recover_lost_trials(session.study)
    assert requeued == [lost_config["gensynth"]["number"], open_config["gensynth"]["number"]]
