"""`gensynth bench`: the table, JSON, baseline comparison, skipped backends, bad input."""

from __future__ import annotations

import json

import pytest
from backend_helpers import tiny_spec
from typer.testing import CliRunner

import gensynth.prototypes
from gensynth.backends import _openvino
from gensynth.cli.main import app
from gensynth.modeldir import WEIGHTS_FILE, save_model_dir
from gensynth.prototypes import dump_spec

pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
runner = CliRunner(env={"COLUMNS": "200"})  # room for the whole table
CPU = "torch-cpu,onnxruntime-cpu"


@pytest.fixture()
def spec_file(tmp_path):
    path = tmp_path / "tiny.yaml"
    dump_spec(tiny_spec(), path)
    return path


@pytest.fixture()
def model_dir(tmp_path):
    folder = tmp_path / "model"
    save_model_dir(folder, tiny_spec(), tiny_spec().build(), {})
    return folder


@pytest.fixture()
def reference(monkeypatch):
    """A wider tiny net stands in for reference_spec('resnet50') in these tests."""

    def reference_spec(name, *, in_channels=None, input_size=None, num_classes=None):
        assert name == "resnet50"
        return tiny_spec(width=16).replace(
            in_channels=in_channels, input_size=input_size, num_classes=num_classes
        )

    monkeypatch.setattr(gensynth.prototypes, "reference_spec", reference_spec, raising=False)


def _bench(*args: str):
    return runner.invoke(app, ["bench", *args])


def test_table_for_a_spec_on_both_cpu_backends(spec_file, fast_timing):
    result = _bench(str(spec_file), "--backends", CPU, "--batch", "1,2", "--threads", "1")
    assert result.exit_code == 0, result.output
    for text in ("torch-cpu", "onnxruntime-cpu", "median", "p90", "GMAC/s", "tiny.yaml"):
        assert text in result.stdout


