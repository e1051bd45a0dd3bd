"""Workers that start together train the reference once: an earlier trial still proposing has it.

Seen for real with ``--workers 2``: trials 0 and 1 asked at the same moment, both saw no
reference in the study, and both trained it (a spec trained to COMPLETE twice).
"""

from __future__ import annotations

import optuna
from search_builders import tiny_spec

from gensynth.search.generator import Generator
from gensynth.studies.records import Attr, records_of


def _generator(tmp_path) -> Generator:
    return Generator(tiny_spec(tmp_path), in_channels=1, input_size=32, num_classes=3)


def test_a_trial_asked_while_an_earlier_one_is_still_proposing_leaves_it_the_reference(tmp_path):
    generator = _generator(tmp_path)
    study = optuna.create_study()
    first, second = study.ask(), study.ask()  # both RUNNING, neither has proposed yet
    history = records_of(study.get_trials())
    assert generator.propose(second, history).origin != "reference"
    assert generator.propose(first, history).origin == "reference"


def test_once_the_earlier_trial_proposed_something_else_the_next_one_takes_the_reference(
    tmp_path,
):
    generator = _generator(tmp_path)
    study = optuna.create_study()
    first = study.ask()
    first.set_user_attr(Attr.ORIGIN, "sample")  # settled: it is not the reference
    history = records_of(study.get_trials())
    assert generator.propose(study.ask(), history).origin == "reference"
