"""Timed measurement: each model in its own session, timed alone, in alternating blocks.

The method, the same for one model, a side-by-side comparison and the search's indicator:

1. Each model gets its own runner (on ONNX Runtime its own ``InferenceSession`` and intra-op
   pool, spinning as configured: on by default, as deployed). ``warmup`` untimed calls
   follow; the first output is checked against torch.
2. Blocks are sized from the fastest warm-up call: each model gets at least ``repeats``
   timed calls and ``min_time_s`` of timed calls, capped at ``max_time_s`` (but never fewer
   than ``MIN_REPEATS`` calls, nor one call per block), split evenly over ``blocks`` blocks.
3. Rounds: A, B, A, B, ... Before each block of several models, the process waits until its
   own runtime threads have stopped spinning (the previous model's pool goes to sleep), then
   makes one untimed call (waking the pool and refilling the caches the other model evicted;
   skipped for calls over ``REWARM_MAX_S``), then times the block's calls back to back. So
   each model is timed alone, its pool spinning between its own calls as in deployment, and
   no other session is busy meanwhile. One model's blocks simply follow each other.
4. Per model: the median of the block medians, the p90 over all calls, and the spread between
   blocks; per pair of models, the ratio of medians and the round-by-round ratios.
5. Load is recorded with every figure and flags it (see :mod:`gensynth.backends._load`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from gensynth.backends._base import (
    RuntimeOptions,
    check_batch,
    eval_mode,
    get_backend,
    resolve_threads,
    torch_threads,
)
from gensynth.backends._export import ParityError, check_parity
from gensynth.backends._load import CpuProbe, LoadReport, load_avg, load_reasons, wait_until_idle
from gensynth.backends._result import (
    LatencyComparison,
    LatencyResult,
    speedup_stats,
    summarise,
)
from gensynth.errors import ConfigError
from gensynth.vocabulary import DEFAULT_BACKEND

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

    from gensynth.backends._base import Backend, Runner

__all__ = [
    "FULL_TIMING",
    "MIN_BLOCKS",
    "MIN_REPEATS",
    "REWARM_MAX_S",
    "TimedModel",
    "Timing",
    "compare_latency",
    "measure_interleaved",
    "measure_latency",
]

#: Fewest timed runs a result may rest on, however slow the model.
MIN_REPEATS = 5
#: Fewest blocks per model: a spread needs at least three.
MIN_BLOCKS = 3
#: Above this per call, the untimed re-warm before a block is skipped (it would cost more
#: than the wake-up and cache refill it absorbs could distort).
REWARM_MAX_S = 0.25


@dataclasses.dataclass(frozen=True)
class Timing:
    """How long to time each model: warm-up, blocks, and the per-model call/time targets."""

    warmup: int = 3
    blocks: int = 5
    repeats: int = 20
    min_time_s: float = 1.0
    max_time_s: float = 20.0

    def __post_init__(self) -> None:
        def whole(value: Any) -> bool:
            return isinstance(value, int) and not isinstance(value, bool)

        if not whole(self.warmup) or self.warmup < 1:
            raise ConfigError(f"warmup: expected an integer >= 1, got {self.warmup!r}")
        if not whole(self.blocks) or self.blocks < MIN_BLOCKS:
            raise ConfigError(f"blocks: expected an integer >= {MIN_BLOCKS}, got {self.blocks!r}")
        if not whole(self.repeats) or self.repeats < MIN_REPEATS:
            raise ConfigError(
                f"repeats: expected an integer >= {MIN_REPEATS}, got {self.repeats!r}"
            )
        if not 0 <= self.min_time_s <= self.max_time_s:
            raise ConfigError(
                f"timing window: expected 0 <= min_time_s <= max_time_s, "
                f"got {self.min_time_s!r} and {self.max_time_s!r}"
            )

    def calls_per_block(self, per_call_s: float) -> int:
        """Timed calls in each block for a model whose calls take ``per_call_s``."""
        per_call_s = max(per_call_s, 1e-7)
        wanted = max(self.repeats, math.ceil(self.min_time_s / per_call_s))
        cap = max(MIN_REPEATS, math.floor(self.max_time_s / per_call_s))
        return max(1, math.ceil(min(wanted, cap) / self.blocks))


#: The full method's budget: ``gensynth bench``, finalize and the benchmarks.
FULL_TIMING = Timing()


@dataclasses.dataclass(frozen=True)
class TimedModel:
    """A model to time in :func:`compare_latency`, with its MACs per image if known.

    ``onnx``: a serialised ONNX model to run as it is instead of exporting ``model`` (an INT8
    model, say; on backends with ``prepare_onnx``: ONNX Runtime, OpenVINO). Its difference
    from ``model``'s outputs is recorded as the parity but not held to the tolerance:
    quantization changes the numbers.
    """

    model: nn.Module
    input_shape: tuple[int, int, int]
    macs: int | None = None
    label: str = ""
    onnx: bytes | None = dataclasses.field(default=None, repr=False)


@dataclasses.dataclass
class _Slot:
    """One model's runner, input, parity, block size, and the times of its blocks."""

    runner: Runner
    x: np.ndarray
    parity: float | None
    calls_per_block: int
    rewarm: bool
    blocks: list[list[float]] = dataclasses.field(default_factory=list)


