"""Latency backends: a registry of runtimes, export, parity, and timed measurement.

Importing this package imports neither torch nor onnxruntime; they load when used.
"""

from __future__ import annotations

# Each backend module registers itself in BACKENDS on import.
from gensynth.backends import _onnxruntime, _openvino, _torch  # noqa: F401
from gensynth.backends._base import (
    BACKENDS,
    Backend,
    Runner,
    available_backends,
    default_threads,
    get_backend,
    list_backends,
)
from gensynth.backends._cache import LatencyCache, cache_dir
from gensynth.backends._efficiency import efficiency_ratio, spec_macs, speedup
from gensynth.backends._export import (
    ExportError,
    ExportReport,
    ParityError,
    export_onnx,
    onnx_bytes,
)
from gensynth.backends._measure import (
    LatencyResult,
    TimedModel,
    measure_interleaved,
    measure_latency,
)

__all__ = [
    "BACKENDS",
    "Backend",
    "ExportError",
    "ExportReport",
    "LatencyCache",
    "LatencyResult",
    "ParityError",
    "Runner",
    "TimedModel",
    "available_backends",
    "cache_dir",
    "default_threads",
    "efficiency_ratio",
    "export_onnx",
    "get_backend",
    "list_backends",
    "measure_interleaved",
    "measure_latency",
    "onnx_bytes",
    "spec_macs",
    "speedup",
]
