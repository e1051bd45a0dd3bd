"""ONNX Runtime backends: the CPU provider, and the CUDA and TensorRT execution providers.

Runners take and return host NumPy arrays, so GPU timings include the copies to and from the
device: the latency an application calling the model from Python sees.

Sessions run as deployed: one intra-op pool of ``threads`` threads, sequential execution, all
graph optimisations, and intra-op spinning left at ONNX Runtime's default (on) unless asked
otherwise. The settings recorded with a figure are read back from the session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from gensynth.backends._base import (
    BACKENDS,
    Runner,
    RuntimeOptions,
    RuntimeSettings,
    has_module,
    resolve_threads,
)
from gensynth.backends._onnx_file import OnnxFileBackend

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "SPINNING_KEY",
    "OnnxRuntimeBackend",
    "OnnxRuntimeCpuBackend",
    "OnnxRuntimeCudaBackend",
    "TensorRtBackend",
]

#: The session config entry that lets intra-op threads spin after a run (ONNX Runtime: "1").
SPINNING_KEY = "session.intra_op.allow_spinning"
_GRAPH_LEVELS = {
    "disabled": "ORT_DISABLE_ALL",
    "basic": "ORT_ENABLE_BASIC",
    "extended": "ORT_ENABLE_EXTENDED",
    "all": "ORT_ENABLE_ALL",
}


class _SessionRunner(Runner):
    """One ``InferenceSession`` with a fixed thread count, fed one NumPy batch per call."""

    def __init__(self, session: Any, backend: str, batch: int, threads: int, device: str) -> None:
        self.backend = backend
        self.batch = batch
        self.threads = threads
        self.device = device
        self._session = session
        self._input = session.get_inputs()[0].name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input: x})[0]

    def settings(self) -> RuntimeSettings:
        return session_settings(self._session)

    def close(self) -> None:
        self._session = None


def session_settings(session: Any) -> RuntimeSettings:
    """The settings an ``InferenceSession`` runs with, read back from the session itself."""
    options = session.get_session_options()
    try:
        spinning = options.get_session_config_entry(SPINNING_KEY) != "0"
    except RuntimeError:  # not set: ONNX Runtime's default, which spins
        spinning = True
    level = str(options.graph_optimization_level).rsplit(".", 1)[-1]
    names = {value: key for key, value in _GRAPH_LEVELS.items()}
    return RuntimeSettings(
        threads=options.intra_op_num_threads,
        spinning=spinning,
        graph_optimization=names.get(level, level),
        provider=",".join(session.get_providers()),
        inter_op_threads=options.inter_op_num_threads,
        execution_mode=str(options.execution_mode).rsplit(".", 1)[-1],
    )


def session_options(threads: int, options: RuntimeOptions) -> Any:
    """``SessionOptions`` for one deployed-like session: ``threads`` intra-op, sequential."""
    import onnxruntime as ort

    settings = ort.SessionOptions()
    settings.intra_op_num_threads = threads
    settings.inter_op_num_threads = 1
    settings.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    level = _GRAPH_LEVELS[options.graph_optimization]
    settings.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
    settings.log_severity_level = 3
    if options.spinning is not None:
        settings.add_session_config_entry(SPINNING_KEY, "1" if options.spinning else "0")
    return settings


class OnnxRuntimeBackend(OnnxFileBackend):
    """Exports to ONNX in memory and runs it with one ONNX Runtime execution provider."""

    provider: ClassVar[str]
    install_hint: ClassVar[str]
    device: ClassVar[str] = "cpu"

    def is_available(self) -> tuple[bool, str]:
        if not has_module("onnxruntime"):
            return False, f"onnxruntime is not installed (install it: {self.install_hint})"
        import onnxruntime as ort

        if self.provider not in ort.get_available_providers():
            return False, (
                f"ONNX Runtime {ort.__version__} has no {self.provider} "
                f"(install it: {self.install_hint})"
            )
        return True, ""

    def prepare_onnx(
        self,
        data: bytes,
        *,
        batch: int,
        threads: int | None,
        options: RuntimeOptions | None = None,
    ) -> Runner:
        """A runner for a serialised ONNX model as it is (an INT8 one, say): no export."""
        import onnxruntime as ort

        threads = resolve_threads(threads)
        settings = session_options(threads, options or RuntimeOptions())
        providers = (
            [self.provider]
            if self.provider == "CPUExecutionProvider"
            else [self.provider, "CPUExecutionProvider"]
        )
        session = ort.InferenceSession(data, settings, providers=providers)
        return _SessionRunner(session, self.name, batch, threads, self.device)


@BACKENDS.register("onnxruntime-cpu")
class OnnxRuntimeCpuBackend(OnnxRuntimeBackend):
    """ONNX Runtime's default CPU execution provider."""

    name = "onnxruntime-cpu"
    provider = "CPUExecutionProvider"
    install_hint = "pip install onnxruntime"


class _GpuMixin:
    def device_name(self) -> str:
        return _gpu_name()


@BACKENDS.register("onnxruntime-cuda")
class OnnxRuntimeCudaBackend(_GpuMixin, OnnxRuntimeBackend):
    """ONNX Runtime's CUDA execution provider (needs onnxruntime-gpu and an NVIDIA GPU)."""

    name = "onnxruntime-cuda"
    provider = "CUDAExecutionProvider"
    install_hint = "pip uninstall onnxruntime && pip install onnxruntime-gpu, on an NVIDIA GPU"
    device = "cuda"


@BACKENDS.register("tensorrt")
class TensorRtBackend(_GpuMixin, OnnxRuntimeBackend):
    """TensorRT through ONNX Runtime's TensorRT execution provider; CUDA takes what it lacks."""

    name = "tensorrt"
    provider = "TensorrtExecutionProvider"
    install_hint = "pip install onnxruntime-gpu tensorrt, on an NVIDIA GPU"
    device = "cuda"


def _gpu_name() -> str:
    """The first CUDA device's name as nvidia-smi reports it, or ``"cuda"``."""
    import shutil
    import subprocess

    if shutil.which("nvidia-smi") is None:
        return "cuda"
    try:
        result = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "cuda"
    lines = result.stdout.strip().splitlines()
    return lines[0].strip() if result.returncode == 0 and lines else "cuda"