def measure_latency(
    model: nn.Module,
    input_shape: tuple[int, int, int],
    *,
    backend: str = DEFAULT_BACKEND,
    batch: int = 1,
    threads: int | None = None,
    options: RuntimeOptions | None = None,
    macs: int | None = None,
    parity_tolerance: float | None = 1e-3,
    seed: int = 0,
    **timing: Any,
) -> LatencyResult:
    """Latency of ``model`` alone on ``backend`` at ``batch`` x ``input_shape``.

    ``threads`` defaults to the cores this process may use; ``options`` (spinning, graph
    optimisation) to the runtime's deployed defaults. Timing keywords are those of
    :class:`Timing` (``warmup``, ``blocks``, ``repeats``, ``min_time_s``, ``max_time_s``).
    The first warm-up output is compared with torch's; above ``parity_tolerance`` a
    ParityError is raised (``None`` skips the check). ``macs`` per image adds the achieved
    MACs per second. ``seconds_total`` is the wall time of the whole call, export included.
    """
    comparison = compare_latency(
        [TimedModel(model, input_shape, macs)],
        backend=backend,
        batch=batch,
        threads=threads,
        options=options,
        parity_tolerance=parity_tolerance,
        seed=seed,
        **timing,
    )
    return comparison.results[0]


def compare_latency(
    models: Sequence[TimedModel],
    *,
    backend: str = DEFAULT_BACKEND,
    batch: int = 1,
    threads: int | None = None,
    options: RuntimeOptions | None = None,
    parity_tolerance: float | None = 1e-3,
    seed: int = 0,
    **timing: Any,
) -> LatencyComparison:
    """A fair side-by-side: every model in its own session, timed in alternating blocks.

    Returns one result per model, in order, and the first model's speed-up over each other
    one with its round-by-round spread. Arguments are as for :func:`measure_latency`.
    """
    plan = _timing(timing)
    if not models:
        raise ConfigError("compare_latency: expected at least one model, got none")
    start, before = time.perf_counter(), load_avg()
    engine = get_backend(backend)
    batch, threads = check_batch(batch), resolve_threads(threads)
    options = options or RuntimeOptions()
    with contextlib.ExitStack() as stack:
        slots = [
            _prepare(stack, engine, item, batch, threads, options, plan, parity_tolerance, seed)
            for item in models
        ]
        probe = CpuProbe().start()
        waits = run_blocks(slots, plan.blocks)
        others = probe.stop()
        settings = [slot.runner.settings() for slot in slots]
        device = engine.device_name()
    common = {
        "backend": backend,
        "batch": batch,
        "threads": threads,
        "warmup": plan.warmup,
        "seconds_total": time.perf_counter() - start,
        "device": device,
    }
    results = tuple(
        _result(slot, item, setting, before, others, common)
        for slot, item, setting in zip(slots, models, settings, strict=True)
    )
    speedups = tuple(speedup_stats(results[0], r, i) for i, r in enumerate(results) if i)
    return LatencyComparison(
        results, speedups, 1e3 * max(waits, default=0.0), tuple(m.label for m in models)
    )


