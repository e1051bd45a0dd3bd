"""Bands, limits, indicators, width bisection and repair (feasible and infeasible)."""

from __future__ import annotations

import math

import optuna
import pytest
from proto_cases import default

from gensynth.constraints import (
    FlopsBand,
    MacsIndicator,
    ParamsIndicator,
    ParamsLimit,
    bisect_width,
    count_costs,
    repair,
)
from gensynth.errors import ConfigError
from gensynth.prototypes import ResidualSpec, StageSpec, StemSpec, get_prototype

optuna.logging.set_verbosity(optuna.logging.WARNING)
BAND = FlopsBand(100_000_000, 0.05)


def test_band_edges_constraints_and_description():
    assert (BAND.lower, BAND.upper) == (95_000_000, 105_000_000)
    assert BAND.contains(95_000_000) and BAND.contains(105_000_000)
    assert not BAND.contains(94_999_999) and not BAND.contains(105_000_001)
    assert BAND.constraints(100_000_000) == (-0.05, -0.05)
    assert BAND.constraints(110_000_000) == pytest.approx((0.05, -0.15))
    assert BAND.violation(90_000_000) == pytest.approx(0.05)
    assert BAND.describe() == "100M ± 5%"
    assert FlopsBand.parse("1.5G", "0.1").describe() == "1.5G ± 10%"
    assert FlopsBand.parse("97263435", "2.5%") == FlopsBand(97_263_435, 0.025)


@pytest.mark.parametrize(
    ("flops", "tolerance", "message"),
    [
        ("abc", "5%", "--flops: expected a positive number like 100M"),
        ("-5M", "5%", "--flops: expected a positive number like 100M"),
        ("0", "5%", "--flops: expected a positive number"),
        ("100M", "150%", "--tolerance: expected a fraction in [0%, 100%)"),
        ("100M", "five", "--tolerance: expected a fraction like 5% or 0.05"),
    ],
)
def test_band_parse_errors(flops, tolerance, message):
    with pytest.raises(ConfigError) as info:
        FlopsBand.parse(flops, tolerance)
    assert message in info.value.message


def test_band_and_limit_reject_bad_values_in_code():
    with pytest.raises(ConfigError):
        FlopsBand(-1, 0.05)
    with pytest.raises(ConfigError):
        FlopsBand(100, 1.0)
    with pytest.raises(ConfigError):
        ParamsLimit(0)


def test_indicators_report_measured_limit_and_violation():
    spec = default("residual")  # 99.46M MACs, 299,878 params
    macs = MacsIndicator(BAND).check(spec)
    assert macs.passed and macs.measured == 99_464_896 and macs.unit == "MACs"
    assert macs.constraint_values == BAND.constraints(99_464_896)
    assert not MacsIndicator(FlopsBand(50_000_000)).check(spec).passed
    params = ParamsIndicator(ParamsLimit(200_000)).check(spec)
    assert not params.passed and params.limit == "<= 200K"
    assert params.violation == pytest.approx((299_878 - 200_000) / 200_000)


def test_bisect_width_with_a_custom_monotone_measure():
    spec = default("residual")
    calls = []

    def params(candidate):
        calls.append(candidate)
        return float(count_costs(candidate).params)

    found = bisect_width(spec, params, 600_000, 650_000, max_steps=25)
    assert found is not None and 600_000 <= count_costs(found).params <= 650_000
    assert len(calls) <= 25
    assert bisect_width(spec, params, 1e12, 2e12) is None  # unreachable at any width
    assert bisect_width(spec, params, 1, 2) is None


def test_repair_keeps_an_in_band_design():
    spec = default("residual")
    result = repair(spec, BAND)
    assert result.feasible and result.spec == spec and result.multiplier == 1.0
    assert result.costs == count_costs(spec) and result.steps == 1


