"""Every study names its objectives after its spec, so tools show "netscore", not "Objective 0"."""

from __future__ import annotations

import optuna
import pytest

from gensynth.studies.storage import open_storage
from gensynth.studies.study import (
    DATA_KEY,
    IDENTITY_KEY,
    SPEC_KEY,
    StudyAttrs,
    name_metrics,
    open_study,
)

ATTRS = StudyAttrs(
    spec={"objectives": ["accuracy", "macs"]},
    identity={"objectives": ["accuracy", "macs"]},
    data={"fingerprint": "f00d"},
)
DIRECTIONS = ["maximize", "minimize"]


def _open(url: str, names: list[str], **kwargs) -> tuple[optuna.Study, bool]:
    return open_study(
        "named", open_storage(url), storage_url=url, directions=DIRECTIONS, sampler=None,
        attrs=ATTRS, metric_names=names, **kwargs,
    )  # fmt: skip


def _older_study(url: str) -> optuna.Study:
    """A study as gensynth wrote it before it named objectives: one trained trial."""
    study = optuna.create_study(study_name="named", storage=url, directions=DIRECTIONS)
    study.set_user_attr(SPEC_KEY, ATTRS.spec)
    study.set_user_attr(IDENTITY_KEY, ATTRS.identity)
    study.set_user_attr(DATA_KEY, ATTRS.data)
    trial = study.ask()
    trial.set_constraint("macs_over", -0.1)
    study.tell(trial, [80.0, 1_900_000.0])
    return study


def _everything(url: str) -> tuple:
    """Everything a study holds: user and system attributes, directions, trials."""
    (frozen,) = open_storage(url).get_all_studies()
    study = optuna.load_study(study_name="named", storage=url)
    return (frozen.user_attrs, frozen.system_attrs, frozen.directions, study.trials)


def test_a_new_study_names_its_objectives(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    _, resumed = _open(url, ["accuracy", "macs"])
    assert not resumed
    study = optuna.load_study(study_name="named", storage=url)
    assert study.metric_names == ["accuracy", "macs"]
    study.tell(study.ask(), [80.0, 1_900_000.0])
    assert study.trials_dataframe(multi_index=True)["values"].columns.tolist() == [
        "accuracy", "macs",
    ]  # fmt: skip


def test_resuming_an_older_study_names_it_and_changes_nothing_else(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    _older_study(url)
    before = _everything(url)
    _, resumed = _open(url, ["accuracy", "macs"])
    assert resumed
    assert optuna.load_study(study_name="named", storage=url).metric_names == ["accuracy", "macs"]
    user_attrs, system_attrs, directions, trials = _everything(url)
    assert (user_attrs, directions, trials) == before[:1] + before[2:]
    assert system_attrs == {**before[1], "study:metric_names": ["accuracy", "macs"]}


def test_a_study_that_has_names_keeps_them(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    _open(url, ["accuracy", "macs"])
    study, resumed = _open(url, ["netscore", "params"], force_resume=True)
    assert resumed and study.metric_names == ["accuracy", "macs"]


@pytest.mark.parametrize(
    ("stored", "wanted", "named"),
    [
        (["accuracy", "macs"], ["accuracy", "latency"], ["accuracy", "macs"]),  # what it holds
        (None, ["accuracy", "latency"], ["accuracy", "latency"]),
        (["netscore"], ["accuracy", "latency"], ["accuracy", "latency"]),  # stored count is off
        (["netscore"], ["netscore"], None),  # two directions, one name: never set
        (None, ["macs", "macs"], None),
    ],
)
def test_the_names_come_from_the_stored_spec_first_and_must_fit(stored, wanted, named):
    study = optuna.create_study(directions=DIRECTIONS)
    if stored is not None:
        study.set_user_attr(SPEC_KEY, {"objectives": stored})
    assert name_metrics(study, wanted) == named
    assert study.metric_names == named
