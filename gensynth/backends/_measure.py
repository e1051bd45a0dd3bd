"""Timed measurement on a backend: warm-up, repeated runs, median, p90 and a noise figure.

The method: prepare the backend (export included), run ``warmup`` untimed calls, the first of
which is checked against torch, then time calls with ``time.perf_counter`` in rounds. Each
round gives every model one untimed call (to re-warm the caches the others evicted; skipped
for calls longer than the burst) and then a burst of timed calls lasting about ``burst_s``.
A model is done once it has ``repeats`` timed calls and ``min_time_s`` of timed calls (fast
nets get many runs, so their median is stable), or ``max_time_s`` and at least
``MIN_REPEATS`` calls (slow nets at large batches). Several models measured together
alternate round by round, so a baseline and a candidate see the same load on a shared CPU.
Thread counts are set explicitly and recorded.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import statistics
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gensynth.backends._base import (
    check_batch,
    eval_mode,
    get_backend,
    resolve_threads,
    torch_threads,
)
from gensynth.backends._export import ParityError, check_parity
from gensynth.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from gensynth.backends._base import Backend, Runner

__all__ = ["MIN_REPEATS", "LatencyResult", "TimedModel", "measure_interleaved", "measure_latency"]

#: Fewest timed runs a result may rest on, however slow the model.
MIN_REPEATS = 5


@dataclasses.dataclass(frozen=True)
class LatencyResult:
    """One measurement: per-batch latency statistics and how they were taken.

    ``cv`` is the coefficient of variation (standard deviation / mean) of the timed runs: a
    few percent is a quiet machine; above ~0.2 the figures are noisy (shared CPU) and the
    median should be read with care. ``macs`` (per image) enables the efficiency figures.
    """

    backend: str
    batch: int
    threads: int
    median_ms: float
    p90_ms: float
    mean_ms: float
    min_ms: float
    cv: float
    repeats: int
    warmup: int
    parity_max_abs_diff: float | None
    seconds_total: float
    device: str = "cpu"
    macs: int | None = None

    @property
    def per_image_ms(self) -> float:
        return self.median_ms / self.batch

    @property
    def images_per_s(self) -> float:
        return 1e3 * self.batch / self.median_ms

    @property
    def macs_per_s(self) -> float | None:
        """Achieved compute throughput (MACs per second at the median), if MACs are known."""
        return None if self.macs is None else self.macs * self.images_per_s

    @property
    def gmacs_per_s(self) -> float | None:
        rate = self.macs_per_s
        return None if rate is None else rate / 1e9

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        for name in ("per_image_ms", "images_per_s", "gmacs_per_s"):
            data[name] = getattr(self, name)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LatencyResult:
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in names})


@dataclasses.dataclass(frozen=True)
class TimedModel:
    """A model to time in :func:`measure_interleaved`, with its MACs per image if known."""

    model: nn.Module
    input_shape: tuple[int, int, int]
    macs: int | None = None


@dataclasses.dataclass
class _Slot:
    runner: Runner
    x: np.ndarray
    parity: float | None
    burst: int
    rewarm: bool
    times: list[float] = dataclasses.field(default_factory=list)

    @property
    def spent(self) -> float:
        return sum(self.times)


def measure_latency(
    model: nn.Module,
    input_shape: tuple[int, int, int],
    *,
    backend: str = "onnxruntime-cpu",
    batch: int = 1,
    threads: int | None = None,
    warmup: int = 3,
    repeats: int = 20,
    min_time_s: float = 0.5,
    max_time_s: float = 20.0,
    macs: int | None = None,
    parity_tolerance: float | None = 1e-3,
    seed: int = 0,
) -> LatencyResult:
    """Median and p90 latency of ``model`` on ``backend`` at ``batch`` x ``input_shape``.

    ``threads`` defaults to the cores this process may use. The first warm-up output is
    compared with torch's; above ``parity_tolerance`` a ParityError is raised (``None`` skips
    the check). ``macs`` per image, when given, adds the achieved MACs per second.
    ``seconds_total`` is the wall time of the whole call, export included.
    """
    (result,) = measure_interleaved(
        [TimedModel(model, input_shape, macs)],
        backend=backend,
        batch=batch,
        threads=threads,
        warmup=warmup,
        repeats=repeats,
        min_time_s=min_time_s,
        max_time_s=max_time_s,
        parity_tolerance=parity_tolerance,
        seed=seed,
    )
    return result


def measure_interleaved(
    models: Sequence[TimedModel],
    *,
    backend: str = "onnxruntime-cpu",
    batch: int = 1,
    threads: int | None = None,
    warmup: int = 3,
    repeats: int = 20,
    min_time_s: float = 0.5,
    max_time_s: float = 20.0,
    parity_tolerance: float | None = 1e-3,
    seed: int = 0,
    burst_s: float = 0.05,
) -> list[LatencyResult]:
    """Latency of several models timed in alternating rounds, one result per model, in order.

    Use it to compare models (a candidate and its baseline): on a shared machine the load
    drifts over minutes, and timing them one after the other would compare different loads.
    Arguments are as for :func:`measure_latency` and apply to each model; ``seconds_total``
    of every result is the wall time of the whole call.
    """
    _check_counts(warmup, repeats, min_time_s, max_time_s)
    start = time.perf_counter()
    engine = get_backend(backend)
    batch, threads = check_batch(batch), resolve_threads(threads)
    with contextlib.ExitStack() as stack:
        slots = [
            _prepare(stack, engine, item, batch, threads, warmup, parity_tolerance, seed, burst_s)
            for item in models
        ]
        _rounds(slots, repeats=repeats, min_time_s=min_time_s, max_time_s=max_time_s)
        device = engine.device_name()
    seconds = time.perf_counter() - start
    return [
        _summarise(
            slot.times,
            backend=backend,
            batch=batch,
            threads=threads,
            warmup=warmup,
            parity=slot.parity,
            seconds=seconds,
            device=device,
            macs=item.macs,
        )
        for slot, item in zip(slots, models, strict=True)
    ]


def _prepare(
    stack: contextlib.ExitStack,
    engine: Backend,
    item: TimedModel,
    batch: int,
    threads: int,
    warmup: int,
    tolerance: float | None,
    seed: int,
    burst_s: float,
) -> _Slot:
    """A warmed-up runner with its input, parity, and burst length from the warm-up times."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *item.input_shape), dtype=np.float32)
    runner = stack.enter_context(
        engine.prepare(item.model, item.input_shape, batch=batch, threads=threads)
    )
    tick = time.perf_counter()
    first = runner(x)
    per_call = time.perf_counter() - tick
    parity = _parity(item.model, x, first, tolerance, engine.name) if engine.uses_onnx else None
    for _ in range(warmup - 1):
        tick = time.perf_counter()
        runner(x)
        per_call = min(per_call, time.perf_counter() - tick)
    burst = max(1, math.ceil(burst_s / max(per_call, 1e-7)))
    return _Slot(runner, x, parity, burst=burst, rewarm=burst > 1)


