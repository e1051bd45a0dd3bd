"""``openvino``: Intel's OpenVINO runtime on the CPU, from the ONNX export (optional extra)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.backends._base import (
    BACKENDS,
    Backend,
    Runner,
    RuntimeOptions,
    RuntimeSettings,
    has_module,
    resolve_threads,
)
from gensynth.backends._export import onnx_bytes

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

__all__ = ["OpenVinoBackend"]


class _OpenVinoRunner(Runner):
    def __init__(self, compiled: Any, batch: int, threads: int) -> None:
        self.backend = OpenVinoBackend.name
        self.batch = batch
        self.threads = threads
        self._request = compiled.create_infer_request()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self._request.infer({0: x})
        return self._request.get_output_tensor(0).data.copy()

    def settings(self) -> RuntimeSettings:
        return RuntimeSettings(threads=self.threads, provider="CPU", execution_mode="LATENCY")

    def close(self) -> None:
        self._request = None


@BACKENDS.register("openvino")
class OpenVinoBackend(Backend):
    """OpenVINO on the CPU, compiled for a fixed batch with an explicit thread count."""

    name = "openvino"

    def is_available(self) -> tuple[bool, str]:
        if not has_module("openvino"):
            return (
                False,
                "openvino is not installed (install it: pip install 'gensynth[openvino]')",
            )
        return True, ""

    def prepare(
        self,
        model: nn.Module,
        input_shape: tuple[int, int, int],
        *,
        batch: int,
        threads: int | None,
        options: RuntimeOptions | None = None,  # OpenVINO has neither setting
    ) -> Runner:
        import openvino as ov

        threads = resolve_threads(threads)
        data, _ = onnx_bytes(model, input_shape, dynamic_batch=True)
        core = ov.Core()
        with tempfile.TemporaryDirectory(prefix="gensynth-ov-") as folder:
            onnx_path = Path(folder) / "model.onnx"
            onnx_path.write_bytes(data)
            network = core.read_model(str(onnx_path))
            network.reshape([batch, *input_shape])
            compiled = core.compile_model(
                network, "CPU", {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"}
            )
        return _OpenVinoRunner(compiled, batch, threads)
