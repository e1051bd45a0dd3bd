"""`gensynth explain` on the built-in synthetic data for both tasks (slow: builds the set)."""

from __future__ import annotations

import json

import pytest
from explain_helpers import tiny_unet_spec
from typer.testing import CliRunner

from gensynth.cli.main import app
from gensynth.data import load_dataset
from gensynth.prototypes import spec_from_dict
from gensynth.training import TrainConfig, train_to_dir

SIZE = 48
CLASSIFY = {
    "prototype": "residual",
    "in_channels": 1,
    "input_size": SIZE,
    "num_classes": 6,
    "stem": {"width": 16, "kernel": 3, "stride": 1, "pool": False},
    "stages": [
        {"block": "basic", "width": 16, "depth": 1, "stride": 2, "kernel": 3},
        {"block": "basic", "width": 32, "depth": 1, "stride": 2, "kernel": 3},
    ],
    "act": "relu",
}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("task", "spec"), [("classify", CLASSIFY), ("segment", None)], ids=["classify", "segment"]
)
def test_explain_synthetic_end_to_end(tmp_path, monkeypatch, user_cache, task, spec):
    # The synthetic set takes ~20 s to generate: share the user's cache of it.
    if user_cache is None:
        monkeypatch.delenv("GENSYNTH_CACHE")
    else:
        monkeypatch.setenv("GENSYNTH_CACHE", user_cache)
    arch = spec_from_dict(spec) if spec else tiny_unet_spec(SIZE)
    data = load_dataset("synthetic", task=task, input_size=SIZE)
    config = TrainConfig.for_task(task, epochs=3, max_train_samples=240, threads=1)
    model = tmp_path / "model"
    train_to_dir(arch, data, config, model, data_source="synthetic")
    out = tmp_path / "report"
    args = ["explain", str(model), "--out", str(out), "--samples", "12", "--json"]
    result = CliRunner().invoke(app, [*args, "--threads", "1", "--ig-steps", "8"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["data"]["source"] == "synthetic" and summary["data"]["warnings"] == []
    assert summary["settings"]["coverage"]["measured"] is True
    for numbers in summary["overall"].values():
        assert numbers["mask_energy"] is not None and numbers["pointing_game"] is not None
        assert numbers["sanity_correlation"] is not None
        assert numbers["coverage_attempts"] == 12
    assert len(summary["per_class"]) == (6 if task == "classify" else 3)
