"""INT8 benchmark: accuracy kept and speed gained, beside FP32 and ResNet-50 in the same run.

Run: python benchmarks/int8.py --model MODEL_DIR [--work DIR] [--threads 1,2] [--batch 1,64]
     [--parts ort,openvino,variants] [--quick]

1. The model folder is copied into ``--work`` (the original is never written), exported to
   ONNX with its metadata, and quantized by ``gensynth.deploy.export_int8`` (QDQ, per-channel
   int8 weights, uint8 activations, calibrated on at most 256 TRAINING images). FP32 and INT8
   are scored with ONNX Runtime on the TEST split.
2. ResNet-50 at the model's input shape and class count, FP32, and INT8 calibrated on random
   inputs (timing only: its accuracy means nothing).
3. Per thread count and batch, the four models are timed with ``compare_latency`` on
   onnxruntime-cpu: each in its own session, alone, in alternating blocks; every ratio comes
   from the same rounds. Goals (issue 23): INT8 >= 1.8x FP32 at batch 64 with <= 0.3 points
   lost; INT8 >= 40x FP32 ResNet-50 at batch 64.
4. ``--parts variants``: other quantization settings (per-tensor weights, int8 activations,
   QOperator, reduce_range, entropy calibration), each scored on the test split and timed
   beside FP32.
5. ``--parts openvino``: the same FP32 and INT8 (QDQ) files on OpenVINO's CPU plugin, if
   importable: FP32 in f32 (``openvino``), and as the plugin defaults (``openvino-bf16``:
   bf16 inference where the CPU has AMX).

Results: ``benchmarks/results/int8-<machine>.json``, ``int8-openvino-`` and ``int8-variants-``
(``-quick`` with ``--quick``), each written as soon as its part is done.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

from _common import write_results

from gensynth.backends import (
    BACKENDS,
    QuantSettings,
    TimedModel,
    Timing,
    compare_latency,
    quantize_onnx,
    speedup_stats,
)
from gensynth.constraints import count_costs
from gensynth.deploy import export_model_dir
from gensynth.deploy.int8 import export_int8, load_training_data, score_onnx
from gensynth.deploy.int8_bench import random_int8
from gensynth.modeldir import load_model_dir

TIMING = {
    1: Timing(warmup=3, blocks=5, repeats=20, min_time_s=1.0, max_time_s=10.0),
    64: Timing(warmup=2, blocks=5, repeats=5, min_time_s=2.0, max_time_s=15.0),
}
QUICK = Timing(warmup=2, blocks=3, repeats=5, min_time_s=0.2, max_time_s=2.0)
VARIANTS = {
    "per-tensor": QuantSettings(per_channel=False),
    "s8-activations": QuantSettings(activation_type="int8"),
    "qoperator": QuantSettings(format="qoperator"),
    "reduce-range": QuantSettings(reduce_range=True),
    "entropy": QuantSettings(calibration_method="entropy"),
}
GOALS = {"int8_speedup_b64": 1.8, "max_drop_points": 0.3, "vs_resnet50_fp32_b64": 40.0}


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="a trained model folder")
    parser.add_argument("--work", type=Path, default=Path("/tmp/gensynth-int8-bench"))
    parser.add_argument("--data", default=None, help="the training data, if it moved")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--batch", default="1,64")
    parser.add_argument("--parts", default="ort", help="ort,openvino,variants")
    parser.add_argument("--name", default="int8", help="results file prefix")
    parser.add_argument("--quick", action="store_true")
    return parser.parse_args()


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _prepare(args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """The model copied, exported and quantized; its INT8 record."""
    work = args.work / args.model.resolve().name
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(args.model, work)
    export_model_dir(work)
    result = export_int8(work, data=args.data, max_drop=GOALS["max_drop_points"])
    print(f"accuracy: {result.describe()}", flush=True)
    return work, result.record


def _pairs(labels: list[str], results: tuple) -> dict[str, dict[str, Any]]:
    """Every pair's speed-up (row model over column model), from the same rounds."""
    ratios = {}
    for i, first in enumerate(results):
        for j, other in enumerate(results):
            if i != j:
                stats = speedup_stats(first, other, j)
                ratios[f"{labels[i]} vs {labels[j]}"] = {
                    "speedup": stats.speedup,
                    "block_speedups": list(stats.block_speedups),
                    "spread": stats.spread,
                }
    return ratios


