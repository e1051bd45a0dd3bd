"""``openvino``: Intel's OpenVINO runtime on the CPU, from the ONNX export (optional extra)."""

from __future__ import annotations

import tempfile
from pathlib import Path
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

__all__ = ["OpenVinoBackend"]


class _OpenVinoRunner(Runner):
    def __init__(self, compiled: Any, batch: int, threads: int) -> None:
        self.backend = OpenVinoBackend.name
        self.batch = batch
        self.threads = threads
        self._request = compiled.create_infer_request()
        try:  # what the plugin chose: bf16 on CPUs with AMX, unless f32 is asked for
            value = compiled.get_property("INFERENCE_PRECISION_HINT")
            self.precision = str(getattr(value, "to_string", lambda: value)())
        except Exception:
            self.precision = "unknown"

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self._request.infer({0: x})
        return self._request.get_output_tensor(0).data.copy()

    def settings(self) -> RuntimeSettings:
        return RuntimeSettings(
            threads=self.threads, provider=f"CPU ({self.precision})", execution_mode="LATENCY"
        )

    def close(self) -> None:
        self._request = None


@BACKENDS.register("openvino")
class OpenVinoBackend(OnnxFileBackend):
    """OpenVINO on the CPU, compiled for a fixed batch with an explicit thread count."""

    name = "openvino"
    #: Compile properties beyond threads and the latency hint. FP32 stays FP32: on CPUs with
    #: AMX or AVX-512 BF16, OpenVINO otherwise runs FP32 models in bf16 (measured on a Xeon
    #: with AMX: 3-5x faster, but 0.18 off torch's logits, failing the 1e-3 parity check).
    #: An INT8 (QDQ) model still runs in INT8.
    properties: ClassVar[dict[str, Any]] = {"INFERENCE_PRECISION_HINT": "f32"}

    def is_available(self) -> tuple[bool, str]:
        if not has_module("openvino"):
            return (
                False,
                "openvino is not installed (install it: pip install 'gensynth[openvino]')",
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
        """A runner for a serialised ONNX model as it is (an INT8 QDQ one runs in INT8)."""
        import openvino as ov

        threads = resolve_threads(threads)
        core = ov.Core()
        with tempfile.TemporaryDirectory(prefix="gensynth-ov-") as folder:
            onnx_path = Path(folder) / "model.onnx"
            onnx_path.write_bytes(data)
            network = core.read_model(str(onnx_path))
            shape = network.input(0).get_partial_shape()
            shape[0] = batch
            network.reshape(shape)
            compiled = core.compile_model(
                network,
                "CPU",
                {
                    "INFERENCE_NUM_THREADS": threads,
                    "PERFORMANCE_HINT": "LATENCY",
                    **self.properties,
                },
            )
        return _OpenVinoRunner(compiled, batch, threads)
