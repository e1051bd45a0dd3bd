"""INT8 for a model folder: calibrate on training images, measure on the test split, record.

:func:`export_int8` quantizes ``model.onnx`` by ONNX Runtime's static quantization
(:func:`gensynth.backends.quantize_onnx`: QDQ, per-channel int8 weights, uint8 activations),
calibrated on at most :data:`DEFAULT_CALIBRATION` images of the TRAINING split of the data
the model was trained on (metrics.json's ``data`` names it; the fingerprint must match). It
then scores the FP32 and the INT8 ONNX models with ONNX Runtime on the held-out TEST split,
with the training's own evaluation (``gensynth.training.evaluate``), and records both in
metrics.json under ``int8``.

A drop of more than ``max_drop`` points (:data:`DEFAULT_MAX_DROP`) is a negative verdict:
``model.int8.onnx`` is kept, so it can be inspected, but metrics.json marks it
``passed: false`` and ``predict --int8`` refuses it; ``gensynth export --int8`` exits with 3.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gensynth.deploy.int8_data import (
    calibration_indices,
    calibration_inputs,
    check_calibration,
    check_fingerprint,
    load_training_data,
    training_source,
)
from gensynth.deploy.int8_status import Int8Rejected
from gensynth.deploy.predict import INT8_ONNX_FILE
from gensynth.errors import ConfigError, DataError
from gensynth.paths import write_atomically
from gensynth.vocabulary import ONNX_FILE

if TYPE_CHECKING:
    from torch import nn

    from gensynth.backends import QuantSettings
    from gensynth.data import DefectDataset
    from gensynth.modeldir import LoadedModel

__all__ = [
    "DEFAULT_CALIBRATION",
    "DEFAULT_MAX_DROP",
    "INT8_KEY",
    "Int8Rejected",
    "Int8Result",
    "agreement",
    "calibration_indices",
    "check_int8_options",
    "check_int8_passed",
    "export_int8",
    "int8_verdict",
    "load_training_data",
    "score_onnx",
    "training_source",
]

#: Most points of test accuracy (mIoU for segmentation) INT8 may lose against FP32 (both
#: on ONNX Runtime) and still pass. One point: on a test split of a few hundred images one
#: image is worth 0.3-0.5 points, so a tighter default would fail on noise alone.
DEFAULT_MAX_DROP = 1.0
#: Training images that calibrate the activation ranges (stratified over classes). MinMax
#: ranges settle within a few hundred images; more only costs time.
DEFAULT_CALIBRATION = 256
#: The metrics.json key of the record.
INT8_KEY = "int8"
Step = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class Int8Result:
    """What :func:`export_int8` measured and wrote: both scores, the drop and the verdict."""

    path: Path
    metric: str
    fp32: float
    int8: float
    max_drop: float
    test_count: int
    calibration: dict[str, Any]
    settings: QuantSettings
    record: dict[str, Any]

    @property
    def drop(self) -> float:
        """Points lost from FP32 to INT8 (negative: INT8 scored higher)."""
        return self.fp32 - self.int8

    @property
    def passed(self) -> bool:
        return bool(self.record["passed"])

    def describe(self) -> str:
        """One line: both scores, the drop against the threshold, and the test count."""
        name = "accuracy" if self.metric == "accuracy" else "mIoU"
        return (
            f"test {name} FP32 {self.fp32:.2f}% -> INT8 {self.int8:.2f}% "
            f"({_signed_drop(self.drop)}, threshold {self.max_drop:g}) on {self.test_count} "
            f"test images; calibrated on {self.calibration['images']} training images"
        )


def _signed_drop(drop: float) -> str:
    return f"{drop:.2f} points lost" if drop >= 0 else f"{-drop:.2f} points gained"


def int8_verdict(fp32: float, int8: float, max_drop: float) -> tuple[float, bool]:
    """``(drop in points, passed)``: INT8 passes when it loses at most ``max_drop`` points."""
    drop = float(fp32) - float(int8)
    return drop, drop <= max_drop + 1e-9


def check_max_drop(max_drop: Any) -> float:
    """``max_drop`` as a finite number of points, else a ConfigError."""
    if isinstance(max_drop, bool) or not isinstance(max_drop, (int, float)):
        raise ConfigError(f"--int8-max-drop: expected a number of points, got {max_drop!r}")
    if not math.isfinite(max_drop):
        raise ConfigError(f"--int8-max-drop: expected a finite number of points, got {max_drop}")
    return float(max_drop)


def check_int8_options(
    loaded: LoadedModel,
    onnx: Path | None,
    data: str | Path | None,
    max_drop: Any,
    calibration: Any,
) -> None:
    """Every INT8 setting checked before anything is written (export runs first)."""
    check_max_drop(max_drop)
    check_calibration(calibration)
    training_source(loaded, data)


def _ort_module(data: bytes, threads: int | None, keep: list[np.ndarray] | None) -> nn.Module:
    """An ONNX model as a torch module, so the training's own evaluation can score it."""
    import onnxruntime as ort
    import torch

    from gensynth.backends import resolve_threads

    options = ort.SessionOptions()
    options.intra_op_num_threads = resolve_threads(threads)
    options.log_severity_level = 3
    session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    class OnnxModule(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            array = np.ascontiguousarray(x.detach().cpu().numpy(), dtype=np.float32)
            output = session.run(None, {name: array})[0]
            if keep is not None:
                keep.append(output)
            return torch.from_numpy(output)

    return OnnxModule()


def score_onnx(
    onnx: bytes,
    data: DefectDataset,
    loaded: LoadedModel,
    threads: int | None = None,
    outputs: list[np.ndarray] | None = None,
) -> dict[str, Any]:
    """Test-split metrics of a serialised ONNX model of ``loaded``, on ONNX Runtime's CPU
    provider, by the training's own evaluation (same preprocessing, same metrics).
    ``outputs`` collects the raw outputs, batch by batch, in the order evaluated."""
    from gensynth.training import evaluate

    seed = loaded.metrics.get("seed", 0)
    return evaluate(
        _ort_module(onnx, threads, outputs),
        data,
        task=loaded.spec.task,
        split="test",
        input_size=loaded.spec.input_size,
        seed=seed if isinstance(seed, int) else 0,
    )


def agreement(fp32: list[np.ndarray], int8: list[np.ndarray], task: str) -> dict[str, Any] | None:
    """How often INT8 decides as FP32 did on the same inputs: the predicted class per image
    (classification) or the defect decision per pixel at p = 0.5 (segmentation), in percent,
    with the count of images whose decision changed."""
    if not fp32 or len(fp32) != len(int8):
        return None
    a, b = np.concatenate(fp32), np.concatenate(int8)
    if a.shape != b.shape:
        return None
    same = a.argmax(axis=1) == b.argmax(axis=1) if task == "classify" else (a > 0) == (b > 0)
    per_image = same.reshape(len(same), -1).all(axis=1)
    return {
        "unit": "image class" if task == "classify" else "pixel decision at p=0.5",
        "percent": float(100.0 * same.mean()),
        "images_changed": int((~per_image).sum()),
        "images": len(per_image),
    }


def export_int8(
    model_dir: Path,
    *,
    onnx: Path | None = None,
    data: str | Path | None = None,
    dataset: DefectDataset | None = None,
    max_drop: float = DEFAULT_MAX_DROP,
    calibration: int = DEFAULT_CALIBRATION,
    settings: QuantSettings | None = None,
    threads: int | None = None,
    on_step: Step | None = None,
) -> Int8Result:
    """Quantize ``model_dir/model.onnx`` to ``model.int8.onnx``, score both on the test
    split, and record the result in metrics.json (see the module docstring).

    ``onnx`` is the FP32 model (default ``MODEL_DIR/model.onnx``); it must exist
    (``gensynth export MODEL_DIR`` writes it, with its metadata), and the INT8 one is written
    beside it as ``model.int8.onnx`` in the model folder. ``dataset`` is the training data
    already in memory (explore's), else it is loaded from ``data`` or metrics.json's source.
    A drop past ``max_drop`` is recorded and returned (``passed`` False), not raised:
    :func:`check_int8_passed` turns it into the caller's negative verdict.
    """
    from gensynth.backends import QuantSettings, quantize_onnx, quantized_op_counts
    from gensynth.modeldir import load_model_dir
    from gensynth.training import primary_metric

    step = on_step or (lambda _: None)
    max_drop = check_max_drop(max_drop)
    settings = settings or QuantSettings()
    started = time.perf_counter()
    loaded = load_model_dir(Path(model_dir))
    check_calibration(calibration)
    fp32_path = Path(onnx) if onnx is not None else loaded.path / ONNX_FILE
    if not fp32_path.is_file():
        raise DataError(
            f"model folder {str(loaded.path)!r} has no {ONNX_FILE} to quantize",
            hint=f"export it first: gensynth export {loaded.path} --int8",
        )
    if dataset is None:
        step("Loading the training data")
        dataset = load_training_data(loaded, data)
    else:
        check_fingerprint(loaded, dataset, "the data given")
    seed = loaded.metrics.get("seed", 0)
    indices = calibration_indices(dataset, calibration, seed if isinstance(seed, int) else 0)
    inputs = calibration_inputs(dataset, indices, loaded.spec.input_size)
    step(f"Quantizing on {len(indices)} training images")
    fp32 = fp32_path.read_bytes()
    int8 = quantize_onnx(fp32, inputs, settings)
    metric = primary_metric(loaded.spec.task)
    step("Scoring FP32 and INT8 on the test split")
    fp32_out: list[np.ndarray] = []
    int8_out: list[np.ndarray] = []
    fp32_metrics = score_onnx(fp32, dataset, loaded, threads, fp32_out)
    int8_metrics = score_onnx(int8, dataset, loaded, threads, int8_out)
    fp32_score, int8_score = float(fp32_metrics[metric]), float(int8_metrics[metric])
    drop, passed = int8_verdict(fp32_score, int8_score, max_drop)
    target = loaded.path / INT8_ONNX_FILE
    write_atomically(target, int8)
    calib = {
        "split": "train",
        "images": len(indices),
        "requested": calibration,
        "train_images": len(dataset.indices("train")),
        "seed": seed,
        "indices_sha256": hashlib.sha256(np.asarray(indices, np.int64).tobytes()).hexdigest()[:16],
        "data_fingerprint": dataset.fingerprint,
    }
    record = _record(
        loaded, metric, fp32_metrics, int8_metrics, drop, passed, max_drop, calib, settings
    )
    record["agreement"] = agreement(fp32_out, int8_out, loaded.spec.task)
    record["ops"] = quantized_op_counts(int8)
    record["bytes"] = {"fp32": len(fp32), "int8": len(int8)}
    record["seconds"] = round(time.perf_counter() - started, 2)
    _save(loaded, record)
    return Int8Result(
        path=target,
        metric=metric,
        fp32=fp32_score,
        int8=int8_score,
        max_drop=max_drop,
        test_count=int(fp32_metrics.get("count", len(dataset.indices("test")))),
        calibration=calib,
        settings=settings,
        record=record,
    )


def _summary(metrics: dict[str, Any], metric: str) -> dict[str, Any]:
    """The scores of one model worth keeping beside the other's (not the full confusion)."""
    keys = (metric, "macro_f1", "per_class", "count") if metric == "accuracy" else (
        metric, "dice", "pixel_accuracy", "per_class", "count"
    )  # fmt: skip
    return {key: metrics[key] for key in keys if key in metrics}


def _record(
    loaded: LoadedModel,
    metric: str,
    fp32: dict[str, Any],
    int8: dict[str, Any],
    drop: float,
    passed: bool,
    max_drop: float,
    calibration: dict[str, Any],
    settings: QuantSettings,
) -> dict[str, Any]:
    import onnxruntime

    from gensynth.provenance import stamp

    torch_test = (loaded.metrics.get("test") or {}).get(metric)
    return {
        "file": INT8_ONNX_FILE,
        "metric": metric,
        "split": "test",
        "test_count": int(fp32.get("count", 0)),
        "fp32": float(fp32[metric]),
        "int8": float(int8[metric]),
        "torch_fp32": torch_test,
        "drop_points": drop,
        "max_drop_points": max_drop,
        "passed": passed,
        "verdict": (
            f"passed: INT8 lost {drop:.2f} points <= {max_drop:g}"
            if passed
            else f"failed: INT8 lost {drop:.2f} points > {max_drop:g}; do not deploy it"
        ),
        "fp32_metrics": _summary(fp32, metric),
        "int8_metrics": _summary(int8, metric),
        "runtime": f"onnxruntime {onnxruntime.__version__} CPUExecutionProvider",
        "calibration": calibration,
        "quantization": {**settings.to_dict(), "description": settings.describe()},
        "created": stamp()["created"],
    }


def _save(loaded: LoadedModel, record: dict[str, Any]) -> None:
    """metrics.json re-read and rewritten with ``int8`` (only through write_metrics)."""
    import json

    from gensynth.modeldir import write_metrics
    from gensynth.vocabulary import METRICS_FILE

    path = loaded.path / METRICS_FILE
    try:
        current = json.loads(path.read_text()) if path.is_file() else dict(loaded.metrics)
    except json.JSONDecodeError:
        raise DataError(f"{path} is not valid JSON") from None
    current[INT8_KEY] = record
    write_metrics(loaded.path, current)


def check_int8_passed(result: Int8Result) -> None:
    """Nothing when the INT8 model passed; otherwise the negative verdict as a GensynthError
    with exit code 3 (the file is kept and marked failed in metrics.json)."""
    if result.passed:
        return
    raise Int8Rejected(
        f"INT8 rejected: {result.describe()}; {result.path.name} is kept but marked failed "
        f"in metrics.json",
        hint="deploy model.onnx (FP32), or retry with more --int8-calibration images or a "
        "looser --int8-max-drop if the drop is acceptable",
    )
