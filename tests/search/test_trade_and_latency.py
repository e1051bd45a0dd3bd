"""The user's trade (--accuracy-slack), latency-first selection and noisy timing verdicts.

Fake timings and tiny nets: every test here runs in well under a second.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gensynth.constraints import count_costs
from gensynth.errors import ConfigError, ConstraintError
from gensynth.search.noise import MAX_TIMING_RUNS, budget_check, ratio_check, settle
from gensynth.search.selection import Finalist, parse_accuracy_slack, select_winner
from gensynth.search.study_spec import ExploreOptions, resolve_options
from gensynth.search.utility import NetScore
from gensynth.studies.records import TrialRecord


def _record(number: int, origin: str = "sample") -> TrialRecord:
    return TrialRecord(
        number=number, state="COMPLETE", values=(90.0,), spec={}, describe=f"net{number}",
        spec_hash=f"h{number}", origin=origin, feasible=True, reason=None,
        macs=100_000_000, params=100_000, latency_ms=None, metric=80.0, netscore=90.0,
        insights={}, fail_reason=None, user_attrs={}, duration_s=1.0,
    )  # fmt: skip


def _finalist(number: int, val: float, params: int, blocks: tuple[float, ...],
              role: str = "candidate") -> Finalist:  # fmt: skip
    metrics = {"metric": "accuracy", "val": {"accuracy": val}, "test": {"accuracy": val},
               "params": params, "macs": 100_000_000}  # fmt: skip
    origin = "reference" if role == "reference" else "sample"
    median = sorted(blocks)[len(blocks) // 2]
    spread = (max(blocks) - min(blocks)) / median
    finalist = Finalist(_record(number, origin), role, Path(f"f{number}"), metrics, median, spread)
    finalist.latency_blocks = blocks
    return finalist


# -- the trade: --accuracy-slack ----------------------------------------------------------------


def _trade() -> tuple[Finalist, Finalist, Finalist]:
    reference = _finalist(0, 100.0, 200_000, (1.00, 1.01, 0.99, 1.00, 1.00), "reference")
    fast = _finalist(7, 99.2, 180_000, (0.70, 0.71, 0.69, 0.70, 0.70))  # 0.8 pt less, 30% faster
    as_fast = _finalist(8, 99.5, 50_000, (1.00, 1.00, 0.99, 1.01, 1.00))  # smaller, not faster
    return reference, fast, as_fast


def test_by_default_nothing_below_the_reference_qualifies():
    reference, fast, as_fast = _trade()
    selection = select_winner([reference, fast, as_fast], NetScore())
    assert selection.winner is reference and not selection.fastest
    assert "validation accuracy 99.20% < 100.00%" in selection.verdicts[1].reasons[0]


def test_the_slack_admits_a_faster_finalist_and_records_the_decision():
    reference, fast, as_fast = _trade()
    selection = select_winner([reference, fast, as_fast], NetScore(), accuracy_slack=1.0)
    assert selection.winner is fast
    assert selection.required_metric == pytest.approx(99.0)
    verdicts = {v.finalist.record.number: v for v in selection.verdicts}
    assert verdicts[7].by_slack and verdicts[7].latency_ratio == pytest.approx(0.70)
    # as accurate within the slack but not faster: accuracy is not traded for nothing
    assert "not 5% faster than the reference" in verdicts[8].reasons[0]
    data = selection.to_json()
    assert data["accuracy_slack"] == 1.0 and data["picks"] == "fastest"
    assert "at most 1 point below the reference" in data["rule"]
    assert data["decision"].startswith("trial #7 won: the fastest qualifying finalist")
    assert "-0.80 points against the reference" in data["decision"]
    assert data["winner"] == 7 and data["finalists"][1]["by_slack"] is True


def test_a_slack_too_small_for_the_loss_keeps_the_reference():
    reference, fast, _ = _trade()
    selection = select_winner([reference, fast], NetScore(), accuracy_slack=0.5)
    assert selection.winner is reference
    assert "validation accuracy 99.20% < 99.50%" in selection.verdicts[1].reasons[0]


@pytest.mark.parametrize("raw", ["-1", "-0.5pt", "101", "100.5%", "lots", "nan"])
def test_a_bad_slack_is_one_clear_line(raw):
    with pytest.raises(ConfigError) as caught:
        resolve_options(ExploreOptions(accuracy_slack=raw))
    message = str(caught.value)
    assert "--accuracy-slack: expected percentage points between 0 and 100" in message
    assert "\n" not in message


@pytest.mark.parametrize(("raw", "points"), [("1pt", 1.0), ("0.5", 0.5), ("2%", 2.0),
                                             (None, 0.0), ("100 points", 100.0)])  # fmt: skip
def test_slack_text_is_read_in_points(raw, points):
    assert parse_accuracy_slack(raw) == points


def test_accuracy_min_with_objectives_that_ignore_accuracy_is_refused():
    with pytest.raises(ConfigError, match="--accuracy-min needs an objective that looks at"):
        resolve_options(ExploreOptions(accuracy_min="99%", objectives="macs,params"))
    resolve_options(ExploreOptions(accuracy_min="99%", objectives="accuracy,macs"))  # fine


# -- latency-first: the budget decides, never exceeded --------------------------------------------


def test_a_winner_over_the_latency_budget_is_dropped():
    reference = _finalist(0, 95.0, 200_000, (0.40, 0.41, 0.40, 0.39, 0.40), "reference")
    better_but_slow = _finalist(3, 97.0, 90_000, (0.55, 0.54, 0.56, 0.55, 0.55))
    better_and_fast = _finalist(4, 96.0, 150_000, (0.45, 0.46, 0.44, 0.45, 0.45))
    finalists = [reference, better_but_slow, better_and_fast]
    plain = select_winner(finalists, NetScore())  # no budget: #4 is slower than the reference
    assert plain.winner is reference
    selection = select_winner(finalists, NetScore(), latency_budget_ms=0.5)
    assert selection.winner is better_and_fast
    assert selection.winner.latency_ms <= 0.5
    verdict = selection.verdicts[1]
    assert not verdict.qualified and "over the 0.5 ms budget" in verdict.reasons[0]
    assert "not slower than the 0.5 ms budget" in selection.rule


def test_when_every_finalist_is_over_the_budget_none_wins():
    reference = _finalist(0, 95.0, 200_000, (0.60, 0.61, 0.62), "reference")
    slow = _finalist(1, 96.0, 100_000, (0.70, 0.71, 0.72))
    selection = select_winner([reference, slow], NetScore(), latency_budget_ms=0.5)
    assert selection.winner is None and selection.decision == "no finalist qualifies"


# -- noisy verdicts -------------------------------------------------------------------------------


def test_a_verdict_within_the_noise_says_so():
    noisy = budget_check((0.45, 0.52, 0.48, 0.55, 0.47), 0.5, runs=3)
    assert not noisy.clear and not noisy.over  # median 0.48 <= 0.5, but 2 of 5 rounds over
    assert "within the noise (2 of 5 rounds over after 3 timing runs)" in noisy.describe()
    clear = budget_check((0.40, 0.41, 0.42), 0.5)
    assert clear.clear and "all 3 rounds agree" in clear.describe()
    ratio = ratio_check((1.0, 1.2, 0.9), (1.0, 1.0, 1.0), 1.05)
    assert ratio is not None and not ratio.clear and ratio.to_json()["within_noise"] is True


def test_noisy_finalists_are_timed_again_until_their_rounds_agree():
    reference = _finalist(0, 95.0, 200_000, (0.45, 0.52, 0.48), "reference")
    calls = []

    class _Result:
        def __init__(self, blocks):
            self.block_medians_ms = blocks

    def time_again():
        calls.append(1)
        return [_Result((0.40, 0.41, 0.42))]

    # the pooled blocks still straddle 0.5 after one more run: the rounds go on to the cap
    runs = settle([reference], time_again, 0.5)
    assert runs == MAX_TIMING_RUNS and len(calls) == MAX_TIMING_RUNS - 1
    assert len(reference.latency_blocks) == 3 * MAX_TIMING_RUNS
    assert reference.latency_ms == pytest.approx(0.42)
    selection = select_winner([reference], NetScore(), latency_budget_ms=0.5, timing_runs=runs)
    verdict = selection.verdicts[0]
    assert verdict.qualified and verdict.noisy and selection.to_json()["timing_runs"] == 3
    assert "within the noise" in verdict.to_json()["within_noise"][0]
    # a clear verdict needs no second run
    steady = _finalist(0, 95.0, 200_000, (0.40, 0.41, 0.42), "reference")
    calls.clear()
    assert settle([steady], time_again, 0.5) == 1 and not calls


# -- the latency-first reference: scaled by measured latency, not MACs ----------------------------


def _plain():
    from gensynth.prototypes import get_reference

    return get_reference("plain").spec(in_channels=1, input_size=200, num_classes=7)


def _indicator(budget_ms: float):
    from gensynth.constraints.latency import LatencyIndicator

    return LatencyIndicator(budget_ms, use_cache=False)


def _per_macs(ms_per_100m: float):
    return lambda spec: count_costs(spec).macs / 1e8 * ms_per_100m


def test_the_reference_is_scaled_into_the_budget_by_latency_up_and_down():
    from gensynth.constraints.latency import scale_to_latency

    for budget in (0.2, 0.5, 5.0):  # shrink, downsample earlier, grow
        scaled = scale_to_latency(_plain(), _indicator(budget), measure=_per_macs(1.0))
        assert 0.7 * budget <= scaled.median_ms <= 0.9 * budget
        assert scaled.median_ms == pytest.approx(_per_macs(1.0)(scaled.spec))
    grown = scale_to_latency(_plain(), _indicator(5.0), measure=_per_macs(1.0))
    assert grown.multiplier > 1.0


def test_the_same_budget_on_a_slower_machine_gives_a_smaller_reference():
    from gensynth.constraints.latency import scale_to_latency

    fast = scale_to_latency(_plain(), _indicator(2.0), measure=_per_macs(1.0))
    slow = scale_to_latency(_plain(), _indicator(2.0), measure=_per_macs(2.0))
    assert count_costs(slow.spec).macs < 0.7 * count_costs(fast.spec).macs
    assert 1.4 <= slow.median_ms <= 1.8 and 1.4 <= fast.median_ms <= 1.8


def test_a_budget_below_the_smallest_net_stops_before_training_and_says_the_smallest():
    from gensynth.constraints.latency import scale_to_latency

    with pytest.raises(ConstraintError) as caught:
        scale_to_latency(_plain(), _indicator(0.01), measure=_per_macs(1.0))
    message = str(caught.value)
    assert "latency budget 0.01 ms is below what onnxruntime-cpu reaches" in message
    assert "measured 0.0429 ms" in message and "--latency 0.048ms" in message


def test_the_generator_scales_the_latency_first_reference_by_measured_latency():
    from gensynth.backends import LatencyResult
    from gensynth.constraints.latency import LatencyIndicator
    from gensynth.search.generator import Generator

    class FakeIndicator(LatencyIndicator):
        def measure(self, spec, *, fresh=False):
            ms = count_costs(spec).macs / 1e8
            return LatencyResult(
                backend="onnxruntime-cpu", batch=1, threads=1, median_ms=ms, p90_ms=ms,
                mean_ms=ms, min_ms=ms, cv=0.0, repeats=20, warmup=3, parity_max_abs_diff=0.0,
                seconds_total=0.0,
            )  # fmt: skip

    spec = resolve_options(ExploreOptions(latency="0.5ms"))
    assert spec.flops is None
    generator = Generator(spec, in_channels=1, input_size=200, num_classes=7,
                          latency=FakeIndicator(0.5, use_cache=False))  # fmt: skip
    proposal = generator.reference()
    assert proposal.feasible and "scaled by measured latency" in proposal.detail
    assert 0.35 <= count_costs(proposal.spec).macs / 1e8 <= 0.45


# -- latency-first explore, end to end (fake loop timings; the finals time for real) --------------


@pytest.fixture
def fake_loop_latency(monkeypatch):
    """The search's latency indicator reads 1 ms per 10M MACs: deterministic, instant."""
    from gensynth.backends import LatencyResult
    from gensynth.constraints.latency import LatencyIndicator

    def measure(self, spec, *, fresh=False):
        ms = count_costs(spec).macs / 1e7
        return LatencyResult(
            backend=self.backend, batch=self.batch, threads=1, median_ms=ms, p90_ms=ms,
            mean_ms=ms, min_ms=ms, cv=0.0, repeats=20, warmup=3, parity_max_abs_diff=0.0,
            seconds_total=0.0, block_medians_ms=(ms, ms, ms),
        )  # fmt: skip

    monkeypatch.setattr(LatencyIndicator, "measure", measure)


