from __future__ import annotations

import json
from collections import Counter

import optuna
import pytest
from search_builders import tiny_dataset, tiny_spec

from gensynth.errors import ConfigError, GensynthError, TrialFailed
from gensynth.exploration import explore
from gensynth.prototypes import spec_from_dict
from gensynth.prototypes.params import encode
from gensynth.search import inquisitor as inquisitor_module
from gensynth.studies.leaderboard import leaderboard
from gensynth.studies.records import Attr, records_of


def _trials(spec):
    return optuna.load_study(study_name=spec.study_name, storage=spec.storage).get_trials()


def test_every_complete_trial_is_in_band_or_marked(tmp_path, tiny_data):
    spec = tiny_spec(tmp_path, trials=4)
    result = explore(spec, data=tiny_data, baseline=False)
    trials = _trials(spec)
    complete = [t for t in trials if t.state.name == "COMPLETE"]
    assert len(complete) == 4 == result.completed
    for trial in complete:
        attrs = trial.user_attrs
        design = encode(spec_from_dict(attrs[Attr.SPEC]))  # the params describe the spec
        assert trial.params == {k: v for k, (v, _) in design.items()}
        assert trial.distributions == {k: d for k, (_, d) in design.items()}
        if attrs[Attr.FEASIBLE]:
            assert 1_800_000 <= attrs[Attr.MACS] <= 2_200_000
            assert all(v <= 0 for v in trial.constraints.values())
            assert attrs[Attr.INSIGHTS] and attrs[Attr.WEIGHTS]
            assert 0 <= attrs[Attr.METRIC] <= 100
        else:
            assert attrs[Attr.REASON]
            assert any(v > 0 for v in trial.constraints.values())
    assert complete[0].user_attrs[Attr.ORIGIN] == "reference"
    # the finalists went through full training; the winner through test, export and latency
    metrics = json.loads((tmp_path / "out" / "best" / "metrics.json").read_text())
    assert metrics["search"]["trial"] == result.final.winner.number
    assert metrics["selection"]["winner"] == result.final.winner.number
    # the speed screen timed candidates before the finals; only those it kept were trained
    screen = metrics["selection"]["screen"]
    kept = {c["trial"] for c in screen["candidates"] if c["kept"]}
    trained = {f["trial"] for f in metrics["selection"]["finalists"] if f["role"] != "reference"}
    assert screen["candidates"] and trained == kept
    assert metrics["latency"]["process"] == "fresh"  # not timed in the process that trained
    assert {c["trial"] for c in screen["candidates"]} <= {t.number for t in complete}
    reference = json.loads((tmp_path / "out" / "reference" / "metrics.json").read_text())
    assert reference["test"]["accuracy"] == metrics["reference"]["test"]["accuracy"]
    assert metrics["export"]["max_abs_diff"] < 1e-3
    assert metrics["latency"]["model"]["median_ms"] > 0
    assert (tmp_path / "out" / "best" / "model.onnx").is_file()
    assert (tmp_path / "out" / "leaderboard.csv").read_text().startswith("rank,")


def test_study_records_its_spec_data_and_provenance(tmp_path, tiny_data):
    spec = tiny_spec(tmp_path, trials=1, final_epochs=0)
    explore(spec, data=tiny_data, baseline=False)
    study = optuna.load_study(study_name="tiny", storage=spec.storage)
    attrs = study.user_attrs
    assert attrs["gensynth.spec"]["flops"] == 2_000_000
    assert attrs["gensynth.data"]["fingerprint"] == tiny_data.fingerprint
    assert "torch" in attrs["gensynth.provenance"]["versions"]
    json.dumps(attrs)  # plain JSON: optuna-dashboard reads it


def test_an_unreachable_band_records_infeasible_trials_without_training(
    tmp_path, tiny_data, monkeypatch
):
    def no_training(*args, **kwargs):
        raise AssertionError("an infeasible candidate must not be trained")

    monkeypatch.setattr(inquisitor_module.Inquisitor, "evaluate", no_training)
    spec = tiny_spec(tmp_path, flops="5K", trials=2)
    with pytest.raises(GensynthError, match="no feasible"):
        explore(spec, data=tiny_data, baseline=False)
    trials = _trials(spec)
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    assert all(t.user_attrs[Attr.FEASIBLE] is False for t in trials)
    assert all("5K" in t.user_attrs[Attr.REASON] or "band" in t.user_attrs[Attr.REASON]
               for t in trials)  # fmt: skip