def measure_interleaved(models: Sequence[TimedModel], **kwargs: Any) -> list[LatencyResult]:
    """The results of :func:`compare_latency` alone, as a list (kept for older callers)."""
    return list(compare_latency(models, **kwargs).results)


def _timing(timing: dict[str, Any]) -> Timing:
    names = {field.name for field in dataclasses.fields(Timing)}
    unknown = sorted(set(timing) - names)
    if unknown:
        raise ConfigError(
            f"timing: expected keywords among {', '.join(sorted(names))}, got {unknown[0]!r}"
        )
    return dataclasses.replace(FULL_TIMING, **timing)


def _prepare(
    stack: contextlib.ExitStack,
    engine: Backend,
    item: TimedModel,
    batch: int,
    threads: int,
    options: RuntimeOptions,
    plan: Timing,
    tolerance: float | None,
    seed: int,
) -> _Slot:
    """A warmed-up runner with its input, parity, and block size from the warm-up times."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *item.input_shape), dtype=np.float32)
    if item.onnx is None:
        prepared = engine.prepare(
            item.model, item.input_shape, batch=batch, threads=threads, options=options
        )
    else:
        prepared = _prepare_onnx(engine, item, batch, threads, options)
        tolerance = None
    runner = stack.enter_context(prepared)
    tick = time.perf_counter()
    first = runner(x)
    per_call = time.perf_counter() - tick
    parity = _parity(item.model, x, first, tolerance, engine.name) if engine.uses_onnx else None
    for _ in range(plan.warmup - 1):
        tick = time.perf_counter()
        runner(x)
        per_call = min(per_call, time.perf_counter() - tick)
    return _Slot(runner, x, parity, plan.calls_per_block(per_call), per_call <= REWARM_MAX_S)


def _prepare_onnx(
    engine: Backend, item: TimedModel, batch: int, threads: int, options: RuntimeOptions
) -> Runner:
    """A runner for ``item``'s own ONNX model, on a backend that runs ONNX files as they are
    (ONNX Runtime, OpenVINO)."""
    prepare_onnx = getattr(engine, "prepare_onnx", None)
    if prepare_onnx is None or item.onnx is None:
        raise ConfigError(
            f"{item.label or 'the model'} is an ONNX model (INT8): expected a backend that "
            f"runs ONNX files (onnxruntime-cpu, openvino), got {engine.name!r}",
            hint="time it with --backends onnxruntime-cpu",
        )
    runner: Runner = prepare_onnx(item.onnx, batch=batch, threads=threads, options=options)
    return runner


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


def run_blocks(
    slots: list[_Slot],
    blocks: int,
    *,
    clock: Callable[[], float] | None = None,
    idle: Callable[[], float] | None = None,
) -> list[float]:
    """Time ``blocks`` rounds of one block per slot (see the module docstring, step 3).

    Returns the seconds spent waiting for idle runtime threads before each block.
    """
    clock = clock or time.perf_counter
    idle = idle or wait_until_idle
    waits = []
    alone = len(slots) == 1
    for _ in range(blocks):
        for slot in slots:
            if not alone:
                waits.append(idle())
                if slot.rewarm:
                    slot.runner(slot.x)
            times = []
            for _ in range(slot.calls_per_block):
                tick = clock()
                slot.runner(slot.x)
                times.append(clock() - tick)
            slot.blocks.append(times)
    return waits


def _result(
    slot: _Slot,
    item: TimedModel,
    settings: Any,
    before: tuple[float, float, float],
    others: float | None,
    common: dict[str, Any],
) -> LatencyResult:
    result = summarise(
        slot.blocks, parity_max_abs_diff=slot.parity, macs=item.macs, settings=settings, **common
    )
    cores = os.cpu_count() or 1  # load average and /proc/stat count the whole machine
    reasons = load_reasons(
        before=before, others_cpu=others, spread=result.block_spread, cores=cores
    )
    load = LoadReport(before, load_avg(), others, cores, reasons)
    return dataclasses.replace(result, load=load)