def test_an_unreachable_latency_budget_stops_explore_before_any_training(
    tmp_path, tiny_data, fake_loop_latency
):
    from search_builders import tiny_spec

    from gensynth.exploration import explore

    spec = tiny_spec(tmp_path, flops=None, tolerance=None, latency="0.0001ms")
    with pytest.raises(ConstraintError, match="is below what onnxruntime-cpu reaches"):
        explore(spec, data=tiny_data, baseline=False)
    assert not (tmp_path / "out" / "finalists").exists()


@pytest.mark.slow
def test_latency_first_explore_keeps_the_winner_within_the_budget(
    tmp_path, tiny_data, fake_loop_latency
):
    import json

    from search_builders import tiny_spec

    from gensynth.exploration import explore

    spec = tiny_spec(tmp_path, flops=None, tolerance=None, latency="0.1ms", trials=4, promote=2)
    result = explore(spec, data=tiny_data, baseline=False)
    metrics = json.loads((tmp_path / "out" / "best" / "metrics.json").read_text())
    selection = metrics["selection"]
    assert selection["latency_budget_ms"] == pytest.approx(0.1)
    assert "not slower than the 0.1 ms budget" in selection["rule"]
    winner = next(f for f in selection["finalists"] if f["trial"] == selection["winner"])
    assert winner["qualified"] and winner["latency_ms"] <= 0.1  # measured in the finals
    assert winner["latency_checks"][0]["against"] == "budget"
    assert result.final is not None and selection["timing_runs"] >= 1
    promotion = selection["screen"]["promotion"]  # the best two proxy-trained 3x longer
    assert promotion["epochs"] == 3 and len(promotion["candidates"]) == 2


