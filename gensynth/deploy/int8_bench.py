"""INT8 rows for ``gensynth bench``: the model's ``model.int8.onnx`` and INT8 baselines.

With INT8 the model compared is the INT8 one: it comes first, so every other row (the FP32
model, the FP32 baselines, the INT8 baselines) says how many times faster INT8 is than it,
from the same alternating blocks. A baseline's INT8 model is calibrated on random inputs:
good for timing only (its accuracy means nothing), and labelled so.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gensynth.deploy.predict import INT8_ONNX_FILE
from gensynth.errors import ConfigError, DataError

if TYPE_CHECKING:
    from gensynth.backends import BenchModel, QuantSettings

__all__ = [
    "INT8_BACKEND",
    "INT8_BACKENDS",
    "RANDOM_CALIBRATION",
    "check_int8_backends",
    "int8_bench_models",
    "random_int8",
    "time_int8",
]

#: The default backend INT8 models are timed on, and the backends that run them as INT8:
#: ONNX Runtime's CPU provider, and OpenVINO (it reads the QDQ file and runs it in INT8).
INT8_BACKEND = "onnxruntime-cpu"
INT8_BACKENDS = ("onnxruntime-cpu", "openvino")
#: Random calibration inputs for models without data (baselines, specs): timing only.
RANDOM_CALIBRATION = 8


def check_int8_backends(backends: list[str]) -> None:
    """INT8 runs on ONNX Runtime's CPU provider or OpenVINO: any other backend is a usage
    error."""
    others = [name for name in backends if name not in INT8_BACKENDS]
    if others:
        raise ConfigError(
            f"--int8 times INT8 models on {' or '.join(INT8_BACKENDS)} only, got --backends "
            f"{','.join(backends)}",
            hint=f"pass --backends {INT8_BACKEND} with --int8 (or leave --backends out)",
        )


def random_int8(model: BenchModel, settings: QuantSettings | None = None) -> BenchModel:
    """``model`` quantized on random inputs in [-1, 1] (the input range): timing only."""
    from gensynth.backends import onnx_bytes, quantize_onnx

    data, _ = onnx_bytes(model.module, model.spec.input_shape)
    rng = np.random.default_rng(0)
    inputs = rng.uniform(-1, 1, (RANDOM_CALIBRATION, *model.spec.input_shape))
    int8 = quantize_onnx(data, inputs.astype(np.float32), settings)
    return dataclasses.replace(
        model, label=f"{model.label} int8 (random calib.)", onnx=int8, precision="int8"
    )


def _folder_int8(model: BenchModel, target: Path) -> BenchModel:
    """The model folder's own INT8 file (``gensynth export --int8``) as a bench model."""
    path = target / INT8_ONNX_FILE
    if not path.is_file():
        raise DataError(
            f"model folder {str(target)!r} has no {INT8_ONNX_FILE}",
            hint=f"make it first: gensynth export {target} --int8",
        )
    return dataclasses.replace(
        model, label=f"{model.label} int8", onnx=path.read_bytes(), precision="int8"
    )


def int8_bench_models(
    models: list[BenchModel], target: Path, *, baselines: bool = True
) -> list[BenchModel]:
    """``[model INT8, model FP32, FP32 baselines..., INT8 baselines...]`` for run_bench.

    ``models`` is bench's list (the model first, then its baselines); ``target`` the model
    folder (its ``model.int8.onnx``) or a spec file (quantized on random inputs).
    ``baselines`` adds each baseline's INT8 model, calibrated on random inputs.
    """
    first, others = models[0], models[1:]
    int8 = _folder_int8(first, target) if Path(target).is_dir() else random_int8(first)
    extra = [random_int8(m) for m in others] if baselines else []
    return [int8, first, *others, *extra]


def time_int8(
    model_dir: Path,
    *,
    batch: int = 1,
    threads: int | None = None,
    timing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The folder's INT8 and FP32 models timed side by side on onnxruntime-cpu (alternating
    blocks, as ``gensynth bench``), and written into metrics.json's ``int8.latency``."""
    from gensynth.backends import TimedModel, compare_latency
    from gensynth.bench_targets import load_bench_model
    from gensynth.deploy.int8_status import int8_record
    from gensynth.modeldir import write_metrics
    from gensynth.vocabulary import METRICS_FILE

    int8, fp32 = int8_bench_models([load_bench_model(Path(model_dir))], Path(model_dir))
    items = [
        TimedModel(m.module, m.spec.input_shape, m.macs, m.label, m.onnx) for m in (int8, fp32)
    ]
    measured = compare_latency(
        items, backend=INT8_BACKEND, batch=batch, threads=threads, **(timing or {})
    )
    first, second = measured.results
    latency = {
        "backend": INT8_BACKEND,
        "batch": batch,
        "threads": first.threads,
        "int8_median_ms": first.median_ms,
        "fp32_median_ms": second.median_ms,
        "speedup": measured.speedups[0].speedup,
        "block_speedups": list(measured.speedups[0].block_speedups),
        "loaded": measured.loaded,
        "load_avg": list(first.load.load_avg_before) if first.load else None,
    }
    metrics = json.loads((Path(model_dir) / METRICS_FILE).read_text())
    if int8_record(Path(model_dir)) is not None:
        metrics["int8"]["latency"] = latency
        write_metrics(Path(model_dir), metrics)
    return latency
