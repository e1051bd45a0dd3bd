"""The fault counts of ``fault_scenarios`` catch what they name (the marked tests rely on them)."""

from __future__ import annotations

import datetime

from fault_scenarios import completed, count_faults
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from gensynth.studies.records import Attr

T0 = datetime.datetime(2025, 1, 1, 12, 0, 0)


def _trial(number: int, state: TrialState = TrialState.COMPLETE, *, spec: str = "", **extra):
    attrs = {Attr.SPEC_HASH: spec or f"h{number}", Attr.FEASIBLE: True, Attr.ORIGIN: "sample",
             Attr.WEIGHTS: f"w{number}", **extra.pop("attrs", {})}  # fmt: skip
    finished = state.is_finished()
    trial = create_trial(
        state=state, value=float(number) if state == TrialState.COMPLETE else None,
        params={"x": 0.5}, distributions={"x": FloatDistribution(0, 1)}, user_attrs=attrs,
        system_attrs=extra.pop("system_attrs", {}),
    )  # fmt: skip
    trial.number = number
    trial.datetime_start = T0
    trial.datetime_complete = T0 + datetime.timedelta(seconds=number) if finished else None
    return trial


def test_an_undisturbed_study_counts_nothing():
    trials = [_trial(0), _trial(1), _trial(2, TrialState.FAIL)]
    figures = count_faults(completed(trials), trials).figures()
    assert figures == {"lost": 0, "duplicated": 0, "left_running": 0, "left_waiting": 0}


def test_a_completed_trial_that_failed_or_changed_is_lost():
    before = completed([_trial(0), _trial(1), _trial(2)])
    changed = _trial(1)
    changed.datetime_complete = T0 + datetime.timedelta(minutes=5)  # finished again, later
    after = [_trial(0, TrialState.FAIL), changed]  # and #2 is gone
    assert count_faults(before, after).lost == [0, 1, 2]


def test_a_spec_trained_twice_or_a_completed_trial_retried_is_duplicated():
    twin = _trial(1, spec="h0")
    reuse = _trial(2, spec="h0", attrs={Attr.ORIGIN: "reuse"})  # a recorded twin: fine
    retry = _trial(3, system_attrs={"retry_history": [0]})
    counts = count_faults({}, [_trial(0), twin, reuse, retry])
    assert counts.duplicated == ["spec h0 trained 2 times", "#3 retried completed #0"]


def test_running_and_waiting_trials_are_left_behind():
    trials = [_trial(0), _trial(1, TrialState.RUNNING), _trial(2, TrialState.WAITING)]
    counts = count_faults(completed(trials), trials)
    assert (counts.left_running, counts.left_waiting) == ([1], [2])
