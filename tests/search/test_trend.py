"""The accuracy trend, and how the generator picks drafts and mutants by it."""

from __future__ import annotations

import dataclasses
import math

import pytest
from search_builders import tiny_spec

from gensynth.search.generator import Generator
from gensynth.search.trend import AccuracyTrend
from gensynth.studies.records import TrialRecord


def _record(number: int, params: int, metric: float, origin: str = "sample") -> TrialRecord:
    return TrialRecord(
        number=number, state="COMPLETE", values=(90.0,), spec={"n": number},
        spec_hash=f"h{number}", describe="", origin=origin, feasible=True, reason=None,
        macs=10**8, params=params, latency_ms=None, metric=metric, netscore=90.0, insights={},
        fail_reason=None, user_attrs={}, duration_s=1.0,
    )  # fmt: skip


def _history() -> list[TrialRecord]:
    """A reference at 77% with 200 K parameters; lighter designs are less accurate."""
    light = [_record(n, 10_000 * n, 60.0 + 3 * n) for n in range(1, 6)]
    return [_record(0, 200_000, 77.0, origin="reference"), *light]


def test_the_trend_fits_accuracy_against_log_parameters():
    trend = AccuracyTrend.fit(_history())
    assert trend is not None and trend.trials == 6 and trend.slope > 0
    assert trend.predict(200_000) > trend.predict(20_000)
    assert trend.predict(200_000) - trend.predict(20_000) == pytest.approx(
        trend.slope * math.log(10)
    )


def test_no_trend_from_too_few_distinct_designs_and_never_a_negative_slope():
    assert AccuracyTrend.fit(_history()[:3]) is None
    same = [_record(n, 5_000, 70.0 + n) for n in range(6)]
    assert AccuracyTrend.fit(same) is None, "one parameter count says nothing"
    falling = [_record(n, 10_000 * (n + 1), 90.0 - 5 * n) for n in range(5)]
    trend = AccuracyTrend.fit(falling)
    assert trend is not None and trend.slope == 0.0
    assert trend.predict(1_000) == pytest.approx(80.0)  # the mean: no direction is preferred


def test_the_trend_is_not_extrapolated_beyond_the_parameter_counts_it_has_seen():
    trend = AccuracyTrend.fit(_history())  # 10 K to 200 K parameters
    assert trend is not None and trend.slope > 0
    assert trend.predict(16_000_000) == pytest.approx(trend.predict(200_000))
    assert trend.predict(100) == pytest.approx(trend.predict(10_000))
    assert trend.predict(100_000) < trend.predict(200_000)


def test_drafts_beyond_the_seen_range_tie_and_the_better_netscore_wins(tmp_path):
    generator, mutants = _drafts(tmp_path)
    history = [_record(0, 100_000, 95.0, origin="reference"), *_history()[1:]]
    trend = AccuracyTrend.fit(history)  # seen up to 100 K; all three drafts are at 50 K+
    assert trend is not None
    heavy = [m for m in mutants if m.costs.params > 100_000][::-1]  # 400 K first: max keeps it
    best = max(heavy, key=lambda m: generator._draft_key(m, trend.predict(m.costs.params), 99.0))
    assert best.costs.params == 250_000, "the same predicted accuracy: the lighter one"


def _drafts(tmp_path) -> tuple[Generator, list]:
    spec = tiny_spec(tmp_path)
    generator = Generator(spec, in_channels=1, input_size=32, num_classes=3)
    design = generator.prototype.default_spec(in_channels=1, input_size=32, num_classes=3)
    base = generator._repair(design, "mutation", "m")
    mutants = [
        dataclasses.replace(base, costs=dataclasses.replace(base.costs, params=p), detail=str(p))
        for p in (50_000, 250_000, 400_000)
    ]
    return generator, mutants


def test_when_no_draft_is_predicted_to_meet_it_the_most_accurate_looking_one_is_kept(tmp_path):
    generator, mutants = _drafts(tmp_path)
    history = [_record(0, 900_000, 95.0, origin="reference"), *_history()[1:]]
    trend = AccuracyTrend.fit(history)
    assert trend is not None
    keys = [generator._draft_key(m, trend.predict(m.costs.params), 95.0) for m in mutants]
    assert not any(meets for meets, *_ in keys)
    best = max(mutants, key=lambda m: generator._draft_key(m, trend.predict(m.costs.params), 95.0))
    assert best.costs.params == 400_000


def test_a_fresh_sample_is_picked_by_the_trend_once_the_reference_is_scored(tmp_path):
    import optuna

    from gensynth.studies.samplers import make_sampler

    generator = Generator(tiny_spec(tmp_path), in_channels=1, input_size=32, num_classes=3)
    trial = optuna.create_study(sampler=make_sampler("generative", seed=0, trials=10)).ask()
    history = _history()
    trend = AccuracyTrend.fit(history)
    assert trend is not None
    drafts = [generator._repair(d, "sample", "") for d in generator._draft(trial, 4)]
    feasible = [d for d in drafts if d.feasible]
    chosen = generator._sample(trial, history)
    assert "accuracy trend" in chosen.detail
    keys = [generator._draft_key(d, trend.predict(d.costs.params), 77.0) for d in feasible]
    assert generator._draft_key(chosen, trend.predict(chosen.costs.params), 77.0) == max(keys)


def test_the_generative_strategy_drafts_uniformly_and_tpe_drafts_from_its_model():
    from optuna.samplers import RandomSampler, TPESampler

    from gensynth.studies.samplers import GENERATIVE_DRAFTS, make_sampler

    generative = make_sampler("generative", seed=0, trials=10)
    assert GENERATIVE_DRAFTS == "random"
    assert isinstance(generative.draft_sampler(3), RandomSampler)
    assert isinstance(generative.for_trial(3), TPESampler), "the study itself still models"
    assert isinstance(make_sampler("tpe", seed=0, trials=10).draft_sampler(3), TPESampler)
