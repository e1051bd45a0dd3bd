"""`gensynth train` on the real synthetic data set with the real prototypes (slow)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from gensynth.cli.main import app

runner = CliRunner()

pytestmark = pytest.mark.slow


def _real_spec(tmp_path, prototype: str):
    try:
        from gensynth.prototypes import dump_spec, get_prototype
    except ImportError:
        pytest.skip("gensynth.prototypes.get_prototype is not available")
    path = tmp_path / f"{prototype}.yaml"
    dump_spec(get_prototype(prototype).default_spec(input_size=32), path)
    return path


@pytest.mark.parametrize(
    ("prototype", "figure", "metric"),
    [("residual", "confusion.png", "accuracy"), ("residual-unet", "pr_sweep.png", "miou")],
)
def test_train_on_synthetic_data_end_to_end(tmp_path, prototype, figure, metric):
    out = tmp_path / "model"
    spec = _real_spec(tmp_path, prototype)
    args = ["train", "--spec", str(spec), "--out", str(out), "--epochs", "1", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"]["source"] == "synthetic"
    assert metrics["macs"] > 0 and metrics["costs_source"] == "gensynth.constraints.count_costs"
    assert (
        sum(metrics["data"]["split_counts"].values()) == len(metrics["data"]["class_names"]) * 300
    )
    assert 0.0 <= metrics["test"][metric] <= 100.0
    assert (out / figure).is_file() and (out / "curves.png").is_file()
    if metric == "miou":
        source = metrics["test"]["decision"]["negatives_source"]
        assert "clean_background" in source  # NEU-Seg-like data: every image has a defect