def test_a_failing_trial_is_recorded_and_the_study_goes_on(tmp_path, tiny_data, monkeypatch):
    real = inquisitor_module.Inquisitor.evaluate
    calls = Counter()

    def flaky(self, spec, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise TrialFailed("training diverged: loss is nan at epoch 1, step 3")
        return real(self, spec, **kwargs)

    monkeypatch.setattr(inquisitor_module.Inquisitor, "evaluate", flaky)
    spec = tiny_spec(tmp_path, trials=2, final_epochs=0)
    explore(spec, data=tiny_data, baseline=False)
    states = Counter(t.state.name for t in _trials(spec))
    assert states == {"FAIL": 1, "COMPLETE": 2}
    failed = next(t for t in _trials(spec) if t.state.name == "FAIL")
    assert "diverged" in failed.user_attrs[Attr.FAIL_REASON]


def test_interrupt_then_rerun_resumes_without_losing_or_repeating(
    tmp_path, tiny_data, monkeypatch
):
    real = inquisitor_module.Inquisitor.evaluate
    calls = Counter()

    def interrupted_once(self, spec, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(self, spec, **kwargs)

    monkeypatch.setattr(inquisitor_module.Inquisitor, "evaluate", interrupted_once)
    spec = tiny_spec(tmp_path, trials=3, final_epochs=0)
    with pytest.raises(KeyboardInterrupt):
        explore(spec, data=tiny_data, baseline=False)
    before = _trials(spec)
    assert [t.state.name for t in before] == ["COMPLETE", "FAIL"]
    lost_spec = before[1].user_attrs[Attr.SPEC]

    result = explore(spec, data=tiny_data, baseline=False)
    after = _trials(spec)
    assert result.completed == 3
    assert after[0].datetime_complete == before[0].datetime_complete  # kept as it was
    retried = after[2]
    assert retried.user_attrs[Attr.SPEC] == lost_spec  # the lost candidate, evaluated again
    assert retried.system_attrs["retry_history"] == [1]
    trained = [r.spec_hash for r in records_of(after) if r.trained]
    assert len(trained) == len(set(trained))


def test_rerun_with_other_limits_is_refused_unless_forced(tmp_path, tiny_data):
    explore(tiny_spec(tmp_path, trials=1, final_epochs=0), data=tiny_data, baseline=False)
    other = tiny_spec(tmp_path, flops="3M", trials=1, final_epochs=0)
    with pytest.raises(ConfigError) as info:
        explore(other, data=tiny_data, baseline=False, overwrite=True)
    assert "flops=2000000 (now 3000000)" in info.value.message
    assert "--force-resume" in info.value.hint
    explore(other, data=tiny_data, baseline=False, force_resume=True, finalize_winner=False)


def test_a_rerun_into_the_same_out_is_refused_before_any_work(tmp_path, tiny_data):
    explore(tiny_spec(tmp_path, trials=1, final_epochs=0), data=tiny_data, baseline=False)
    best = tmp_path / "out" / "best"
    before = {p.name: p.read_bytes() for p in best.iterdir()}
    with pytest.raises(ConfigError, match="already holds a model") as info:
        explore(tiny_spec(tmp_path, trials=2, final_epochs=0), data=tiny_data, baseline=False)
    assert "--overwrite" in info.value.hint
    assert {p.name: p.read_bytes() for p in best.iterdir()} == before
    result = explore(
        tiny_spec(tmp_path, trials=2, final_epochs=0), data=tiny_data, baseline=False,
        overwrite=True,
    )  # fmt: skip
    assert result.completed >= 1 and (best / "weights.safetensors").is_file()


def test_identical_specs_are_not_trained_twice(tmp_path, tiny_data, monkeypatch):
    from gensynth.search import generator as generator_module

    def always_default(self, trial, history=None):
        design = self.prototype.default_spec(**self.io)
        return self._repair(design, "sample", "the default design")

    monkeypatch.setattr(generator_module.Generator, "_sample", always_default)
    monkeypatch.setattr(generator_module.Generator, "mutation_probability", lambda s, h: 0.0)
    spec = tiny_spec(tmp_path, trials=3, final_epochs=0)
    explore(spec, data=tiny_data, baseline=False, finalize_winner=False)
    origins = [t.user_attrs[Attr.ORIGIN] for t in _trials(spec)]
    assert origins == ["reference", "sample", "reuse"]
    assert _trials(spec)[2].user_attrs[Attr.REUSED_FROM] == 1


def test_segmentation_exploration(tmp_path):
    spec = tiny_spec(tmp_path, task="segment", trials=2, final_epochs=1)
    result = explore(spec, data=tiny_dataset("segment"), baseline=False)
    metrics = result.final.metrics
    assert metrics["metric"] == "miou"
    assert 0 <= metrics["test"]["miou"] <= 100
    rows = leaderboard(result.session.study)
    assert rows and rows[0].metric is not None


def test_a_lost_trial_runs_again_even_once_the_budget_is_complete(tmp_path, tiny_data):
    """A trial lost in flight is re-queued by the rerun and run, not left WAITING."""
    import socket
    import subprocess
    import sys

    spec = tiny_spec(tmp_path, trials=2, final_epochs=0)
    explore(spec, data=tiny_data, baseline=False)
    study = optuna.load_study(study_name=spec.study_name, storage=spec.storage)
    done = [t for t in study.get_trials() if t.state.name == "COMPLETE"]
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lost = study.ask()  # a trial whose process died mid-training
    lost.set_user_attr(Attr.SPEC, done[-1].user_attrs[Attr.SPEC])
    lost.set_user_attr(Attr.WORKER, f"{socket.gethostname()}:{dead.pid}")
    explore(spec, data=tiny_data, baseline=False, overwrite=True)
    states = Counter(t.state.name for t in _trials(spec))
    assert states == {"COMPLETE": 3, "FAIL": 1}, states
