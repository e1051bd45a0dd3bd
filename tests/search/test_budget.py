"""Budgets that fit the data: the plan follows the measured speed, flags and a resumed study."""

from __future__ import annotations

import pytest

from gensynth.search import budget as budget_module
from gensynth.search.budget import MAX_TRIALS, MIN_TRIALS, plan_budget
from gensynth.search.study_spec import ExploreOptions, resolve_options
from gensynth.training import TrainConfig


class _Data:
    format = "generic-cls"
    masks = None

    def __init__(self, train: int) -> None:
        self.train = train

    def indices(self, split: str) -> list[int]:
        return list(range(self.train if split == "train" else 10))


def _plan(monkeypatch, rates: tuple[float, ...], train: int = 1000, **options):
    rates = (*rates, None)[:3]  # no progressive speed unless one is given
    monkeypatch.setattr(budget_module, "_train_rates", lambda *a: rates)
    spec = resolve_options(ExploreOptions(**options))
    proxy = TrainConfig.for_task(spec.task)
    return plan_budget(spec, _Data(train), None, proxy, None)


def test_a_fast_machine_gets_full_finals_and_many_trials(monkeypatch):
    spec, plan = _plan(monkeypatch, (2000.0, 400.0), budget="60m")
    assert (spec.finalists, spec.final_epochs) == (
        3,
        resolve_options(ExploreOptions()).final_epochs,
    )
    assert MIN_TRIALS <= spec.trials <= MAX_TRIALS and spec.planned == ()
    assert plan.source == "measured" and plan.expected_s <= 60 * 60
    assert spec.timeout_s == pytest.approx(max(1.5 * spec.trials * plan.trial_s, 300))


def test_a_slow_machine_gets_fewer_finalists_then_fewer_epochs(monkeypatch):
    spec, plan = _plan(monkeypatch, (200.0, 5.0), budget="20m")
    assert spec.finalists == 1 and spec.final_epochs < 30
    assert spec.trials == MIN_TRIALS  # nothing left for the search but its minimum
    assert "1 finalist and the reference" in plan.describe()


def test_flags_are_kept_and_only_the_rest_is_planned(monkeypatch):
    spec, _ = _plan(monkeypatch, (200.0, 5.0), budget="20m", trials=7, finalists=3)
    assert (spec.trials, spec.finalists) == (7, 3)


def test_budget_off_and_a_resumed_study_plan_nothing(monkeypatch):
    monkeypatch.setattr(budget_module, "_train_rates", pytest.fail)
    fixed = resolve_options(ExploreOptions(budget="off"))
    assert plan_budget(fixed, _Data(100), None, None, None)[1].source == "fixed"
    spec = resolve_options(ExploreOptions())
    stored = {"trials": 17, "finalists": 2, "final_epochs": 12, "timeout_s": 99.0}
    resumed, plan = plan_budget(spec, _Data(100), None, None, stored)
    assert (resumed.trials, resumed.finalists, resumed.final_epochs) == (17, 2, 12)
    assert resumed.timeout_s == 99.0 and plan.source == "stored"


def test_a_budget_must_be_a_positive_duration():
    from gensynth.errors import ConfigError

    with pytest.raises(ConfigError, match="--budget"):
        resolve_options(ExploreOptions(budget="0"))


def test_finalists_train_within_the_planned_time_not_only_the_planned_epochs():
    from gensynth.search.budget import BudgetPlan
    from gensynth.search.finalize import FINALIST_SLACK, finalist_time_budget

    measured = BudgetPlan(3600.0, 40, 3, 60, 900.0, 20.0, 600.0, "measured")
    assert finalist_time_budget(measured) == FINALIST_SLACK * 600.0
    fixed = BudgetPlan(None, 10, 3, 60, None, None, None, "fixed")
    assert finalist_time_budget(fixed) is None  # epochs given by hand: trained as asked


def test_thinned_segmentation_epochs_are_planned_as_the_shorter_epochs_they_are():
    import numpy as np

    from gensynth.search.budget import _epoch_images

    class _Masks(_Data):
        def __init__(self) -> None:
            super().__init__(100)
            self.masks = np.zeros((110, 4, 4), np.uint8)
            self.masks[:20, 0, 0] = 1  # 20 of the 100 training images have a defect

    thinned = TrainConfig.for_task("segment", negative_share=0.5)
    assert _epoch_images(_Masks(), thinned, 100) == 40, "20 defect and 20 defect-free"
    assert _epoch_images(_Masks(), thinned, 50) == 20, "a proxy subset, by the same share"
    assert _epoch_images(_Masks(), TrainConfig.for_task("segment"), 100) == 100
    assert _epoch_images(_Data(100), thinned, 100) == 100, "no masks: every image"


def test_progressive_segmentation_finals_are_planned_at_their_mixed_speed(monkeypatch):
    # the full segmentation recipe trains 3/4 of its epochs at half the side
    same, plan = _plan(monkeypatch, (200.0, 20.0, 20.0), budget="60m", task="segment")
    quick, quick_plan = _plan(monkeypatch, (200.0, 20.0, 80.0), budget="60m", task="segment")
    assert quick.final_epochs > same.final_epochs
    per_image = [p.finalist_s / (p.final_epochs * 1000 * 1.1) for p in (plan, quick_plan)]
    assert per_image == pytest.approx([1 / 20.0, 0.75 / 80.0 + 0.25 / 20.0])