def _time(
    items: list[TimedModel],
    backend: str,
    batch: int,
    threads: int,
    quick: bool,
    parity: float | None = 1e-3,
) -> dict:
    timing = QUICK if quick else TIMING.get(batch, TIMING[64])
    started = (os.getloadavg(), time.time())
    measured = compare_latency(
        items,
        backend=backend,
        batch=batch,
        threads=threads,
        parity_tolerance=parity,
        **dataclasses.asdict(timing),
    )
    labels = [item.label for item in items]
    rows = {label: r.to_dict() for label, r in zip(labels, measured.results, strict=True)}
    line = ", ".join(f"{label} {row['median_ms']:.3f}" for label, row in rows.items())
    print(f"{backend} {threads} thr batch {batch}: {line} ms", flush=True)
    return {
        "backend": backend,
        "batch": batch,
        "threads": threads,
        "loadavg_before": list(started[0]),
        "loadavg_after": list(os.getloadavg()),
        "results": rows,
        "ratios": _pairs(labels, measured.results),
        "loaded": measured.loaded,
    }


def _models(work: Path) -> list[TimedModel]:
    """INT8 winner, FP32 winner, FP32 ResNet-50, INT8 ResNet-50 (random calibration)."""
    from gensynth.bench_targets import baseline_model

    loaded = load_model_dir(work)
    spec = loaded.spec
    macs = int(count_costs(spec).macs)
    int8 = (work / "model.int8.onnx").read_bytes()
    base = baseline_model("resnet50", spec)
    base_int8 = random_int8(base)
    return [
        TimedModel(loaded.model, spec.input_shape, macs, "int8", int8),
        TimedModel(loaded.model, spec.input_shape, macs, "fp32"),
        TimedModel(base.module, spec.input_shape, base.macs, "resnet50-fp32"),
        TimedModel(base.module, spec.input_shape, base.macs, "resnet50-int8", base_int8.onnx),
    ]


def _variants(work: Path, args: argparse.Namespace, threads: int) -> dict[str, Any]:
    """Each variant's test accuracy, and its speed beside FP32 at batch 64 and 1."""
    from gensynth.deploy.int8_data import calibration_indices, calibration_inputs

    loaded = load_model_dir(work)
    data = load_training_data(loaded, args.data)
    seed = loaded.metrics.get("seed", 0)
    inputs = calibration_inputs(data, calibration_indices(data, 256, seed), loaded.spec.input_size)
    fp32 = (work / "model.onnx").read_bytes()
    spec, macs = loaded.spec, int(count_costs(loaded.spec).macs)
    items = [TimedModel(loaded.model, spec.input_shape, macs, "fp32")]
    scores: dict[str, Any] = {"fp32": score_onnx(fp32, data, loaded)["accuracy"]}
    default = (work / "model.int8.onnx").read_bytes()
    scores["default"] = score_onnx(default, data, loaded)["accuracy"]
    items.append(TimedModel(loaded.model, spec.input_shape, macs, "default", default))
    for name, settings in VARIANTS.items():
        model = quantize_onnx(fp32, inputs, settings)
        scores[name] = score_onnx(model, data, loaded)["accuracy"]
        items.append(TimedModel(loaded.model, spec.input_shape, macs, name, model))
        print(f"variant {name}: test accuracy {scores[name]:.2f}%", flush=True)
    timings = [_time(items, "onnxruntime-cpu", b, threads, args.quick) for b in _ints(args.batch)]
    return {
        "accuracy": scores,
        "settings": {n: s.to_dict() for n, s in VARIANTS.items()},
        "timings": timings,
    }


