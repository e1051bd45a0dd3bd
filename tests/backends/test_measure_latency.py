"""Timed measurement: the block method's structure, recorded settings, statistics, bad input.

No test asserts a timing figure: fake runners on a fake clock check the arithmetic, and real
runs check only what is recorded and how the calls were arranged.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from backend_helpers import FAST, TINY_SHAPE, tiny_cnn

from gensynth.backends import (
    LatencyResult,
    ParityError,
    Runner,
    RuntimeOptions,
    TimedModel,
    _measure,
    _onnxruntime,
    compare_latency,
    measure_interleaved,
    measure_latency,
)
from gensynth.backends._measure import MIN_REPEATS, Timing, run_blocks
from gensynth.errors import ConfigError


@pytest.mark.parametrize("backend", ["torch-cpu", "onnxruntime-cpu"])
def test_result_is_sane_and_records_how_it_was_taken(backend):
    result = measure_latency(
        tiny_cnn(), TINY_SHAPE, backend=backend, batch=2, threads=1, macs=1000, **FAST
    )
    assert 0 < result.min_ms <= result.median_ms <= result.p90_ms
    assert (result.backend, result.batch, result.threads) == (backend, 2, 1)
    assert len(result.block_medians_ms) == FAST["blocks"] and result.block_spread >= 0
    assert min(result.block_medians_ms) <= result.median_ms <= max(result.block_medians_ms)
    assert result.repeats >= FAST["repeats"] and result.warmup == FAST["warmup"]
    assert result.cv >= 0 and result.seconds_total > 0
    assert result.per_image_ms == pytest.approx(result.median_ms / 2)
    assert result.images_per_s == pytest.approx(2000 / result.median_ms)
    assert result.gmacs_per_s == pytest.approx(1000 * result.images_per_s / 1e9)
    assert result.settings is not None and result.settings.threads == 1
    assert result.load is not None and len(result.load.load_avg_before) == 3
    assert result.loaded == bool(result.load.reasons)
    if backend == "torch-cpu":
        assert result.parity_max_abs_diff is None and result.settings.spinning is None
    else:
        assert 0 <= result.parity_max_abs_diff <= 1e-5
        assert result.settings.provider == "CPUExecutionProvider"


def test_result_round_trips_through_a_dict():
    result = measure_latency(tiny_cnn(), TINY_SHAPE, backend="onnxruntime-cpu", **FAST)
    data = result.to_dict()
    assert data["per_image_ms"] == result.per_image_ms and data["gmacs_per_s"] is None
    assert data["settings"]["spinning"] is True and "flagged" in data["load"]
    assert LatencyResult.from_dict(data) == result


def test_onnxruntime_settings_are_read_back_from_the_session():
    default = measure_latency(tiny_cnn(), TINY_SHAPE, threads=1, **FAST).settings
    assert default.spinning is True and default.graph_optimization == "all"
    assert (default.inter_op_threads, default.execution_mode) == (1, "ORT_SEQUENTIAL")
    options = RuntimeOptions(spinning=False, graph_optimization="basic")
    chosen = measure_latency(tiny_cnn(), TINY_SHAPE, threads=1, options=options, **FAST)
    assert chosen.settings.spinning is False and chosen.settings.graph_optimization == "basic"
    assert "spinning off" in chosen.settings.describe()


def test_torch_threads_are_restored_after_measuring():
    before = torch.get_num_threads()
    measure_latency(tiny_cnn(), TINY_SHAPE, backend="torch-cpu", threads=1, **FAST)
    assert torch.get_num_threads() == before


def test_default_threads_are_resolved_and_recorded():
    result = measure_latency(tiny_cnn(), TINY_SHAPE, backend="onnxruntime-cpu", **FAST)
    assert isinstance(result.threads, int) and result.threads >= 1
    assert result.settings.threads == result.threads


class _FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class _FakeRunner:
    """Takes ``ms`` per call on a fake clock and logs its name."""

    def __init__(self, name: str, ms: float, clock: _FakeClock, log: list[str]) -> None:
        self.name, self.ms, self.clock, self.log = name, ms, clock, log

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.clock.now += self.ms / 1e3
        self.log.append(self.name)
        return x


def _slots(specs, clock, log, *, calls=2, rewarm=True):
    return [
        _measure._Slot(_FakeRunner(name, ms, clock, log), np.zeros(1), None, calls, rewarm)
        for name, ms in specs
    ]


def test_models_alternate_block_by_block_each_after_an_idle_wait_and_a_rewarm():
    clock, log = _FakeClock(), []
    slots = _slots([("a", 1.0), ("b", 3.0)], clock, log, calls=2)

    def idle() -> float:
        log.append("idle")
        return 0.001

    waits = run_blocks(slots, 3, clock=clock, idle=idle)
    # Per block: wait for the other model's pool to sleep, one untimed call, two timed calls.
    assert log == ["idle", "a", "a", "a", "idle", "b", "b", "b"] * 3
    assert len(waits) == 6 and all(len(s.blocks) == 3 for s in slots)
    assert all(len(block) == 2 for s in slots for block in s.blocks)


def test_one_model_runs_its_blocks_back_to_back_without_waits_or_rewarms():
    clock, log = _FakeClock(), []
    (slot,) = _slots([("a", 1.0)], clock, log, calls=4)
    waits = run_blocks([slot], 3, clock=clock, idle=lambda: pytest.fail("waited"))
    assert waits == [] and log == ["a"] * 12 and len(slot.blocks) == 3


class _TimedRunner(Runner):
    """A backend runner whose calls take ``ms`` on a fake clock."""

    def __init__(self, ms: float, clock: _FakeClock) -> None:
        self.backend, self.batch, self.threads = "fake", 1, 1
        self.ms, self.clock = ms, clock

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.clock.now += self.ms / 1e3
        return x


class _FakeEngine:
    name, uses_onnx = "fake", False

    def __init__(self, runners: list[Runner]) -> None:
        self.runners = iter(runners)

    def prepare(self, *_args, **_kwargs) -> Runner:
        return next(self.runners)

    def device_name(self) -> str:
        return "fake"


def test_a_fake_fast_and_slow_pair_gives_the_right_ratio(monkeypatch):
    clock = _FakeClock()
    engine = _FakeEngine([_TimedRunner(2.0, clock), _TimedRunner(6.0, clock)])
    monkeypatch.setattr(_measure, "get_backend", lambda _name: engine)
    monkeypatch.setattr(_measure.time, "perf_counter", clock)
    monkeypatch.setattr(_measure, "wait_until_idle", lambda: 0.0)
    comparison = compare_latency(
        [TimedModel(tiny_cnn(), TINY_SHAPE, 10), TimedModel(tiny_cnn(), TINY_SHAPE, 30)],
        threads=1,
        **FAST,
    )
    first, second = comparison.results
    assert (first.median_ms, second.median_ms) == pytest.approx((2.0, 6.0))
    (stats,) = comparison.speedups
    assert stats.baseline == 1 and stats.speedup == pytest.approx(3.0)
    assert stats.block_speedups == pytest.approx((3.0,) * FAST["blocks"])
    assert stats.spread == pytest.approx(0.0) and first.block_spread == pytest.approx(0.0)
    assert first.settings.threads == 1 and first.device == "fake"


def test_every_model_gets_its_own_session(monkeypatch):
    sessions = []
    real = _onnxruntime.OnnxRuntimeBackend.prepare

    def spy(self, *args, **kwargs):
        runner = real(self, *args, **kwargs)
        sessions.append(runner._session)
        return runner

    monkeypatch.setattr(_onnxruntime.OnnxRuntimeBackend, "prepare", spy)
    comparison = compare_latency(
        [TimedModel(tiny_cnn(width=2), TINY_SHAPE, 10), TimedModel(tiny_cnn(), TINY_SHAPE, 20)],
        threads=1,
        **FAST,
    )
    assert len(sessions) == 2 and sessions[0] is not sessions[1]
    assert [r.macs for r in comparison.results] == [10, 20]
    assert comparison.idle_wait_ms_max >= 0 and len(comparison.speedups) == 1


@pytest.mark.parametrize(
    ("per_call_s", "kwargs", "expected"),
    [
        (1.0, {"repeats": 20, "min_time_s": 0.0, "max_time_s": 100.0, "blocks": 5}, 4),
        (0.001, {"repeats": 5, "min_time_s": 1.0, "max_time_s": 10.0, "blocks": 5}, 200),
        (10.0, {"repeats": 20, "min_time_s": 0.0, "max_time_s": 1.0, "blocks": 3}, 2),
        (10.0, {"repeats": 5, "min_time_s": 0.0, "max_time_s": 0.0, "blocks": 8}, 1),
    ],
)
def test_block_size_meets_the_repeats_and_time_targets_within_the_cap(
    per_call_s, kwargs, expected
):
    assert Timing(**kwargs).calls_per_block(per_call_s) == expected


def test_slow_models_still_get_the_minimum_repeats():
    timing = Timing(repeats=100, min_time_s=0.0, max_time_s=0.0, blocks=3)
    assert 3 * timing.calls_per_block(5.0) >= MIN_REPEATS


def test_measure_interleaved_is_compare_latency_results():
    results = measure_interleaved(
        [TimedModel(tiny_cnn(width=2), TINY_SHAPE, 10), TimedModel(tiny_cnn(), TINY_SHAPE, 20)],
        threads=1,
        **FAST,
    )
    assert [r.macs for r in results] == [10, 20]
    assert results[0].seconds_total == results[1].seconds_total


def test_percentile_matches_numpy():
    from gensynth.backends._result import percentile

    values = sorted(np.random.default_rng(0).random(37).tolist())
    assert percentile(values, 0.9) == pytest.approx(np.percentile(values, 90))


def test_parity_failure_stops_the_measurement(monkeypatch):
    monkeypatch.setattr(_measure, "check_parity", lambda _a, _b: 0.5)
    with pytest.raises(ParityError, match="onnxruntime-cpu"):
        measure_latency(tiny_cnn(), TINY_SHAPE, backend="onnxruntime-cpu", **FAST)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch": 0}, "batch: expected a positive integer"),
        ({"threads": 0}, "threads: expected a positive integer"),
        ({"repeats": 2}, "repeats: expected an integer >= 5"),
        ({"blocks": 2}, "blocks: expected an integer >= 3"),
        ({"warmup": 0}, "warmup"),
        ({"min_time_s": 2.0, "max_time_s": 1.0}, "min_time_s <= max_time_s"),
        ({"burst_s": 0.1}, "timing: expected keywords among"),
        ({"backend": "onnx"}, "unknown backend 'onnx'"),
    ],
)
def test_bad_settings_are_usage_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        measure_latency(tiny_cnn(), TINY_SHAPE, **kwargs)


def test_comparing_nothing_is_a_usage_error():
    with pytest.raises(ConfigError, match="expected at least one model, got none"):
        compare_latency([])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"graph_optimization": "max"}, "graph optimisation: expected one of disabled"),
        ({"spinning": "yes"}, "spinning: expected true, false or None, got 'yes'"),
    ],
)
def test_bad_runtime_options_are_usage_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        RuntimeOptions(**kwargs)


def test_untimed_torch_work_runs_single_threaded_and_restores(monkeypatch):
    from gensynth.backends import _base

    seen = []
    real = _base.torch_threads

    def spy(threads):
        seen.append(threads)
        return real(threads)

    monkeypatch.setattr(_measure, "torch_threads", spy)
    before = torch.get_num_threads()
    measure_latency(tiny_cnn(), TINY_SHAPE, backend="onnxruntime-cpu", threads=2, **FAST)
    assert seen == [1] and torch.get_num_threads() == before


def test_gpu_providers_go_through_the_same_method(monkeypatch):
    """onnxruntime-cuda is implemented, not measured here: a CPU session stands in for it."""
    import onnxruntime as ort

    asked = []
    real = ort.InferenceSession

    def session(data, options, providers):
        asked.append(providers)
        return real(data, options, providers=["CPUExecutionProvider"])

    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider"])
    monkeypatch.setattr(ort, "InferenceSession", session)
    monkeypatch.setattr(_onnxruntime, "_gpu_name", lambda: "Fake GPU")
    result = measure_latency(tiny_cnn(), TINY_SHAPE, backend="onnxruntime-cuda", **FAST)
    assert asked == [["CUDAExecutionProvider", "CPUExecutionProvider"]]
    assert result.backend == "onnxruntime-cuda" and result.device == "Fake GPU"
    assert len(result.block_medians_ms) == FAST["blocks"] and result.settings is not None