def test_the_finals_table_shows_each_finalist_beside_the_reference():
    from gensynth.cli._explore_view import finals_rows

    reference, fast, as_fast = _trade()
    selection = select_winner([reference, fast, as_fast], NetScore(), accuracy_slack=1.0)
    rows = {row[0]: row for row in finals_rows(selection)}
    assert rows["ref"][2:4] == ["100.00%", "+0.00"] and rows["ref"][5] == "1.00"
    assert rows["#7"][3] == "-0.80" and rows["#7"][5] == "0.70"
    assert rows["#7"][9] == "winner (within the accuracy slack)"
    assert rows["#8"][6] == "50.00K" and "not 5% faster" in rows["#8"][9]


# -- accurate enough, as fast as possible: --accuracy-min alone --------------------------------


def test_accuracy_min_alone_asks_for_the_fastest_net_that_meets_it():
    spec = resolve_options(ExploreOptions(accuracy_min="99%"))
    assert spec.fastest and spec.tolerance == pytest.approx(0.9)  # a wide MACs range
    assert not resolve_options(ExploreOptions(accuracy_min="99%", flops="25M")).fastest
    assert not resolve_options(ExploreOptions(accuracy_min="99%", latency="1ms")).fastest
    reference = _finalist(0, 100.0, 200_000, (1.00, 1.00, 1.01), "reference")
    cheap = _finalist(3, 99.3, 40_000, (0.50, 0.52, 0.49))  # meets 99%, twice as fast
    cheaper = _finalist(4, 98.6, 20_000, (0.30, 0.31, 0.30))  # fastest, but misses 99%
    selection = select_winner([reference, cheap, cheaper], NetScore(), accuracy_min=99.0,
                              fastest=True, reference_floor=False)  # fmt: skip
    assert selection.winner is cheap and selection.required_metric == 99.0
    assert "validation accuracy 98.60% < 99.00%" in selection.verdicts[2].reasons[0]
    decision = selection.decision
    assert (
        "the reference already meets the requirement on validation (100.00% with no room "
        "above it), so the finals went to cheaper candidates that still meet it" in decision
    )
    assert "trial #3 won: the fastest qualifying finalist" in decision
    assert selection.to_json()["reference_floor"] is False