@BACKENDS.register("openvino-bf16")
class OpenVinoPluginDefault(BACKENDS.get("openvino")):  # type: ignore[misc]
    """OpenVINO as its CPU plugin defaults: bf16 inference for FP32 models where the CPU has
    AMX (the ``openvino`` backend keeps FP32 in f32)."""

    name = "openvino-bf16"
    properties: ClassVar[dict[str, Any]] = {}


def _goals(record: dict[str, Any], timings: list[dict[str, Any]]) -> dict[str, Any]:
    """Each goal of the issue against what was measured (batch 64 on onnxruntime-cpu)."""
    verdicts: dict[str, Any] = {"drop_points": record["drop_points"]}
    verdicts["drop_ok"] = record["drop_points"] <= GOALS["max_drop_points"]
    for timing in timings:
        if timing["backend"] != "onnxruntime-cpu":
            continue
        key = f"b{timing['batch']}-t{timing['threads']}"
        ratios = timing["ratios"]
        verdicts[key] = {
            "int8_vs_fp32": ratios["int8 vs fp32"]["speedup"],
            "int8_vs_resnet50_fp32": ratios["int8 vs resnet50-fp32"]["speedup"],
            "fp32_vs_resnet50_fp32": ratios["fp32 vs resnet50-fp32"]["speedup"],
            "resnet50_int8_vs_fp32": ratios["resnet50-int8 vs resnet50-fp32"]["speedup"],
        }
        if timing["batch"] == 64:
            verdicts[key]["int8_speedup_ok"] = (
                verdicts[key]["int8_vs_fp32"] >= GOALS["int8_speedup_b64"]
            )
            verdicts[key]["vs_resnet50_ok"] = (
                verdicts[key]["int8_vs_resnet50_fp32"] >= GOALS["vs_resnet50_fp32_b64"]
            )
    return verdicts


def main() -> int:
    args = _args()
    parts = set(args.parts.split(","))
    suffix = "-quick" if args.quick else ""
    name = args.name
    print(f"loadavg at start: {os.getloadavg()}", flush=True)
    work, record = _prepare(args)
    head = {"model": str(args.model), "int8": record, "goals": GOALS}
    if "ort" in parts:
        items = _models(work)
        timings = [
            _time(items, "onnxruntime-cpu", batch, threads, args.quick)
            for threads in _ints(args.threads)
            for batch in _ints(args.batch)
        ]
        verdicts = _goals(record, timings)
        path = write_results(f"{name}{suffix}", {**head, "timings": timings, "verdicts": verdicts})
        print(f"verdicts: {verdicts}\nwrote {path}", flush=True)
    if "openvino" in parts:
        _openvino(work, args, head, f"{name}-openvino{suffix}")
    if "variants" in parts:
        variants = _variants(work, args, max(_ints(args.threads)))
        path = write_results(f"{name}-variants{suffix}", {**head, "variants": variants})
        print(f"wrote {path}", flush=True)
    print(f"loadavg at end: {os.getloadavg()}")
    return 0


def _openvino(work: Path, args: argparse.Namespace, head: dict, name: str) -> None:
    """The same four models on OpenVINO: FP32 in f32 (the ``openvino`` backend), and as the
    plugin defaults (bf16 where the CPU has AMX: its outputs then miss torch's by far more
    than the 1e-3 parity, so parity is recorded here, not enforced)."""
    try:
        import openvino  # noqa: F401
    except ImportError:
        print("openvino is not installed: skipped", flush=True)
        return
    items = _models(work)
    threads = max(_ints(args.threads))
    timings = [
        _time(items, backend, b, threads, args.quick, parity=None)
        for backend in ("openvino", "openvino-bf16")
        for b in _ints(args.batch)
    ]
    path = write_results(name, {**head, "timings": timings})
    print(f"wrote {path}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
