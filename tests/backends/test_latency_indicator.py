"""The latency indicator and latency repair: verdicts, caching, tolerance, bad budgets."""

from __future__ import annotations

import dataclasses

import pytest
from backend_helpers import FAST, tiny_spec

import gensynth.backends
from gensynth.backends import BACKENDS, LatencyResult
from gensynth.constraints.latency import LatencyIndicator, repair_latency
from gensynth.errors import BackendUnavailable, ConfigError


@pytest.fixture()
def counted(monkeypatch):
    """measure_latency, counting its calls."""
    calls = []
    real = gensynth.backends.measure_latency

    def counting(*args, **kwargs):
        calls.append(kwargs.get("backend"))
        return real(*args, **kwargs)

    monkeypatch.setattr(gensynth.backends, "measure_latency", counting)
    return calls


def _indicator(budget_ms: float, **kwargs) -> LatencyIndicator:
    return LatencyIndicator(budget_ms, "onnxruntime-cpu", 1, 1, timing=FAST, **kwargs)


def test_passes_far_above_and_fails_far_below_the_measured_latency(counted):
    generous = _indicator(1e6).check(tiny_spec())
    assert generous.passed and generous.name == "latency" and generous.unit == "ms"
    assert generous.measured > 0 and "onnxruntime-cpu" in generous.limit
    strict = _indicator(1e-6).check(tiny_spec())
    assert not strict.passed and strict.violation > 0
    assert strict.measured == generous.measured  # the second check read the cache
    assert len(counted) == 1


def test_second_check_is_a_cache_hit_without_remeasuring(counted):
    first = _indicator(1e6)
    first.check(tiny_spec())
    again = _indicator(1e6)  # a new indicator, as in the next trial or another process
    again.check(tiny_spec())
    assert len(counted) == 1
    assert again.cache.hits == 1
    _indicator(1e6).check(tiny_spec(width=5))  # a different spec is measured
    assert len(counted) == 2


def test_cache_can_be_bypassed(counted):
    indicator = _indicator(1e6, use_cache=False)
    indicator.check(tiny_spec())
    indicator.check(tiny_spec())
    assert len(counted) == 2 and indicator.cache is None


def _fake(median_ms: float) -> LatencyResult:
    return LatencyResult(
        backend="onnxruntime-cpu",
        batch=1,
        threads=1,
        median_ms=median_ms,
        p90_ms=median_ms,
        mean_ms=median_ms,
        min_ms=median_ms,
        cv=0.0,
        repeats=20,
        warmup=3,
        parity_max_abs_diff=0.0,
        seconds_total=1.0,
    )


def test_the_indicator_uses_the_block_method_with_its_loop_budget(counted, monkeypatch):
    from gensynth.constraints.latency import LOOP_TIMING

    seen = {}
    real = gensynth.backends.measure_latency

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(gensynth.backends, "measure_latency", spy)
    indicator = LatencyIndicator(1e6, "onnxruntime-cpu", 1, 1, timing={"min_time_s": 0.0})
    result = indicator.measure(tiny_spec())
    assert seen["blocks"] == LOOP_TIMING["blocks"] and seen["options"] == indicator.options
    assert len(result.block_medians_ms) == LOOP_TIMING["blocks"]
    assert result.settings.spinning is True  # as deployed: ONNX Runtime's default


def test_runtime_options_reach_the_session_and_the_cache_key(counted):
    from gensynth.backends import RuntimeOptions

    quiet = _indicator(1e6, options=RuntimeOptions(spinning=False))
    assert quiet.measure(tiny_spec()).settings.spinning is False
    _indicator(1e6).measure(tiny_spec())  # default options: another cache entry
    assert len(counted) == 2


def test_a_verdict_on_a_figure_measured_under_load_says_so():
    from gensynth.backends import LoadReport

    load = LoadReport((2.0, 2.0, 2.0), (2.0, 2.0, 2.0), 0.5, 2, ("others used 50%",))
    verdict = _indicator(2.0).evaluate(dataclasses.replace(_fake(1.0), load=load))
    assert "MEASURED UNDER LOAD: others used 50%" in verdict.detail
    assert "UNDER LOAD" not in _indicator(2.0).evaluate(_fake(1.0)).detail


def test_noise_tolerance_is_applied_above_the_budget():
    assert _indicator(2.0).evaluate(_fake(2.08)).passed  # 5% by default
    assert not _indicator(2.0).evaluate(_fake(2.12)).passed
    assert not _indicator(2.0, tolerance=0.0).evaluate(_fake(2.02)).passed
    assert _indicator(2.0).evaluate(_fake(1.0)).violation == pytest.approx((1.0 - 2.1) / 2.0)


@pytest.mark.parametrize(
    ("flags", "match"),
    [
        ({"latency": "fast"}, "--latency: expected a duration"),
        ({"latency": "-1ms"}, "--latency: expected a duration"),
        ({"latency": "0ms"}, "--latency: expected a positive duration"),
        ({"latency": "2ms", "batch": "0"}, "--batch: expected a positive integer"),
        ({"latency": "2ms", "batch": "x"}, "--batch: expected a positive integer"),
        ({"latency": "2ms", "backend": "onnxruntime"}, "unknown backend"),
    ],
)
def test_bad_flags_are_usage_errors(flags, match):
    with pytest.raises(ConfigError, match=match) as info:
        LatencyIndicator.from_flags(**flags)
    assert info.value.exit_code == 2


