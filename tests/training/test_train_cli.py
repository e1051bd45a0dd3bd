"""`gensynth train` end to end on toy data with tiny test specs, and its bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from train_toys import TinyClassifySpec, TinySegmentSpec, toy_dataset
from typer.testing import CliRunner

from gensynth.cli.main import app
from gensynth.modeldir import load_model_dir
from gensynth.prototypes import dump_spec

runner = CliRunner()

METRICS_KEYS = {
    "test", "val", "history", "macs", "params", "data", "seed", "versions", "git_sha",
    "training", "timings", "best_epoch", "spec_hash",
}  # fmt: skip


@pytest.fixture
def toy_loader(monkeypatch):
    """Serves toy data sets to the command in place of gensynth.data.load_dataset."""
    calls: list[dict] = []

    def load_dataset(source, *, task, input_size, format=None, seed=0, skip_bad=False, **_look):
        calls.append({"source": source, "task": task, "input_size": input_size, "seed": seed})
        classes = 6 if source == "six" else 3
        return toy_dataset(task if source != "classify-only" else "classify", classes=classes)

    monkeypatch.setattr("gensynth.data.load_dataset", load_dataset, raising=False)
    return calls


def _spec(tmp_path: Path, cls=TinyClassifySpec, **fields) -> Path:
    spec = cls(**dict({"in_channels": 1, "input_size": 32, "num_classes": 3}, **fields))
    path = tmp_path / "spec.yaml"
    dump_spec(spec, path)
    return path


def _train(*args: str):
    return runner.invoke(app, ["train", "--epochs", "2", "--batch-size", "16", *map(str, args)])


def test_train_writes_the_model_directory(tmp_path, toy_loader):
    out = tmp_path / "model"
    result = _train("--spec", _spec(tmp_path), "--out", out, "--seed", "3")
    assert result.exit_code == 0, result.output
    for name in (
        "spec.yaml",
        "weights.safetensors",
        "metrics.json",
        "curves.png",
        "confusion.png",
    ):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) >= METRICS_KEYS
    assert metrics["data"]["fingerprint"] == "toy-classify-30-3-32-0"
    assert metrics["data"]["split_counts"] == {"train": 54, "val": 18, "test": 18}
    assert metrics["data"]["source"] == "synthetic" and metrics["seed"] == 3
    assert metrics["training"]["epochs"] == 2 and len(metrics["history"]) == 2
    assert metrics["test"]["split"] == "test" and "accuracy" in metrics["test"]
    assert metrics["params"] > 0
    assert toy_loader[0] == {
        "source": "synthetic",
        "task": "classify",
        "input_size": 32,
        "seed": 3,
    }
    loaded = load_model_dir(out)  # weights round-trip into the spec's model
    assert loaded.metrics["spec_hash"] == loaded.spec.spec_hash
    assert "accuracy (%)" in result.stdout


def test_same_seed_gives_the_same_metrics(tmp_path, toy_loader):
    runs = []
    for name in ("a", "b"):
        result = _train("--spec", _spec(tmp_path), "--out", tmp_path / name, "--json")
        assert result.exit_code == 0, result.output
        runs.append(json.loads(result.stdout))
    assert runs[0]["test"] == runs[1]["test"]
    strip = [
        [
            {k: v for k, v in r.items() if k not in ("seconds", "images_per_second")}
            for r in run["history"]
        ]
        for run in runs
    ]
    assert strip[0] == strip[1]


def test_train_segmentation_writes_the_sweep_plot(tmp_path, toy_loader):
    out = tmp_path / "seg"
    spec = _spec(tmp_path, TinySegmentSpec, num_classes=1)
    result = _train("--spec", spec, "--out", out, "--json")
    assert result.exit_code == 0, result.output
    assert (out / "pr_sweep.png").is_file() and not (out / "confusion.png").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"miou", "dice", "decision", "per_class"} <= set(metrics["test"])
    assert metrics["test"]["decision"]["negatives_source"]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--epochs", "0"], 2, "--epochs: expected a positive number, got 0"),
        (["--study", "s"], 2, "expected either --spec or --study, got both"),
        ([], 2, "Missing option '--out'"),
    ],
)
def test_usage_errors(tmp_path, toy_loader, args, code, message):
    base = ["train", "--spec", str(_spec(tmp_path))]
    if "--out" not in message:
        base += ["--out", str(tmp_path / "m")]
    result = runner.invoke(app, base + args)
    assert result.exit_code == code
    assert message in " ".join(result.output.split())


def test_neither_spec_nor_study(tmp_path, toy_loader):
    result = runner.invoke(app, ["train", "--out", str(tmp_path / "m")])
    assert result.exit_code == 2 and "got neither" in result.output


def test_missing_and_broken_spec_files(tmp_path, toy_loader):
    missing = _train("--spec", tmp_path / "nope.yaml", "--out", tmp_path / "m")
    assert missing.exit_code == 2 and "does not exist" in missing.output
    broken = tmp_path / "broken.yaml"
    broken.write_text("prototype: [unclosed\n")
    result = _train("--spec", broken, "--out", tmp_path / "m")
    assert result.exit_code == 2 and "not valid YAML" in result.output


def test_class_count_mismatch_names_both_numbers(tmp_path, toy_loader):
    spec = _spec(tmp_path, num_classes=6)
    result = _train("--spec", spec, "--out", tmp_path / "m")
    assert result.exit_code == 1
    assert "the spec has 6 classes, the data has 3" in " ".join(result.output.split())


def test_channel_mismatch_names_both_numbers(tmp_path, toy_loader):
    result = _train("--spec", _spec(tmp_path, in_channels=3), "--out", tmp_path / "m")
    assert result.exit_code == 1
    assert "expects 3 input channels, the data has 1" in " ".join(result.output.split())


def test_segmentation_spec_on_classification_data(tmp_path, toy_loader):
    spec = _spec(tmp_path, TinySegmentSpec, num_classes=1)
    result = _train("--spec", spec, "--data", "classify-only", "--out", tmp_path / "m")
    assert result.exit_code == 1 and "needs defect masks" in result.output


def test_non_empty_out_is_refused_unless_overwrite(tmp_path, toy_loader):
    out = tmp_path / "m"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    refused = _train("--spec", _spec(tmp_path), "--out", out)
    assert refused.exit_code == 2 and "not empty" in refused.output
    assert not (out / "metrics.json").exists()
    allowed = _train("--spec", _spec(tmp_path), "--out", out, "--overwrite")
    assert allowed.exit_code == 0, allowed.output
    assert (out / "keep.txt").read_text() == "mine" and (out / "metrics.json").is_file()


def test_first_ctrl_c_asks_to_stop_and_the_second_interrupts():
    import os
    import signal

    from gensynth.cli.train import _stop_on_interrupt

    before = signal.getsignal(signal.SIGINT)
    with _stop_on_interrupt() as should_stop:
        assert not should_stop()
        os.kill(os.getpid(), signal.SIGINT)
        assert should_stop()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before


def test_default_epochs_and_time_budget_come_from_the_core(tmp_path, toy_loader, monkeypatch):
    from gensynth.training import FULL_EPOCHS, FULL_TIME_BUDGET

    monkeypatch.setitem(FULL_EPOCHS, "classify", 2)
    out = tmp_path / "m"
    args = ["train", "--spec", str(_spec(tmp_path)), "--out", str(out), "--batch-size", "16"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["training"]["epochs"] == 2
    assert metrics["training"]["time_budget"] == FULL_TIME_BUDGET["classify"]
    assert metrics["epoch_plan"]["epochs"] == 2 and len(metrics["history"]) == 2
    assert metrics["weights"] == "training weights"  # 6 steps: too short for an EMA
    # an explicit --epochs is exactly that many, with no plan
    explicit = _train("--spec", _spec(tmp_path), "--out", tmp_path / "e", "--json")
    assert explicit.exit_code == 0, explicit.output
    assert json.loads(explicit.stdout)["epoch_plan"] is None
