"""INT8 of a model folder: ``export --int8``, its record in metrics.json, the verdict,
``bench --int8``, ``explore --int8``'s options, and bad input (one line each)."""

from __future__ import annotations

import json
import shutil
import types
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from gensynth.backends import quantized_op_counts, run_bench
from gensynth.bench_targets import baseline_model, load_bench_model
from gensynth.cli.main import app
from gensynth.data import load_dataset
from gensynth.deploy import int8 as int8_module
from gensynth.deploy.int8 import (
    Int8Rejected,
    calibration_indices,
    check_int8_passed,
    export_int8,
    int8_verdict,
)
from gensynth.deploy.int8_bench import int8_bench_models
from gensynth.errors import ConfigError, DataError
from gensynth.modeldir import METRICS_FILE, ONNX_FILE
from gensynth.prototypes import spec_from_dict
from gensynth.search.study_spec import ExploreOptions, resolve_options
from gensynth.training import TrainConfig, train_to_dir

runner = CliRunner()
SIZE = 32
INT8 = "model.int8.onnx"
FAST = {"warmup": 1, "blocks": 3, "repeats": 5, "min_time_s": 0.0, "max_time_s": 0.2}


def _spec():
    return spec_from_dict(
        {
            "prototype": "residual",
            "in_channels": 1,
            "input_size": SIZE,
            "num_classes": 3,
            "stem": {"width": 8, "kernel": 3, "stride": 1, "pool": False},
            "stages": [
                {"block": "basic", "width": 8, "depth": 1, "stride": 2, "kernel": 3},
                {"block": "basic", "width": 16, "depth": 1, "stride": 2, "kernel": 3},
            ],
            "act": "relu",
        }
    )


def _write_folder(root: Path, per_class: int = 20, seed: int = 0) -> Path:
    """A generic-cls folder: 3 classes of noise with a bright square whose side is the class."""
    rng = np.random.default_rng(seed)
    for label, name in enumerate(("a", "b", "c")):
        (root / name).mkdir(parents=True)
        side = 5 + 5 * label
        for n in range(per_class):
            image = rng.integers(20, 70, (SIZE, SIZE)).astype(np.uint8)
            y, x = rng.integers(1, SIZE - side - 1, 2)
            image[y : y + side, x : x + side] = 230
            Image.fromarray(image).save(root / name / f"{n}.png")
    return root


@pytest.fixture(scope="module", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENSYNTH_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write_folder(tmp_path_factory.mktemp("data") / "toy")


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, data_root: Path) -> Path:
    """A tiny classifier trained for 3 epochs on ``data_root``; no ONNX file yet."""
    torch.set_num_threads(1)
    data = load_dataset(data_root, task="classify", input_size=SIZE)
    out = tmp_path_factory.mktemp("models") / "tiny"
    config = TrainConfig.for_task("classify", epochs=3, batch_size=8, threads=1)
    train_to_dir(_spec(), data, config, out, data_source=str(data_root))
    return out


@pytest.fixture()
def model_dir(trained: Path, tmp_path: Path) -> Path:
    """A fresh copy of the trained folder for one test."""
    return Path(shutil.copytree(trained, tmp_path / "model"))


