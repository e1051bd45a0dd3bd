"""The generator drafts several repaired mutants and keeps the one the utility favours."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from search_builders import tiny_spec

from gensynth.prototypes import reference_spec
from gensynth.search.generator import Generator
from gensynth.studies.records import TrialRecord


def _generator(tmp_path, **overrides) -> Generator:
    spec = tiny_spec(tmp_path, **overrides)
    return Generator(spec, in_channels=1, input_size=32, num_classes=3)


def _parent(generator: Generator, metric: float = 80.0) -> TrialRecord:
    design = generator.prototype.default_spec(in_channels=1, input_size=32, num_classes=3)
    proposal = generator._repair(design, "sample", "default")
    assert proposal.feasible
    return TrialRecord(
        number=0, state="COMPLETE", values=(50.0,), spec=proposal.spec.to_dict(),
        spec_hash=proposal.spec.spec_hash, describe="", origin="sample", feasible=True,
        reason=None, macs=proposal.costs.macs, params=proposal.costs.params, latency_ms=None,
        metric=metric, netscore=50.0, insights={}, fail_reason=None, user_attrs={},
        duration_s=1.0,
    )  # fmt: skip


def test_the_kept_mutant_has_the_best_expected_utility_of_those_drafted(tmp_path, monkeypatch):
    generator = _generator(tmp_path)
    parent = _parent(generator)
    drafted = []
    original = generator._repair

    def recording(design, origin, detail):
        proposal = original(design, origin, detail)
        drafted.append(proposal)
        return proposal

    monkeypatch.setattr(generator, "_repair", recording)
    chosen = generator._mutate(np.random.default_rng(3), [parent])
    fresh = [p for p in drafted if p.feasible and p.spec.spec_hash != parent.spec_hash]
    assert len({p.spec.spec_hash for p in fresh}) >= 2, "several mutants should be drafted"
    best = max(generator._expected_utility(parent, p) for p in fresh)
    assert generator._expected_utility(parent, chosen) == pytest.approx(best)
    assert chosen.parent == 0 and chosen.origin == "mutation"


def test_expected_utility_prefers_fewer_parameters_at_the_parents_accuracy(tmp_path):
    generator = _generator(tmp_path)
    parent = _parent(generator)
    default = generator.prototype.default_spec(in_channels=1, input_size=32, num_classes=3)
    design = generator._repair(default, "sample", "x")
    lighter = dataclasses.replace(
        design, costs=dataclasses.replace(design.costs, params=design.costs.params // 2)
    )
    assert generator._expected_utility(parent, lighter) > generator._expected_utility(
        parent, design
    )


def test_other_objectives_keep_the_first_mutant(tmp_path):
    generator = _generator(tmp_path, objectives="accuracy,macs")
    parent = _parent(generator)
    proposal = generator._repair(reference_spec("resnet18", input_size=32), "sample", "x")
    assert generator._expected_utility(parent, proposal) == 0.0


def test_a_generative_sample_is_the_lightest_of_its_drafts_and_repeatable(tmp_path):
    import optuna

    from gensynth.studies.samplers import make_sampler

    generator = _generator(tmp_path)
    study = optuna.create_study(sampler=make_sampler("generative", seed=0, trials=10))
    trial = study.ask()
    chosen = generator._sample(trial)
    drafts = [generator._repair(d, "sample", "") for d in generator._draft(trial, 4)]
    assert len({d.spec.spec_hash for d in drafts}) > 1
    feasible = [d for d in drafts if d.feasible]
    assert chosen.feasible and chosen.spec.spec_hash in {d.spec.spec_hash for d in feasible}
    assert generator._draft_utility(chosen) == max(generator._draft_utility(d) for d in feasible)
    assert generator._sample(trial).spec.spec_hash == chosen.spec.spec_hash  # seeded
    assert trial.params == {}  # drafting happens on a copy; the runner records the design


def test_the_baseline_strategies_draw_once_from_the_study_sampler(tmp_path):
    import optuna

    generator = _generator(tmp_path, strategy="tpe")
    trial = optuna.create_study().ask()
    proposal = generator._sample(trial)
    assert proposal.detail == "drawn by the study's sampler"


def test_drafts_follow_what_the_study_has_learned(tmp_path):
    """After its random start, TPE drafts where the study's good trials were."""
    import optuna

    from gensynth.prototypes.params import encode
    from gensynth.studies.samplers import make_sampler

    generator = _generator(tmp_path, strategy="tpe")
    study = optuna.create_study(
        direction="maximize", sampler=make_sampler("tpe", seed=0, trials=16)
    )
    rng = np.random.default_rng(0)
    for _ in range(24):
        design = generator._draft(study.ask(), 1)[0]
        good = design.stages[0].block == "basic"
        params = encode(design)
        study.add_trial(optuna.trial.create_trial(
            params={k: v for k, (v, _) in params.items()},
            distributions={k: d for k, (_, d) in params.items()},
            value=float(good) + 0.01 * rng.random(),
        ))  # fmt: skip
    later = generator._draft(study.ask(), 8)
    assert sum(d.stages[0].block == "basic" for d in later) >= 5  # 1 in 5 by chance


def _scored(number: int, metric: float, netscore: float, origin: str = "sample") -> TrialRecord:
    return TrialRecord(
        number=number, state="COMPLETE", values=(netscore,), spec={"stem": number},
        spec_hash=f"h{number}", describe="", origin=origin, feasible=True, reason=None,
        macs=1, params=1, latency_ms=None, metric=metric, netscore=netscore, insights={},
        fail_reason=None, user_attrs={}, duration_s=1.0,
    )  # fmt: skip


def _history() -> list[TrialRecord]:
    """A reference at 77% and light designs that score higher but are less accurate."""
    light = [_scored(n, 60.0 + n, 100.0 + n) for n in range(1, 9)]
    return [_scored(0, 77.0, 92.0, origin="reference"), *light, _scored(9, 80.0, 95.0)]


def test_the_accurate_pool_holds_what_is_at_least_as_accurate_as_the_reference():
    from gensynth.search.selection import accurate_pool

    pool = accurate_pool(_history())
    assert [r.number for r in pool] == [0, 9]
    assert len(accurate_pool(_history()[1:])) == 9, "no reference: every scored trial"


def test_elites_are_drawn_only_from_trials_as_accurate_as_the_reference(tmp_path):
    generator = _generator(tmp_path)
    history = _history()
    picks = {generator._pick_elite(np.random.default_rng(s), history).number for s in range(40)}
    assert picks <= {0, 9} and 9 in picks, picks
    # without the reference, NetScore alone would pick the light, less accurate designs
    without = {generator._pick_elite(np.random.default_rng(s), history[1:]).number
               for s in range(40)}  # fmt: skip
    assert without <= {8, 7, 6}, without
