"""Backends that run an ONNX file: a torch model is exported in memory, then run as is."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING

from gensynth.backends._base import Backend, Runner, RuntimeOptions
from gensynth.backends._export import onnx_bytes

if TYPE_CHECKING:
    from torch import nn

__all__ = ["OnnxFileBackend"]


class OnnxFileBackend(Backend):
    """A backend whose runners take a serialised ONNX model (FP32 export or INT8 file)."""

    def prepare(
        self,
        model: nn.Module,
        input_shape: tuple[int, int, int],
        *,
        batch: int,
        threads: int | None,
        options: RuntimeOptions | None = None,
    ) -> Runner:
        data, _ = onnx_bytes(model, input_shape, dynamic_batch=True)
        return self.prepare_onnx(data, batch=batch, threads=threads, options=options)

    @abc.abstractmethod
    def prepare_onnx(
        self,
        data: bytes,
        *,
        batch: int,
        threads: int | None,
        options: RuntimeOptions | None = None,
    ) -> Runner:
        """A runner for a serialised ONNX model as it is: no export."""