def _parity(
    model: nn.Module, x: np.ndarray, output: np.ndarray, tolerance: float | None, backend: str
) -> float:
    """The max |torch - backend| on ``x``; a ParityError above ``tolerance``."""
    import torch

    with eval_mode(model), torch_threads(1), torch.inference_mode():
        parity = check_parity(model(torch.from_numpy(x)).numpy(), output)
    if tolerance is not None and parity > tolerance:
        raise ParityError(parity, tolerance, where=f" on {backend}")
    return parity


def _rounds(slots: list[_Slot], *, repeats: int, min_time_s: float, max_time_s: float) -> None:
    """Time every slot round by round until each is done (see the module docstring)."""

    def done(slot: _Slot) -> bool:
        count, spent = len(slot.times), slot.spent
        return (count >= repeats and spent >= min_time_s) or (
            spent >= max_time_s and count >= MIN_REPEATS
        )

    clock = time.perf_counter
    while not all(done(slot) for slot in slots):
        for slot in slots:
            if slot.rewarm:
                slot.runner(slot.x)
            for _ in range(slot.burst):
                tick = clock()
                slot.runner(slot.x)
                slot.times.append(clock() - tick)


def _summarise(times: list[float], **fields: Any) -> LatencyResult:
    ms = sorted(t * 1e3 for t in times)
    mean = statistics.fmean(ms)
    stdev = statistics.stdev(ms) if len(ms) > 1 else 0.0
    return LatencyResult(
        backend=fields["backend"],
        batch=fields["batch"],
        threads=fields["threads"],
        median_ms=statistics.median(ms),
        p90_ms=_percentile(ms, 0.9),
        mean_ms=mean,
        min_ms=ms[0],
        cv=stdev / mean if mean > 0 else 0.0,
        repeats=len(ms),
        warmup=fields["warmup"],
        parity_max_abs_diff=fields["parity"],
        seconds_total=fields["seconds"],
        device=fields["device"],
        macs=fields["macs"],
    )


def _percentile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated percentile of already sorted values (NumPy's default method)."""
    position = q * (len(sorted_values) - 1)
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def _check_counts(warmup: int, repeats: int, min_time_s: float, max_time_s: float) -> None:
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 1:
        raise ConfigError(f"warmup: expected an integer >= 1, got {warmup!r}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < MIN_REPEATS:
        raise ConfigError(f"repeats: expected an integer >= {MIN_REPEATS}, got {repeats!r}")
    if not 0 <= min_time_s <= max_time_s:
        raise ConfigError(
            f"timing window: expected 0 <= min_time_s <= max_time_s, "
            f"got {min_time_s!r} and {max_time_s!r}"
        )
