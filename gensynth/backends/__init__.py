"""Latency backends: a registry of runtimes, export, parity, and timed measurement.

Every figure comes from one method (:func:`measure_latency`, :func:`compare_latency`): each
model in its own session, timed alone in alternating blocks, with its runtime settings and
the machine's load recorded. :func:`predict_latency_ms` is a fitted cost model for pruning.

Importing this package imports neither torch nor onnxruntime; they load when used.
"""

from __future__ import annotations

# Each backend module registers itself in BACKENDS on import.
from gensynth.backends import _onnxruntime, _openvino, _torch  # noqa: F401
from gensynth.backends._base import (
    BACKENDS,
    Backend,
    Runner,
    RuntimeOptions,
    RuntimeSettings,
    available_backends,
    check_batch,
    default_threads,
    get_backend,
    list_backends,
    resolve_threads,
)
from gensynth.backends._bench import BenchModel, BenchReport, BenchRow, Comparison, run_bench
from gensynth.backends._cache import LatencyCache, cache_dir
from gensynth.backends._efficiency import efficiency_ratio, speedup
from gensynth.backends._export import (
    ExportError,
    ExportReport,
    ParityError,
    export_onnx,
    onnx_bytes,
)
from gensynth.backends._fresh import FreshModel, compare_latency_fresh
from gensynth.backends._latency_model import (
    BlockRate,
    LatencyModel,
    fit_latency_model,
    latency_model_path,
    load_latency_model,
    predict_latency_ms,
    width_alignment,
)
from gensynth.backends._load import OTHERS_CPU_LIMIT, SPREAD_LIMIT, LoadReport
from gensynth.backends._measure import (
    FULL_TIMING,
    MIN_REPEATS,
    TimedModel,
    Timing,
    compare_latency,
    measure_interleaved,
    measure_latency,
)
from gensynth.backends._quantize import (
    QuantizeError,
    QuantSettings,
    quantize_onnx,
    quantized_op_counts,
)
from gensynth.backends._result import (
    LatencyComparison,
    LatencyResult,
    SpeedupStats,
    speedup_stats,
)

__all__ = [
    "BACKENDS",
    "FULL_TIMING",
    "MIN_REPEATS",
    "OTHERS_CPU_LIMIT",
    "SPREAD_LIMIT",
    "Backend",
    "BenchModel",
    "BenchReport",
    "BenchRow",
    "BlockRate",
    "Comparison",
    "ExportError",
    "ExportReport",
    "FreshModel",
    "LatencyCache",
    "LatencyComparison",
    "LatencyModel",
    "LatencyResult",
    "LoadReport",
    "ParityError",
    "QuantSettings",
    "QuantizeError",
    "Runner",
    "RuntimeOptions",
    "RuntimeSettings",
    "SpeedupStats",
    "TimedModel",
    "Timing",
    "available_backends",
    "cache_dir",
    "check_batch",
    "compare_latency",
    "compare_latency_fresh",
    "default_threads",
    "efficiency_ratio",
    "export_onnx",
    "fit_latency_model",
    "get_backend",
    "latency_model_path",
    "list_backends",
    "load_latency_model",
    "measure_interleaved",
    "measure_latency",
    "onnx_bytes",
    "predict_latency_ms",
    "quantize_onnx",
    "quantized_op_counts",
    "resolve_threads",
    "run_bench",
    "speedup",
    "speedup_stats",
    "width_alignment",
]
