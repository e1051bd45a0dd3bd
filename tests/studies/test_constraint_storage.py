"""Constraint values are stored once, where Optuna's samplers and optuna-dashboard both read them.

optuna-dashboard reads only the list under the trial's ``constraints`` system attribute; Optuna 5
reads that list (as constraints "0", "1", ...) and the named ``constraints:<name>`` keys, and
merges the two. gensynth writes the list once, with the names in a user attribute. Studies of
the previous version (named keys only) still read back by name, and the samplers choose the
same candidates whichever form a trial holds, even in a study that mixes them.
"""

from __future__ import annotations

import io
import json
import warnings
import wsgiref.util
from collections.abc import Callable

import optuna
import pytest

from gensynth.errors import TrialFailed
from gensynth.studies._optuna_internals import set_constraint_list
from gensynth.studies.export import trial_row
from gensynth.studies.records import Attr, TrialRecord, constraints_of, record_constraints
from gensynth.studies.samplers import make_sampler

VALUES = {"macs_over": 0.25, "macs_under": -0.45, "params": -0.1}
Writer = Callable[[optuna.Trial, dict[str, float]], None]


def _named(trial: optuna.Trial, values: dict[str, float]) -> None:
    """What gensynth 0.1 wrote: Optuna 5's named constraints only."""
    for name, value in values.items():
        trial.set_constraint(name, value)


def _named_and_list(trial: optuna.Trial, values: dict[str, float]) -> None:
    """Both forms on one trial (what gensynth does not do): Optuna counts each value twice."""
    _named(trial, values)
    set_constraint_list(trial, list(values.values()))


def _study_with(writer: Writer, values: dict[str, float], storage: str | None = None):
    study = optuna.create_study(storage=storage, study_name="one")
    trial = study.ask()
    writer(trial, values)
    study.tell(trial, 1.0)
    return study


def _get(application, path: str) -> dict:
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    wsgiref.util.setup_testing_defaults(environ)
    environ["wsgi.input"] = io.BytesIO(b"")
    return json.loads(b"".join(application(environ, lambda *args: None)))


def _dashboard_trials(storage: str) -> list[dict]:
    """The trials of the storage's one study, as optuna-dashboard's JSON API serves them."""
    optuna_dashboard = pytest.importorskip("optuna_dashboard")
    application = optuna_dashboard.wsgi(storage)
    (summary,) = _get(application, "/api/studies")["study_summaries"]
    return _get(application, f"/api/studies/{summary['study_id']}")["trials"]


def test_values_are_stored_once_where_optuna_and_the_dashboard_read_them(tmp_path):
    url = f"sqlite:///{tmp_path}/one.db"
    study = _study_with(record_constraints, VALUES, url)
    trial = study.trials[0]
    assert trial.constraints == {"0": 0.25, "1": -0.45, "2": -0.1}  # no second, named copy
    assert trial.user_attrs[Attr.CONSTRAINT_NAMES] == ["macs_over", "macs_under", "params"]
    assert constraints_of(trial) == VALUES
    assert TrialRecord.from_trial(trial).constraints == VALUES
    assert trial_row(trial)["constraints"] == VALUES
    assert _dashboard_trials(url)[0]["constraints"] == [0.25, -0.45, -0.1]
    assert study.best_trials == []  # Optuna itself sees the trial as infeasible


def test_the_dashboard_sees_no_constraints_in_the_named_form(tmp_path):
    """Why the list: the form of gensynth 0.1 (named only) is invisible to the dashboard."""
    url = f"sqlite:///{tmp_path}/one.db"
    _study_with(_named, VALUES, url)
    assert _dashboard_trials(url)[0]["constraints"] == []


def test_a_study_of_the_previous_version_reads_back_by_name():
    study = _study_with(_named, VALUES)
    trial = study.trials[0]
    assert Attr.CONSTRAINT_NAMES not in trial.user_attrs
    assert constraints_of(trial) == VALUES
    assert trial_row(trial)["constraints"] == VALUES


def test_a_trial_that_carries_constraints_keeps_them():
    """A retried trial inherits the lost one's constraints (same spec): never a second form."""
    study = optuna.create_study()
    trial = study.ask()
    _named(trial, VALUES)
    record_constraints(trial, {"macs_over": 9.0})
    assert trial.constraints == VALUES
    assert Attr.CONSTRAINT_NAMES not in trial.user_attrs