@pytest.mark.parametrize(
    ("prototype", "band", "size", "n"),
    [
        ("residual", FlopsBand(100_000_000, 0.05), 200, 80),
        ("residual-unet", FlopsBand(440_000_000, 0.05), 224, 40),
    ],
)
def test_repair_lands_random_proposals_in_the_band(prototype, band, size, n):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=11))
    proto, inside, before = get_prototype(prototype), 0, 0
    for _ in range(n):
        spec = proto.sample(study.ask(), input_size=size)
        before += band.contains(count_costs(spec).macs)
        result = repair(spec, band)
        if result.feasible:  # never claimed feasible when it is not
            result.spec.validate()
            assert band.contains(count_costs(result.spec).macs)
            assert result.costs == count_costs(result.spec)
            assert all(w % 4 == 0 and w >= 8 for w in result.spec.widths())
            inside += 1
        else:
            assert result.reason
    assert inside >= n - 1
    assert before < n // 4  # naive sampling rarely hits a ±5% band


def _deep_full_resolution() -> ResidualSpec:
    stages = tuple(StageSpec("basic", 64, 1, 1, 5, 1.0, False) for _ in range(4))
    return ResidualSpec(stem=StemSpec(32, 3, 1, False), stages=stages)


def test_infeasible_when_even_the_narrowest_design_is_too_costly():
    result = repair(_deep_full_resolution(), BAND)
    assert not result.feasible
    assert "minimum width" in result.reason and "100M ± 5%" in result.reason
    assert "largest part: stage" in result.reason
    assert not BAND.contains(result.costs.macs)


def test_depth_fallback_makes_a_too_deep_design_feasible():
    stages = (
        StageSpec("basic", 32, 4, 1, 5, 1.0, False),
        StageSpec("basic", 64, 1, 2, 3, 1.0, False),
    )
    spec = ResidualSpec(stem=StemSpec(16, 3, 2, False), stages=stages)
    assert count_costs(spec.scale_width(0.01)).macs > BAND.upper  # too deep at any width
    result = repair(spec, BAND)
    assert result.feasible and BAND.contains(result.costs.macs)
    assert "stage0 -1 block" in result.detail
    assert result.spec.stages[0].depth < 4


def test_infeasible_when_even_the_widest_design_is_too_cheap():
    tiny = ResidualSpec(input_size=16, stem=StemSpec(8, 3, 2, True), stages=(StageSpec(),))
    result = repair(tiny, FlopsBand(100_000_000_000, 0.05))
    assert not result.feasible and "at the widest" in result.reason


def test_params_cap_is_respected_or_reported():
    spec = default("residual")
    loose = repair(spec.scale_width(2.0), BAND, params_max=400_000)
    assert loose.feasible and loose.costs.params <= 400_000
    tight = repair(spec.scale_width(2.0), BAND, params_max=50_000)
    assert not tight.feasible and "parameters" in tight.reason and "50K" in tight.reason


def test_rounding_gaps_are_filled_by_finer_rounding_or_nudges():
    # One dominant stage whose channel steps jump over a narrow band.
    spec = ResidualSpec(
        stem=StemSpec(16, 3, 2, False),
        stages=(StageSpec("basic", 24, 2, 1, 5, 1.0, False), StageSpec("basic", 32, 1, 2)),
    )
    band = FlopsBand(100_000_000, 0.01)
    result = repair(spec, band)
    assert result.feasible and band.contains(result.costs.macs)
    assert result.detail  # a fallback was needed: plain multiples of 8 miss a ±1% band
    assert math.isfinite(result.multiplier) and result.multiplier > 0


@pytest.mark.parametrize("target", ["100M", "25M", "400M"])
def test_the_plain_reference_repairs_into_a_band_and_stays_plain(target):
    from gensynth.constraints import FlopsBand, repair
    from gensynth.prototypes import reference_spec

    plain = reference_spec("plain", num_classes=7)
    band = FlopsBand.parse(target, "5%")
    result = repair(plain, band)
    assert result.feasible and band.contains(result.costs.macs)
    spec = result.spec
    assert [s.block for s in spec.stages] == ["basic"] * 4
    assert all(s.depth == 1 and not s.se for s in spec.stages)
    widths = [s.width for s in spec.stages]
    assert widths == sorted(widths) and all(w % 8 == 0 for w in spec.widths())