def test_json_holds_every_result_and_the_machine(model_dir, fast_timing):
    result = _bench(
        str(model_dir), "--backends", CPU, "--batch", "1,2", "--threads", "1", "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["results"]) == 4 and data["models"][0]["weights"] == "trained"
    assert {"cpu", "cores"} <= set(data["machine"]) and "torch" in data["versions"]
    assert len(data["load_avg"]) == 3 and data["comparisons"] == []
    for row in data["results"]:
        assert 0 < row["median_ms"] <= row["p90_ms"] and row["threads"] == 1
        assert row["macs"] > 0 and row["gmacs_per_s"] > 0


def test_each_thread_count_is_timed_and_settings_and_load_are_recorded(spec_file, fast_timing):
    result = _bench(str(spec_file), "--backends", "onnxruntime-cpu", "--threads", "1,2", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [row["threads"] for row in data["results"]] == [1, 2]
    for row in data["results"]:
        assert row["settings"]["threads"] == row["threads"]
        assert row["settings"]["spinning"] is True
        assert row["settings"]["graph_optimization"] == "all"
        assert row["settings"]["provider"] == "CPUExecutionProvider"
        assert {"load_avg_before", "load_avg_after", "others_cpu", "reasons"} <= set(row["load"])
        assert len(row["block_medians_ms"]) == 3 and row["method"] == data["method"]
    table = _bench(str(spec_file), "--backends", "onnxruntime-cpu", "--threads", "1,2")
    assert table.exit_code == 0 and "thr" in table.stdout and "spread" in table.stdout
    assert "Settings onnxruntime-cpu: spinning on" in table.stderr


def test_a_figure_measured_under_load_is_marked(spec_file, fast_timing, monkeypatch):
    from gensynth.backends import _measure
    from gensynth.backends._load import CpuProbe

    class _Busy(CpuProbe):
        def stop(self) -> float:
            return 0.6

    monkeypatch.setattr(_measure, "CpuProbe", _Busy)
    result = _bench(str(spec_file), "--backends", "onnxruntime-cpu")
    assert result.exit_code == 0, result.output
    assert "busy" in result.stdout and "measured under load" in result.stderr
    assert "60% of the CPU" in result.stderr


def test_baseline_is_measured_in_the_same_run_with_ratios(spec_file, fast_timing, reference):
    result = _bench(str(spec_file), "--backends", CPU, "--baseline", "resnet50", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [m["label"] for m in data["models"]] == ["tiny.yaml", "resnet50"]
    assert data["models"][1]["macs"] > data["models"][0]["macs"]
    assert {(c["backend"], c["batch"]) for c in data["comparisons"]} == {
        ("torch-cpu", 1),
        ("onnxruntime-cpu", 1),
    }
    for comparison in data["comparisons"]:
        assert comparison["speedup"] > 0 and comparison["efficiency_ratio"] > 0
        assert comparison["baseline"] == "resnet50"
        assert len(comparison["block_speedups"]) == 3 and comparison["spread"] >= 0
        assert isinstance(comparison["loaded"], bool) and comparison["threads"] >= 1
    table = _bench(str(spec_file), "--backends", "onnxruntime-cpu", "--baseline", "resnet50")
    assert table.exit_code == 0 and "model is" in table.stdout
    resnet_row = next(line for line in table.stdout.splitlines() if "resnet50" in line)
    assert "x faster" in resnet_row or "x slower" in resnet_row  # on the baseline's row


def test_a_hand_design_baseline_is_scaled_to_the_models_macs(tmp_path, fast_timing):
    from gensynth.prototypes import get_prototype

    path = tmp_path / "mid.yaml"
    dump_spec(get_prototype("residual").default_spec(input_size=64), path)
    result = _bench(str(path), "--backends", "onnxruntime-cpu", "--baseline", "plain", "--json")
    assert result.exit_code == 0, result.output
    models = {m["label"]: m for m in json.loads(result.stdout)["models"]}
    mine, plain = models["mid.yaml"]["macs"], models["plain"]["macs"]
    assert abs(plain - mine) <= 0.05 * mine
    assert [c["baseline"] for c in json.loads(result.stdout)["comparisons"]] == ["plain"]


def test_unavailable_backend_is_skipped_in_one_line(spec_file, fast_timing, monkeypatch):
    monkeypatch.setattr(_openvino, "has_module", lambda _name: False)
    result = _bench(str(spec_file), "--backends", "openvino,torch-cpu")
    assert result.exit_code == 0, result.output
    skipped = [line for line in result.stderr.splitlines() if "openvino" in line]
    assert len(skipped) == 1 and "pip install" in skipped[0]
    assert "torch-cpu" in result.stdout


def test_no_available_backend_fails(spec_file, monkeypatch):
    monkeypatch.setattr(_openvino, "has_module", lambda _name: False)
    result = _bench(str(spec_file), "--backends", "openvino")
    assert result.exit_code == 1
    assert "Error:" in result.stderr and "pip install 'gensynth[openvino]'" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--backends", "onnxruntime"], "expected one of: onnxruntime-cpu"),
        (["--backends", ","], "--backends: expected names"),
        (["--batch", "0"], "--batch: expected a positive integer, got '0'"),
        (["--batch", "x"], "--batch: expected a positive integer, got 'x'"),
        (["--batch", "1,-4"], "--batch: expected a positive integer"),
        (["--threads", "0"], "--threads: expected a positive integer"),
        (["--repeats", "2"], "--repeats: expected at least 5"),
    ],
)
def test_bad_input_is_a_usage_error(spec_file, args, message):
    result = _bench(str(spec_file), *args)
    assert result.exit_code == 2
    assert "Error:" in result.stderr and message in result.stderr


def test_model_dir_without_weights_and_missing_paths(model_dir, tmp_path):
    (model_dir / WEIGHTS_FILE).unlink()
    result = _bench(str(model_dir))
    assert result.exit_code == 1 and WEIGHTS_FILE in result.stderr
    missing = _bench(str(tmp_path / "nothing.yaml"))
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
