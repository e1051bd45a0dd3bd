"""Timed measurement: sane statistics, recorded settings, and the stopping rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from backend_helpers import FAST, TINY_SHAPE, tiny_cnn

from gensynth.backends import LatencyResult, ParityError, _measure, measure_latency
from gensynth.backends._measure import MIN_REPEATS, TimedModel, measure_interleaved
from gensynth.errors import ConfigError


@pytest.mark.parametrize("backend", ["torch-cpu", "onnxruntime-cpu"])
def test_result_is_sane_and_records_how_it_was_taken(backend):
    result = measure_latency(
        tiny_cnn(), TINY_SHAPE, backend=backend, batch=2, threads=1, macs=1000, **FAST
    )
    assert 0 < result.min_ms <= result.median_ms <= result.p90_ms
    assert (result.backend, result.batch, result.threads) == (backend, 2, 1)
    assert result.repeats >= FAST["repeats"] and result.warmup == FAST["warmup"]
    assert result.cv >= 0 and result.seconds_total > 0
    assert result.per_image_ms == pytest.approx(result.median_ms / 2)
    assert result.images_per_s == pytest.approx(2000 / result.median_ms)
    assert result.gmacs_per_s == pytest.approx(1000 * result.images_per_s / 1e9)
    if backend == "torch-cpu":
        assert result.parity_max_abs_diff is None
    else:
        assert 0 <= result.parity_max_abs_diff <= 1e-5


def test_result_round_trips_through_a_dict():
    result = measure_latency(tiny_cnn(), TINY_SHAPE, backend="torch-cpu", **FAST)
    data = result.to_dict()
    assert data["per_image_ms"] == result.per_image_ms and data["gmacs_per_s"] is None
    assert LatencyResult.from_dict(data) == result


def test_torch_threads_are_restored_after_measuring():
    before = torch.get_num_threads()
    measure_latency(tiny_cnn(), TINY_SHAPE, backend="torch-cpu", threads=1, **FAST)
    assert torch.get_num_threads() == before


def test_default_threads_are_resolved_and_recorded():
    result = measure_latency(tiny_cnn(), TINY_SHAPE, backend="onnxruntime-cpu", **FAST)
    assert isinstance(result.threads, int) and result.threads >= 1


class _CountingRunner:
    def __init__(self, name: str = "", log: list | None = None) -> None:
        self.calls = 0
        self.name = name
        self.log = log if log is not None else []

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.calls += 1
        self.log.append(self.name)
        return x


def _slot(runner, burst: int = 1, rewarm: bool = False) -> _measure._Slot:
    return _measure._Slot(runner, np.zeros(1), None, burst=burst, rewarm=rewarm)


def test_timing_runs_the_requested_repeats_when_the_time_is_already_spent():
    slot = _slot(_CountingRunner())
    _measure._rounds([slot], repeats=7, min_time_s=0.0, max_time_s=10.0)
    assert len(slot.times) == slot.runner.calls == 7


def test_timing_stops_at_the_time_cap_with_the_minimum_repeats():
    slot = _slot(_CountingRunner())
    _measure._rounds([slot], repeats=10_000, min_time_s=0.0, max_time_s=0.0)
    assert len(slot.times) == MIN_REPEATS


def test_models_alternate_in_rounds_with_an_untimed_rewarm_before_each_burst():
    log: list[str] = []
    fast = _slot(_CountingRunner("fast", log), burst=3, rewarm=True)
    slow = _slot(_CountingRunner("slow", log), burst=1)
    _measure._rounds([fast, slow], repeats=5, min_time_s=0.0, max_time_s=10.0)
    assert log[:9] == ["fast"] * 4 + ["slow"] + ["fast"] * 4  # re-warm + 3 timed, then slow
    assert len(slow.times) == 5 and len(fast.times) == 15  # the fast one timed in every round
    assert fast.runner.calls == 20


def test_interleaved_measurement_gives_one_result_per_model_in_order():
    small, wide = tiny_cnn(width=2), tiny_cnn(width=32)
    results = measure_interleaved(
        [TimedModel(small, TINY_SHAPE, 10), TimedModel(wide, TINY_SHAPE, 20)],
        backend="onnxruntime-cpu",
        threads=1,
        **FAST,
    )
    assert [r.macs for r in results] == [10, 20]
    assert all(r.repeats >= FAST["repeats"] and r.parity_max_abs_diff < 1e-5 for r in results)
    assert results[0].seconds_total == results[1].seconds_total


def test_percentile_matches_numpy():
    values = sorted(np.random.default_rng(0).random(37).tolist())
    assert _measure._percentile(values, 0.9) == pytest.approx(np.percentile(values, 90))


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
        ({"warmup": 0}, "warmup"),
        ({"min_time_s": 2.0, "max_time_s": 1.0}, "min_time_s <= max_time_s"),
        ({"backend": "onnx"}, "unknown backend 'onnx'"),
    ],
)
def test_bad_settings_are_usage_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        measure_latency(tiny_cnn(), TINY_SHAPE, **kwargs)


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