def test_the_start_of_a_run_says_which_rule_applies():
    from gensynth.search.selection import mode_lines

    assert mode_lines(resolve_options(ExploreOptions())) == []
    latency = mode_lines(resolve_options(ExploreOptions(latency="0.5ms")))
    assert latency[0].startswith("latency-first: the reference is plain scaled to the 0.5 ms")
    enough = mode_lines(resolve_options(ExploreOptions(accuracy_min="99%")))
    assert enough[0].startswith("accurate enough, as fast as possible")
    trade = mode_lines(resolve_options(ExploreOptions(accuracy_slack="1pt")))
    assert "up to 1 point below the reference" in trade[0]


# -- top-end fidelity: promotion before the finals ---------------------------------------------


def test_promotion_reorders_the_best_few_by_the_longer_proxy_run():
    from gensynth.search.promote import promote

    reference = _record(0, "reference")
    candidates = [_record(n) for n in (4, 6, 3, 9)]
    longer = {0: 90.0, 4: 88.0, 6: 93.0, 3: 91.0, 9: 99.0}  # #9 is not promoted (count 3)
    order, promotion = promote(reference, candidates, 3, lambda r: longer[r.number], 12)
    assert [r.number for r in order] == [6, 3, 4, 9]  # #4 fell below the reference: last of 3
    assert promotion.reference_metric == 90.0 and set(promotion.metrics) == {4, 6, 3}
    assert promotion.to_json()["order"] == [6, 3, 4, 9] and promotion.epochs == 12


