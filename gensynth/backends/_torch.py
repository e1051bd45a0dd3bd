"""``torch-cpu``: the model as built, run eagerly by PyTorch in inference mode."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gensynth.backends._base import BACKENDS, Backend, Runner, RuntimeOptions, resolve_threads

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

__all__ = ["TorchCpuBackend"]


class _TorchRunner(Runner):
    """Runs the module with ``threads`` intra-op threads; ``close`` restores torch's setting."""

    def __init__(self, model: nn.Module, batch: int, threads: int) -> None:
        import torch

        self.backend = TorchCpuBackend.name
        self.batch = batch
        self.threads = threads
        self._model = model
        self._was_training = model.training
        self._saved_threads = torch.get_num_threads()
        model.eval()
        torch.set_num_threads(threads)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        import torch

        # Someone may have changed the global between calls; setting it is cheap when equal.
        if torch.get_num_threads() != self.threads:
            torch.set_num_threads(self.threads)
        with torch.inference_mode():
            return self._model(torch.from_numpy(x)).numpy()

    def close(self) -> None:
        import torch

        torch.set_num_threads(self._saved_threads)
        self._model.train(self._was_training)


@BACKENDS.register("torch-cpu")
class TorchCpuBackend(Backend):
    """Eager PyTorch on the CPU: the reference every other backend is checked against."""

    name = "torch-cpu"
    uses_onnx = False

    def is_available(self) -> tuple[bool, str]:
        return True, ""  # torch is a hard dependency of gensynth

    def prepare(
        self,
        model: nn.Module,
        input_shape: tuple[int, int, int],
        *,
        batch: int,
        threads: int | None,
        options: RuntimeOptions | None = None,  # eager torch has neither setting
    ) -> Runner:
        return _TorchRunner(model, batch, resolve_threads(threads))