@pytest.mark.parametrize("budget", [-1.0, 0.0, float("nan"), float("inf")])
def test_bad_budget_is_a_usage_error(budget):
    with pytest.raises(ConfigError, match="latency budget: expected a positive number"):
        LatencyIndicator(budget)


def test_unavailable_backend_fails_when_the_indicator_is_made(monkeypatch):
    from gensynth.backends import _openvino

    monkeypatch.setattr(_openvino, "has_module", lambda _name: False)
    with pytest.raises(BackendUnavailable, match="pip install"):
        LatencyIndicator(2.0, "openvino")


def test_from_flags_parses_the_cli_text():
    indicator = LatencyIndicator.from_flags("0.5s", "torch-cpu", "4", "1")
    assert (indicator.budget_ms, indicator.backend, indicator.batch, indicator.threads) == (
        500.0,
        "torch-cpu",
        4,
        1,
    )


class _ModelledIndicator(LatencyIndicator):
    """Latency modelled as 0.1 ms per unit of width, so repair is tested without timing."""

    def __init__(self, budget_ms: float) -> None:
        super().__init__(budget_ms, "onnxruntime-cpu", 1, 1, use_cache=False)
        self.fresh_checks = 0

    def measure(self, spec, *, fresh=False):
        self.fresh_checks += fresh
        return _fake(0.1 * spec.width)


def test_repair_shrinks_into_the_band_below_the_budget_and_remeasures():
    indicator = _ModelledIndicator(2.0)
    repaired = repair_latency(tiny_spec(width=64), 2.0, indicator=indicator)
    assert repaired is not None and repaired.width < 64
    assert 2.0 * 0.7 <= indicator.measure(repaired).median_ms <= 2.0 * 0.9
    assert indicator.fresh_checks == 1


def test_repair_keeps_a_spec_that_already_fits():
    spec = tiny_spec(width=8)
    assert repair_latency(spec, 2.0, indicator=_ModelledIndicator(2.0)) is spec


def test_repair_gives_up_when_even_the_narrowest_net_is_too_slow():
    assert repair_latency(tiny_spec(width=64), 0.01, indicator=_ModelledIndicator(0.01)) is None


def test_repair_rejects_a_bad_margin():
    with pytest.raises(ConfigError, match="margin"):
        repair_latency(tiny_spec(), 2.0, margin=0.9, band=0.2)


def test_every_cpu_backend_can_back_the_indicator():
    for name in ("torch-cpu", "onnxruntime-cpu"):
        assert name in BACKENDS
        assert _indicator(1e6).check(tiny_spec()).passed


class _SteppedIndicator(_ModelledIndicator):
    """Latency that jumps over the target band: 3 ms above width 10, 0.5 ms at or below."""

    def measure(self, spec, *, fresh=False):
        self.fresh_checks += fresh
        return _fake(3.0 if spec.width > 10 else 0.5)


def test_repair_takes_a_narrower_spec_when_the_band_is_stepped_over():
    repaired = repair_latency(tiny_spec(width=64), 2.0, indicator=_SteppedIndicator(2.0))
    assert repaired is not None and repaired.width <= 10


@pytest.mark.slow
def test_real_repair_of_the_residual_default_meets_half_its_latency():
    from gensynth.prototypes import get_prototype

    spec = get_prototype("residual").default_spec(in_channels=1, input_size=64, num_classes=6)
    indicator = LatencyIndicator(1e6, "onnxruntime-cpu", 1, 1)
    budget = indicator.measure(spec).median_ms / 2
    strict = LatencyIndicator(budget, "onnxruntime-cpu", 1, 1, cache=indicator.cache)
    for _ in range(2):  # a fresh final measurement can fail on a busy CPU: one more try
        repaired = repair_latency(spec, budget, indicator=strict)
        if repaired is not None:
            break
    if repaired is not None:  # None only if even the narrowest net is too slow: say so
        assert sum(repaired.widths()) <= sum(spec.widths())
        assert strict.measure(repaired).median_ms <= budget * (1 + strict.tolerance)
    else:
        assert not strict.check(spec.scale_width(1 / 64)).passed


class _CountingIndicator(_ModelledIndicator):
    def __init__(self, budget_ms: float) -> None:
        super().__init__(budget_ms)
        self.measured: list[int] = []

    def measure(self, spec, *, fresh=False):
        self.measured.append(spec.width)
        return super().measure(spec, fresh=fresh)


def test_a_fitted_cost_model_starts_the_measured_repair_near_the_answer(monkeypatch):
    import gensynth.backends

    class Model:  # predicts the modelled latency exactly
        def predict_ms(self, spec):
            return 0.1 * spec.width

    without = _CountingIndicator(2.0)
    repair_latency(tiny_spec(width=512), 2.0, indicator=without)
    monkeypatch.setattr(gensynth.backends, "load_latency_model", lambda **kw: Model())
    guided = _CountingIndicator(2.0)
    repaired = repair_latency(tiny_spec(width=512), 2.0, indicator=guided)
    assert repaired is not None and 2.0 * 0.7 <= 0.1 * repaired.width <= 2.0 * 0.9
    assert len(guided.measured) < len(without.measured)  # fewer measurements, same verdict
    assert guided.measured[1] != 512  # the bisection began at the predicted width