def test_promote_is_off_by_default_and_checked():
    assert resolve_options(ExploreOptions()).promote == 0
    assert resolve_options(ExploreOptions(promote=3)).promote == 3
    with pytest.raises(ConfigError, match=r"--promote: expected 0 \(off\) or a number"):
        resolve_options(ExploreOptions(promote=-1))


def test_a_candidate_too_slow_at_its_narrowest_widths_is_repaired_by_downsampling_earlier():
    from gensynth.backends import LatencyResult
    from gensynth.constraints.latency import LatencyIndicator, repair_latency

    class FakeIndicator(LatencyIndicator):
        def measure(self, spec, *, fresh=False):
            ms = count_costs(spec).macs / 1e8  # 1 ms per 100M MACs
            return LatencyResult(
                backend="onnxruntime-cpu", batch=1, threads=1, median_ms=ms, p90_ms=ms,
                mean_ms=ms, min_ms=ms, cv=0.0, repeats=20, warmup=3, parity_max_abs_diff=0.0,
                seconds_total=0.0,
            )  # fmt: skip

    design = _plain()  # 0.53 ms at its narrowest widths, without earlier downsampling
    repaired = repair_latency(design, 0.2, indicator=FakeIndicator(0.2, use_cache=False))
    assert repaired is not None and count_costs(repaired).macs / 1e8 <= 0.18
    assert repaired.stages[0].stride == 2  # the first stage now downsamples
    assert repair_latency(design, 0.01, indicator=FakeIndicator(0.01, use_cache=False)) is None
