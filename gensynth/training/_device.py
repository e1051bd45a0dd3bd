"""Where training runs: ``--device auto|cpu|cuda``, and mixed precision on CUDA only.

``auto`` takes CUDA when torch sees a GPU, else the CPU. On the CPU nothing changes: no
autocast, no scaler, float32 throughout, so the same seed gives the same figures as before
devices existed. On CUDA the forward pass runs under ``torch.autocast`` in bfloat16 where the
GPU supports it (no loss scaling needed), else float16 with a ``GradScaler``.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from gensynth.errors import ConfigError

if TYPE_CHECKING:
    import torch

__all__ = ["CPU", "DEVICES", "Device", "check_device", "resolve_device"]

DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")


@dataclasses.dataclass(frozen=True)
class Device:
    """A resolved training device: the torch device, its name, and the precision used."""

    type: str  # "cpu" or "cuda"
    name: str
    precision: str  # "float32", "bfloat16" or "float16" (autocast on CUDA)

    @property
    def target(self) -> torch.device:
        import torch

        return torch.device(self.type)

    @property
    def amp_dtype(self) -> torch.dtype | None:
        import torch

        return {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(self.precision)

    @contextlib.contextmanager
    def autocast(self) -> Iterator[None]:
        """Mixed precision on CUDA; nothing at all on the CPU."""
        dtype = self.amp_dtype
        if dtype is None:
            yield
            return
        import torch

        with torch.autocast(device_type=self.type, dtype=dtype):
            yield

    def scaler(self) -> Any:
        """A GradScaler for float16 (bfloat16 and float32 need none), or None."""
        if self.precision != "float16":
            return None
        import torch

        return torch.amp.GradScaler(self.type)

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


#: The CPU, in float32: what every run used before devices existed.
CPU = Device("cpu", "cpu", "float32")


def check_device(value: Any, what: str = "device") -> str:
    """``value`` if it is one of :data:`DEVICES`, else a ConfigError."""
    if value not in DEVICES:
        raise ConfigError(
            f"{what}: expected one of {', '.join(DEVICES)}, got {value!r}",
            hint="auto takes CUDA when torch sees a GPU, else the CPU",
        )
    return str(value)


def resolve_device(requested: str = "auto", *, amp: bool = True) -> Device:
    """The device ``requested`` names; ``cuda`` without a GPU torch can use is a ConfigError."""
    import torch

    check_device(requested)
    available = torch.cuda.is_available()
    if requested == "cuda" and not available:
        build = torch.version.cuda
        why = "this torch has no CUDA support" if build is None else "torch sees no CUDA GPU"
        raise ConfigError(
            f"--device cuda: {why} (torch {torch.__version__})",
            hint="use --device auto or cpu, or install a CUDA build of torch on a GPU machine",
        )
    if requested == "cpu" or not available:
        return CPU
    precision = "float32"
    if amp:
        precision = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return Device("cuda", torch.cuda.get_device_name(0), precision)
