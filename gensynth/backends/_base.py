"""The backend contract: a named runtime that turns a module into a callable runner."""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import importlib.util
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Literal, get_args

from gensynth.errors import BackendUnavailable, ConfigError
from gensynth.registry import Registry

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

__all__ = [
    "BACKENDS",
    "GRAPH_OPTIMIZATIONS",
    "Backend",
    "GraphOptimization",
    "Runner",
    "RuntimeOptions",
    "RuntimeSettings",
    "available_backends",
    "default_threads",
    "eval_mode",
    "get_backend",
    "has_module",
    "list_backends",
    "torch_threads",
]


GraphOptimization = Literal["disabled", "basic", "extended", "all"]
GRAPH_OPTIMIZATIONS: tuple[str, ...] = get_args(GraphOptimization)


@dataclasses.dataclass(frozen=True)
class RuntimeOptions:
    """Runtime settings asked for beyond the thread count; ``None`` keeps the runtime default.

    ``spinning`` is ONNX Runtime's ``session.intra_op.allow_spinning`` (on by default: that is
    how a deployed session runs); ``graph_optimization`` its graph optimisation level. A
    runtime without a setting ignores it, and records ``None`` for it.
    """

    spinning: bool | None = None
    graph_optimization: GraphOptimization = "all"

    def __post_init__(self) -> None:
        if self.spinning is not None and not isinstance(self.spinning, bool):
            raise ConfigError(f"spinning: expected true, false or None, got {self.spinning!r}")
        if self.graph_optimization not in GRAPH_OPTIMIZATIONS:
            raise ConfigError(
                f"graph optimisation: expected one of {', '.join(GRAPH_OPTIMIZATIONS)}, "
                f"got {self.graph_optimization!r}"
            )

    def key(self) -> str:
        """A short, stable text of these options, part of the latency cache key."""
        spin = "default" if self.spinning is None else ("on" if self.spinning else "off")
        return f"spin={spin},graph={self.graph_optimization}"


@dataclasses.dataclass(frozen=True)
class RuntimeSettings:
    """The settings a runner actually ran with, read back from the runtime where it can.

    Recorded beside every figure: a latency means nothing without its thread count,
    spinning, graph optimisation level and execution provider. ``None``: not a setting of
    this runtime.
    """

    threads: int
    spinning: bool | None = None
    graph_optimization: str | None = None
    provider: str | None = None
    inter_op_threads: int | None = None
    execution_mode: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuntimeSettings:
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})

    def describe(self) -> str:
        """One line: ``2 threads, spinning on, graph all, CPUExecutionProvider``."""
        parts = [f"{self.threads} thread{'s' if self.threads != 1 else ''}"]
        if self.spinning is not None:
            parts.append(f"spinning {'on' if self.spinning else 'off'}")
        if self.graph_optimization is not None:
            parts.append(f"graph {self.graph_optimization}")
        if self.provider is not None:
            parts.append(self.provider)
        return ", ".join(parts)


class Runner(abc.ABC):
    """A prepared model on one backend: call it with an NCHW float32 batch, get outputs back.

    A runner may hold process-wide state (torch's thread count); ``close`` gives it back, and a
    runner is a context manager that closes itself.
    """

    backend: str
    batch: int
    threads: int
    device: str = "cpu"

    @abc.abstractmethod
    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Outputs for ``x``, as a NumPy array on the host."""

    def settings(self) -> RuntimeSettings:
        """What this runner runs with; the default knows only the thread count."""
        return RuntimeSettings(threads=self.threads)

    def close(self) -> None:  # noqa: B027 - a hook that does nothing by default
        """Release sessions and restore any global state; the default does nothing."""

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Backend(abc.ABC):
    """A latency backend: says whether it can run here, and prepares a model to be timed."""

    name: ClassVar[str]
    #: True when ``prepare`` exports to ONNX, so outputs are checked against torch.
    uses_onnx: ClassVar[bool] = True

    @abc.abstractmethod
    def is_available(self) -> tuple[bool, str]:
        """``(True, "")``, or ``(False, one line: why not, and the install hint)``."""

    @abc.abstractmethod
    def prepare(
        self,
        model: nn.Module,
        input_shape: tuple[int, int, int],
        *,
        batch: int,
        threads: int | None,
        options: RuntimeOptions | None = None,
    ) -> Runner:
        """A runner for ``model`` at ``batch`` x ``input_shape`` using ``threads`` CPU threads.

        ``options`` (spinning, graph optimisation) apply where the runtime has them.
        """

    def device_name(self) -> str:
        """The device the timings are taken on, as recorded beside them."""
        from gensynth.provenance import machine

        return str(machine()["cpu"])


#: Backend classes by name (``torch-cpu``, ``onnxruntime-cpu``, ...), filled by decorator.
BACKENDS: Registry[type[Backend]] = Registry("backend")


def list_backends() -> list[str]:
    """Every registered backend name, available here or not."""
    return BACKENDS.names()


def available_backends() -> list[str]:
    """The backend names that can run on this machine now."""
    return [name for name, cls in BACKENDS.items() if cls().is_available()[0]]


def get_backend(name: str) -> Backend:
    """The backend named ``name``, ready to use.

    Raises ConfigError for an unknown name (listing the valid ones and the closest) and
    BackendUnavailable, in one line with an install hint, when it cannot run here.
    """
    backend = BACKENDS.get(name)()
    ok, reason = backend.is_available()
    if not ok:
        raise BackendUnavailable(f"backend {name!r} is not available: {reason}")
    return backend


def default_threads() -> int:
    """The thread count used when none is given: the CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def resolve_threads(threads: int | None) -> int:
    """``threads`` checked, or the default; recorded with every measurement."""
    if threads is None:
        return default_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads <= 0:
        raise ConfigError(f"threads: expected a positive integer, got {threads!r}")
    return threads


def check_batch(batch: Any) -> int:
    if isinstance(batch, bool) or not isinstance(batch, int) or batch <= 0:
        raise ConfigError(f"batch: expected a positive integer, got {batch!r}")
    return batch


def has_module(name: str) -> bool:
    """Whether ``name`` can be imported, without importing it."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode for the block, its training flag restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Torch's intra-op thread count set to ``threads`` for the block, then restored.

    Untimed torch work (tracing for export, reference outputs for parity) runs on one thread:
    on a shared, oversubscribed CPU a two-thread eager forward can take 50x longer than a
    one-thread one, because every op waits at a barrier for a descheduled thread.
    """
    import torch

    saved = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(saved)