@pytest.fixture(scope="module")
def exported(trained: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the trained folder after ``gensynth export --int8`` (threshold 100 points)."""
    folder = Path(shutil.copytree(trained, tmp_path_factory.mktemp("exported") / "model"))
    result = runner.invoke(app, ["export", str(folder), "--int8", "--int8-max-drop", "100"])
    assert result.exit_code == 0, result.output
    return folder


def _metrics(folder: Path) -> dict:
    return json.loads((folder / METRICS_FILE).read_text())


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


# --- export --int8 -------------------------------------------------------------------------


def test_export_int8_writes_fp32_then_a_qdq_int8_model(exported):
    assert (exported / ONNX_FILE).is_file()  # exported first, as part of export --int8
    ops = quantized_op_counts((exported / INT8).read_bytes())
    assert ops["QuantizeLinear"] > 0 and ops["DequantizeLinear"] > 0


def test_metrics_hold_both_test_scores_and_the_settings(exported, data_root):
    record = _metrics(exported)["int8"]
    data = load_dataset(data_root, task="classify", input_size=SIZE)
    tests = len(data.indices("test"))
    assert record["metric"] == "accuracy" and record["split"] == "test"
    assert record["test_count"] == tests == record["int8_metrics"]["count"]
    for key in ("fp32", "int8"):
        assert 0 <= record[key] <= 100
    assert record["drop_points"] == pytest.approx(record["fp32"] - record["int8"])
    assert record["passed"] is True and record["max_drop_points"] == 100
    # ONNX Runtime FP32 scores what torch scored at training, to within one image
    assert abs(record["fp32"] - record["torch_fp32"]) <= 100 / tests + 1e-6
    assert record["agreement"]["images"] == tests
    assert 0 <= record["agreement"]["percent"] <= 100
    quant = record["quantization"]
    assert quant["format"] == "qdq" and quant["per_channel"] is True
    calibration = record["calibration"]
    assert calibration["split"] == "train"
    assert calibration["images"] == calibration["train_images"] == len(data.indices("train"))
    assert calibration["data_fingerprint"] == data.fingerprint


def test_export_int8_prints_both_scores(model_dir):
    result = runner.invoke(app, ["export", str(model_dir), "--int8", "--int8-max-drop", "100"])
    assert result.exit_code == 0, result.output
    text = result.stdout.replace("\n", " ")
    assert "FP32" in text and "INT8" in text and "test images" in text
    assert "calibrated on" in text and "training images" in text


def test_export_int8_json_holds_the_record(model_dir):
    args = ["export", str(model_dir), "--int8", "--int8-max-drop", "100", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["int8"]["passed"] is True and data["max_abs_diff"] < 1e-4


def test_calibration_reads_the_train_split_only(model_dir, monkeypatch):
    seen = []
    real = int8_module.calibration_indices

    def spy(data, count, seed=0):
        picked = real(data, count, seed)
        seen.append((data, picked))
        return picked

    monkeypatch.setattr(int8_module, "calibration_indices", spy)
    runner.invoke(app, ["export", str(model_dir)])
    export_int8(model_dir, max_drop=100, calibration=10)
    ((data, picked),) = seen
    assert len(picked) == 10
    assert np.all(data.split[picked] == 0)  # 0: train
    assert set(picked) <= set(data.indices("train"))
    assert not set(picked) & set(data.indices("test"))


def test_calibration_indices_keep_every_class(data_root):
    data = load_dataset(data_root, task="classify", input_size=SIZE)
    picked = calibration_indices(data, 9, seed=1)
    assert sorted(np.bincount(data.labels[picked])) == [3, 3, 3]
    assert np.array_equal(calibration_indices(data, 10_000), data.indices("train"))
    assert np.array_equal(calibration_indices(data, 9, seed=1), picked)  # seeded


def test_agreement_counts_changed_decisions():
    from gensynth.deploy.int8 import agreement

    fp32 = [np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([[1.0, 0.0]])]
    int8 = [np.array([[2.0, 1.5], [2.0, 1.0]]), np.array([[1.0, 0.5]])]
    found = agreement(fp32, int8, "classify")
    assert found["images_changed"] == 1 and found["percent"] == pytest.approx(200 / 3)
    masks = agreement([np.full((2, 1, 2, 2), 1.0)], [np.full((2, 1, 2, 2), -1.0)], "segment")
    assert masks["percent"] == 0 and masks["images_changed"] == 2
    assert agreement([], [], "classify") is None


# --- the verdict ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fp32", "int8", "max_drop", "passed"),
    [(90.0, 89.5, 1.0, True), (90.0, 89.0, 1.0, True), (90.0, 88.9, 1.0, False),
     (90.0, 91.0, 0.0, True), (90.0, 90.0, -1.0, False)],
)  # fmt: skip
def test_verdict(fp32, int8, max_drop, passed):
    drop, ok = int8_verdict(fp32, int8, max_drop)
    assert drop == pytest.approx(fp32 - int8) and ok is passed


def test_a_drop_over_the_threshold_is_a_negative_verdict_and_the_file_is_kept(model_dir):
    result = runner.invoke(app, ["export", str(model_dir), "--int8", "--int8-max-drop", "-1"])
    assert result.exit_code == 3, result.output
    errors = [line for line in _lines(result.stderr) if line.startswith("Error:")]
    assert len(errors) == 1 and "INT8 rejected" in errors[0] and "threshold -1" in errors[0]
    assert (model_dir / INT8).is_file()
    record = _metrics(model_dir)["int8"]
    assert record["passed"] is False and record["verdict"].startswith("failed")
    # predict refuses the failed INT8 model, and still runs FP32
    image = next((Path(_metrics(model_dir)["data"]["source"]) / "a").iterdir())
    refused = runner.invoke(app, ["predict", str(model_dir), str(image), "--int8"])
    assert refused.exit_code == 3 and "failed its accuracy check" in refused.stderr
    assert runner.invoke(app, ["predict", str(model_dir), str(image)]).exit_code == 0


def test_a_mocked_drop_fails_the_default_threshold(model_dir, monkeypatch):
    runner.invoke(app, ["export", str(model_dir)])
    real = int8_module.score_onnx
    calls = []

    def worse(onnx, data, loaded, threads, outputs=None):
        metrics = dict(real(onnx, data, loaded, threads, outputs))
        calls.append(1)
        if len(calls) == 2:  # the INT8 model is scored second
            metrics["accuracy"] = metrics["accuracy"] - 5.0
        return metrics

    monkeypatch.setattr(int8_module, "score_onnx", worse)
    result = export_int8(model_dir)
    assert result.drop == pytest.approx(5.0) and not result.passed
    with pytest.raises(Int8Rejected, match=r"5\.00 points lost") as caught:
        check_int8_passed(result)
    assert caught.value.exit_code == 3
    assert _metrics(model_dir)["int8"]["passed"] is False


# --- bad input -----------------------------------------------------------------------------


def _one_error(result, code: int, *words: str) -> str:
    assert result.exit_code == code, result.output
    errors = [line for line in _lines(result.stderr) if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    text = " ".join(result.stderr.split())
    for word in words:
        assert word in text, text
    return text


def test_unreachable_data_is_one_line_and_nothing_is_written(model_dir, tmp_path):
    metrics = _metrics(model_dir)
    metrics["data"]["source"] = str(tmp_path / "moved-away")
    (model_dir / METRICS_FILE).write_text(json.dumps(metrics))
    result = runner.invoke(app, ["export", str(model_dir), "--int8"])
    _one_error(result, 1, "not reachable", "--data")
    assert not (model_dir / ONNX_FILE).exists() and not (model_dir / INT8).exists()


def test_data_moved_is_found_with_data(model_dir, data_root, tmp_path):
    moved = Path(shutil.copytree(data_root, tmp_path / "moved"))
    metrics = _metrics(model_dir)
    metrics["data"]["source"] = str(tmp_path / "gone")
    (model_dir / METRICS_FILE).write_text(json.dumps(metrics))
    args = ["export", str(model_dir), "--int8", "--data", str(moved), "--int8-max-drop", "100"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (model_dir / INT8).is_file()


def test_other_data_is_refused_by_its_fingerprint(model_dir, tmp_path):
    other = _write_folder(tmp_path / "other", per_class=25, seed=3)
    result = runner.invoke(app, ["export", str(model_dir), "--int8", "--data", str(other)])
    _one_error(result, 1, "not the data", "fingerprint")
    assert not (model_dir / INT8).exists()


def test_python_api_needs_the_fp32_onnx_first(model_dir):
    with pytest.raises(DataError, match=r"no model\.onnx") as caught:
        export_int8(model_dir)
    assert "gensynth export" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("args", "word"),
    [(["--int8-calibration", "0"], "--int8-calibration"),
     (["--int8-max-drop", "nan"], "--int8-max-drop")],
)  # fmt: skip
def test_bad_int8_options_are_usage_errors(model_dir, args, word):
    result = runner.invoke(app, ["export", str(model_dir), "--int8", *args])
    _one_error(result, 2, word)
    assert not (model_dir / ONNX_FILE).exists()


# --- bench --int8 --------------------------------------------------------------------------


def test_bench_times_int8_first_beside_fp32_and_the_baseline(exported):
    model = load_bench_model(exported)
    models = int8_bench_models([model, baseline_model("plain", model.spec)], exported)
    assert [m.precision for m in models] == ["int8", "fp32", "fp32", "int8"]
    assert models[3].label.endswith("int8 (random calib.)")
    report = run_bench(models, ["onnxruntime-cpu"], [2], threads=1, timing=FAST)
    assert [row.label for row in report.rows] == [m.label for m in models]
    assert all(row.result.backend == "onnxruntime-cpu" for row in report.rows)
    # every other row is compared with the INT8 model, from the same alternating blocks
    assert [c.baseline for c in report.comparisons] == [m.label for m in models[1:]]
    assert report.to_dict()["models"][0]["precision"] == "int8"


def test_bench_cli_shows_an_int8_row(exported, monkeypatch):
    from gensynth.backends import _bench, _measure

    real = _measure.compare_latency
    monkeypatch.setattr(_bench, "compare_latency", lambda *a, **k: real(*a, **{**k, **FAST}))
    args = ["bench", str(exported), "--int8", "--threads", "1", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    labels = [row["model"] for row in data["results"]]
    assert labels == ["model int8", "model"]
    assert data["comparisons"][0]["baseline"] == "model"


def test_openvino_runs_the_int8_file_too(exported):
    pytest.importorskip("openvino", reason="openvino is an optional extra")
    model = load_bench_model(exported)
    models = int8_bench_models([model], exported)
    report = run_bench(models, ["openvino"], [2], threads=1, timing=FAST)
    assert [row.label for row in report.rows] == ["model int8", "model"]
    fp32 = report.rows[1].result
    assert fp32.parity_max_abs_diff is not None and fp32.parity_max_abs_diff < 1e-3  # f32
    assert "f32" in (fp32.settings.provider or "")


def test_bench_int8_on_another_backend_is_one_line(exported):
    result = runner.invoke(app, ["bench", str(exported), "--int8", "--backends", "torch-cpu"])
    _one_error(result, 2, "onnxruntime-cpu or openvino only")


def test_bench_int8_without_the_int8_file_says_how_to_make_it(model_dir):
    result = runner.invoke(app, ["bench", str(model_dir), "--int8"])
    _one_error(result, 1, INT8, "export", "--int8")


# --- explore --int8 ------------------------------------------------------------------------


def test_explore_int8_options_resolve_and_refuse_misfits():
    spec = resolve_options(ExploreOptions(int8=True, int8_max_drop=0.5))
    assert spec.int8 is True and spec.int8_max_drop == 0.5
    assert resolve_options(ExploreOptions()).int8 is False
    with pytest.raises(ConfigError, match="onnxruntime-cpu only"):
        resolve_options(ExploreOptions(int8=True, latency="2ms", backend="torch-cpu"))
    with pytest.raises(ConfigError, match="--int8-max-drop"):
        resolve_options(ExploreOptions(int8_max_drop=0.5))


def test_explore_quantizes_the_winner_with_the_search_data(model_dir, data_root, monkeypatch):
    import importlib

    import gensynth.backends

    real = gensynth.backends.compare_latency
    monkeypatch.setattr(
        gensynth.backends, "compare_latency", lambda *a, **k: real(*a, **{**k, **FAST})
    )
    explore_module = importlib.import_module("gensynth.exploration")

    runner.invoke(app, ["export", str(model_dir)])
    data = load_dataset(data_root, task="classify", input_size=SIZE)
    spec = types.SimpleNamespace(int8_max_drop=100.0, threads=1, batch=2)
    session = types.SimpleNamespace(data=data, spec=spec)
    final = types.SimpleNamespace(model_dir=model_dir, metrics={})
    stages = []
    events = types.SimpleNamespace(stage=lambda name, total=None: stages.append(name))
    explore_module._int8(session, final, events)  # type: ignore[arg-type]
    assert final.metrics["int8"]["passed"] is True
    record = _metrics(model_dir)["int8"]
    assert record["calibration"]["data_fingerprint"] == data.fingerprint
    latency = record["latency"]  # INT8 timed beside FP32 at the search's batch and threads
    assert latency["batch"] == 2 and latency["threads"] == 1
    assert latency["int8_median_ms"] > 0 and latency["speedup"] > 0
    assert final.metrics["int8"]["latency"] == latency
    assert stages and "INT8" in stages[0]


def test_int8_record_survives_a_second_export(exported, tmp_path):
    folder = Path(shutil.copytree(exported, tmp_path / "again"))
    result = runner.invoke(app, ["export", str(folder)])
    assert result.exit_code == 0, result.output
    assert "int8" in _metrics(folder)  # a plain export leaves the INT8 record alone


@pytest.mark.slow
def test_explore_int8_end_to_end(tmp_path, data_root):
    from gensynth.exploration import explore

    options = ExploreOptions(
        data=str(data_root), flops="2M", tolerance="10%", trials=1, epochs=1, final_epochs=0,
        input_size=SIZE, storage=f"sqlite:///{tmp_path}/studies.db", out=str(tmp_path / "out"),
        timeout="off", study="tiny-int8", int8=True, int8_max_drop=100.0,
    )  # fmt: skip
    result = explore(resolve_options(options), baseline=False)
    best = tmp_path / "out" / "best"
    assert (best / INT8).is_file()
    record = _metrics(best)["int8"]
    assert record["passed"] is True and record["calibration"]["split"] == "train"
    assert result.final is not None and result.final.metrics["int8"] == record


def test_explore_cli_turns_a_failed_int8_into_exit_3():
    from gensynth.cli.explore import _int8_verdict

    record = {"file": INT8, "verdict": "failed: ...", "passed": False, "drop_points": 2.5,
              "fp32": 90.0, "int8": 87.5, "max_drop_points": 1.0}  # fmt: skip
    failed = types.SimpleNamespace(final=types.SimpleNamespace(metrics={"int8": record}))
    with pytest.raises(Int8Rejected, match=r"lost 2\.50 test points") as caught:
        _int8_verdict(failed, quiet=True)
    assert caught.value.exit_code == 3
    passed = types.SimpleNamespace(
        final=types.SimpleNamespace(metrics={"int8": {**record, "passed": True}})
    )
    _int8_verdict(passed, quiet=True)
    _int8_verdict(types.SimpleNamespace(final=None), quiet=True)  # no --int8: nothing to say


def test_segmentation_int8_is_scored_by_miou(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "seg"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for label, name in enumerate(("patches", "scratches")):
        for n in range(12):
            image = rng.integers(20, 70, (SIZE, SIZE)).astype(np.uint8)
            mask = np.zeros((SIZE, SIZE), np.uint8)
            side = 6 + 4 * label
            y, x = rng.integers(1, SIZE - side - 1, 2)
            image[y : y + side, x : x + side], mask[y : y + side, x : x + side] = 230, 255
            Image.fromarray(image).save(root / "images" / f"{name}_{n}.png")
            Image.fromarray(mask).save(root / "masks" / f"{name}_{n}.png")
    spec = spec_from_dict(
        {
            "prototype": "residual-unet", "in_channels": 1, "input_size": SIZE,
            "num_classes": 1, "stem": None,
            "encoder": [
                {"width": 8, "blocks": ["light"], "down": "none"},
                {"width": 16, "blocks": ["light"], "down": "maxpool"},
            ],
            "decoder": [{"width": 8, "blocks": ["light"], "up": "bilinear", "skip": True}],
            "head_width": None, "residual": True, "act": "relu",
        }
    )  # fmt: skip
    data = load_dataset(root, task="segment", input_size=SIZE)
    out = tmp_path / "unet"
    config = TrainConfig.for_task("segment", epochs=2, batch_size=8, threads=1)
    train_to_dir(spec, data, config, out, data_source=str(root))
    result = runner.invoke(app, ["export", str(out), "--int8", "--int8-max-drop", "100"])
    assert result.exit_code == 0, result.output
    assert "test mIoU FP32" in result.stdout.replace("\n", " ")
    record = _metrics(out)["int8"]
    assert record["metric"] == "miou" and record["test_count"] == len(data.indices("test"))
    assert record["agreement"]["unit"].startswith("pixel")
    assert "dice" in record["int8_metrics"]
