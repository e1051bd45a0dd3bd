"""A study written by gensynth 0.1.0 (commit 028c24a, before the engine refactor) resumes.

The fixture is the journal file that version wrote for a 3-trial exploration of
``write_class_folder`` data (32 px, 2M MACs ± 10%, seed 0). Its trials carry the design only in
user attributes (no Optuna params), their constraints only as named Optuna constraints, and the
study has no objective names. Regenerating the same folder gives the same data fingerprint, so
the study must resume as it is, keep its trials untouched, and go on.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import optuna
from studies_builders import write_class_folder

from gensynth.exploration import explore
from gensynth.search.study_spec import ExploreOptions, resolve_options
from gensynth.studies.leaderboard import leaderboard
from gensynth.studies.records import Attr, constraints_of
from gensynth.studies.storage import open_storage

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "study-v0.1.0-028c24a.log"


def test_a_study_of_the_previous_version_resumes_and_goes_on(tmp_path):
    log = tmp_path / "old.log"
    shutil.copy(FIXTURE, log)
    url = f"journal:///{log}"
    data = write_class_folder(tmp_path / "data")
    before = optuna.load_study(study_name="old", storage=open_storage(url)).get_trials()
    assert len(before) == 3 and all(t.state.name == "COMPLETE" for t in before)
    spec = resolve_options(
        ExploreOptions(
            data=str(data), input_size=32, flops="2M", tolerance="10%", trials=5, epochs=1,
            final_epochs=0, timeout="off", study="old", storage=url, threads=1, seed=0,
        )
    )  # fmt: skip
    result = explore(spec, finalize_winner=False)
    assert result.session.resumed and result.completed >= 5
    after = optuna.load_study(study_name="old", storage=open_storage(url)).get_trials()
    for old, now in zip(before, after[:3], strict=True):
        assert (now.values, now.user_attrs, now.state) == (old.values, old.user_attrs, old.state)
    fresh = [t for t in after[3:] if t.state.name == "COMPLETE"]
    assert fresh and all(Attr.SPEC in t.user_attrs for t in fresh)
    # the study gains objective names; old trials keep named constraints, new ones the list
    assert optuna.load_study(study_name="old", storage=open_storage(url)).metric_names == [
        "netscore"
    ]
    for old in before:
        assert set(old.constraints) == set(constraints_of(old)) == {"macs_over", "macs_under"}
    for now in fresh:
        assert set(now.constraints) == {"0", "1"}
        assert set(constraints_of(now)) == {"macs_over", "macs_under"}
    ranked = {row.trial for row in leaderboard(result.session.study)}
    assert {t.number for t in before if t.user_attrs.get(Attr.FEASIBLE)} <= ranked