def test_a_retried_trial_keeps_the_list_and_its_names():
    from optuna.storages import RetryHeartbeatStaleTrialCallback

    study = optuna.create_study()
    lost = study.ask()
    record_constraints(lost, VALUES)
    study.tell(lost, state=optuna.trial.TrialState.FAIL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        RetryHeartbeatStaleTrialCallback()(study, study.trials[0])
    retry = study.ask()  # the re-queued trial
    record_constraints(retry, {"macs_over": 9.0})
    study.tell(retry, 1.0)
    again = study.trials[1]
    assert again.system_attrs["failed_trial"] == 0
    assert constraints_of(again) == VALUES and len(again.constraints) == len(VALUES)


def test_a_value_that_is_not_finite_fails_the_trial():
    study = optuna.create_study()
    trial = study.ask()
    with pytest.raises(TrialFailed, match="'latency': expected a finite number, got nan"):
        record_constraints(trial, {"macs_over": -0.1, "latency": float("nan")})
    assert trial.constraints == {}


def test_names_that_do_not_match_the_list_fall_back_to_optunas_keys():
    study = optuna.create_study()
    trial = study.ask()
    set_constraint_list(trial, [0.5])
    trial.set_user_attr(Attr.CONSTRAINT_NAMES, ["macs_over", "macs_under"])
    study.tell(trial, 1.0)
    assert constraints_of(study.trials[0]) == {"0": 0.5}


# --- the samplers ---------------------------------------------------------------------------

#: How each trial of a study stores its constraints (by trial number).
LAYOUTS: dict[str, Callable[[int], Writer]] = {
    "named (gensynth 0.1)": lambda n: _named,
    "list (gensynth now)": lambda n: record_constraints,
    "an old study resumed": lambda n: _named if n < 10 else record_constraints,
    "alternating": lambda n: _named if n % 2 else record_constraints,
}
SAMPLERS = {
    "gensynth tpe": (lambda: make_sampler("tpe", seed=0, trials=20), 1),
    "gensynth tpe, two objectives": (lambda: make_sampler("tpe", seed=0, trials=20), 2),
    "TPESampler": (lambda: optuna.samplers.TPESampler(seed=0, n_startup_trials=5), 1),
    "NSGAIISampler": (lambda: optuna.samplers.NSGAIISampler(seed=0, population_size=6), 2),
}


def _proposals(sampler_name: str, layout: Callable[[int], Writer]) -> list[tuple[float, ...]]:
    """The parameters a sampler proposes over 30 trials that are nearly all infeasible.

    Nearly every trial breaks a limit, so what the sampler learns from depends on how it ranks
    infeasible trials: by their summed violation, the sum of their positive constraint values.
    """
    make, objectives = SAMPLERS[sampler_name]
    study = optuna.create_study(sampler=make(), directions=["minimize"] * objectives)

    def objective(trial: optuna.Trial) -> float | tuple[float, float]:
        x, y = trial.suggest_float("x", 0, 1), trial.suggest_float("y", 0, 1)
        layout(trial.number)(trial, {"macs_over": x - 0.02, "macs_under": y - 0.05})
        return x + y if objectives == 1 else (x, 1 - y)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental multivariate TPE, a study's best trial
        study.optimize(objective, n_trials=30)
    return [tuple(t.params.values()) for t in study.trials]


@pytest.mark.parametrize("sampler_name", SAMPLERS)
def test_the_samplers_propose_the_same_whichever_form_a_trial_holds(sampler_name):
    reference = _proposals(sampler_name, LAYOUTS["named (gensynth 0.1)"])
    for layout in list(LAYOUTS)[1:]:
        assert _proposals(sampler_name, LAYOUTS[layout]) == reference, layout


@pytest.mark.parametrize("sampler_name", SAMPLERS)
def test_writing_both_forms_would_change_the_samplers_choices(sampler_name):
    """The check above can fail: a trial holding both forms counts its violation twice, which
    reorders the infeasible trials of a study whose other trials hold one form."""
    reference = _proposals(sampler_name, LAYOUTS["named (gensynth 0.1)"])
    mixed = _proposals(sampler_name, lambda n: _named if n % 2 else _named_and_list)
    assert mixed != reference
    uniform = _proposals(sampler_name, lambda n: _named_and_list)
    assert uniform == reference  # doubling every trial alike keeps the order: it is the mix
