"""The public Python API: gensynth.explore / train / load_model / predict, end to end."""

from __future__ import annotations

import pytest

import gensynth
from gensynth.errors import ConfigError


def test_the_api_is_lazy_and_named():
    assert {"explore", "train", "load_model", "predict"} <= set(gensynth.__all__)
    with pytest.raises(AttributeError):
        gensynth.not_a_thing  # noqa: B018


def test_explore_refuses_an_unknown_option_by_name():
    with pytest.raises(ConfigError, match="flopz"):
        gensynth.explore(flopz="100M")


def test_train_refuses_an_unknown_option_by_name(tmp_path):
    spec = tmp_path / "spec.yaml"
    from gensynth.prototypes import dump_spec, reference_spec

    dump_spec(reference_spec("plain", input_size=32, num_classes=6), spec)
    with pytest.raises(ConfigError, match="epoks"):
        gensynth.train(spec, out=tmp_path / "m", epoks=1)
    assert not (tmp_path / "m").exists()


@pytest.mark.slow
def test_explore_train_load_and_predict_from_python(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = gensynth.explore(
        flops=2_000_000, input_size=32, trials=2, epochs=1, final_epochs=1, timeout="off",
        out="runs/a", baseline=False,
    )  # fmt: skip
    best = tmp_path / "runs" / "a" / "best"
    assert result.final is not None and (best / "model.onnx").is_file()
    metrics = gensynth.train(best / "spec.yaml", out=tmp_path / "m1", epochs=1, seed=1)
    assert metrics["test"]["accuracy"] >= 0 and metrics["seed"] == 1
    loaded = gensynth.load_model(tmp_path / "m1")
    assert loaded.spec.spec_hash == metrics["spec_hash"]
    from gensynth.data import synthesize

    synthesize(tmp_path / "imgs", per_class=1, size=32, seed=3)
    rows = list(gensynth.predict(best, [tmp_path / "imgs"]))
    assert len(rows) == 6 and all(r.label in loaded.metrics["data"]["class_names"] for r in rows)
