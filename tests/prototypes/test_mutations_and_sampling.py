"""Mutation operators (parametrised from the registry) and Optuna sampling of each space."""

from __future__ import annotations

import dataclasses

import numpy as np
import optuna
import pytest
import torch
import yaml
from proto_cases import PROTOTYPE_NAMES, SMALL, default

from gensynth.constraints import count_costs
from gensynth.prototypes import (
    MUTATIONS,
    ResidualSpec,
    get_prototype,
    list_mutations,
    mutate,
    spec_from_dict,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)

OPERATOR_CASES = [(op.name, proto) for op in list_mutations() for proto in op.prototypes]


@pytest.mark.parametrize(("op_name", "prototype"), OPERATOR_CASES)
def test_each_operator_yields_a_valid_changed_spec(op_name, prototype):
    op = MUTATIONS.get(op_name)
    spec = default(prototype)
    rng = np.random.default_rng(0)
    changed = 0
    for _ in range(20):
        result = op.apply(spec, rng, None)
        if result is None:
            continue
        new, text = result
        new.validate()
        assert text and "\n" not in text
        changed += new != spec
    assert changed > 0, f"{op_name} never changed the {prototype} default"


@pytest.mark.parametrize("name", sorted(SMALL))
def test_200_random_mutations_stay_valid(name):
    spec = SMALL[name]
    rng = np.random.default_rng(1)
    seen = set()
    for _ in range(200):
        spec, text = mutate(spec, rng)
        spec.validate()
        assert spec_from_dict(yaml.safe_load(spec.to_yaml())) == spec
        assert count_costs(spec).macs > 0
        seen.add(text.split(":")[0])
    assert len(seen) >= 5  # many different operators were used
    with torch.device("meta"):  # the last one still builds (widths may have grown a lot)
        model = spec.build()
    assert sum(p.numel() for p in model.parameters()) == count_costs(spec).params


def _insights(spec, sensitive: str, dead: str | None = None) -> dict:
    data = {
        name: {"sensitivity": 0.01, "dead_fraction": 0.0, "energy": 1.0}
        for name in spec.stage_names()
    }
    data[sensitive]["sensitivity"] = 0.3
    if dead is not None:
        data[dead]["dead_fraction"] = 0.9
    return data


@pytest.mark.parametrize("prototype", PROTOTYPE_NAMES)
def test_shift_width_moves_width_to_the_sensitive_stage(prototype):
    spec = default(prototype)
    names = spec.stage_names()
    insights = _insights(spec, names[1])
    insights[names[-1]]["sensitivity"] = 0.0  # the least sensitive stage donates
    new, text = MUTATIONS.get("shift_width").apply(spec, np.random.default_rng(0), insights)
    widths, old = (
        dict(zip(spec.width_names(), new.widths(), strict=True)),
        dict(zip(spec.width_names(), spec.widths(), strict=True)),
    )
    assert widths[names[1]] > old[names[1]]
    assert widths[names[-1]] < old[names[-1]]
    assert "sensitivity" in text


def test_insights_steer_narrow_and_deepen():
    spec = default("residual")
    insights = _insights(spec, sensitive="stage1", dead="stage3")
    rng = np.random.default_rng(2)
    narrowed = [MUTATIONS.get("narrow").apply(spec, rng, insights)[1] for _ in range(100)]
    assert sum(t.startswith("stage3") for t in narrowed) > 80
    deepened = [MUTATIONS.get("deepen").apply(spec, rng, insights)[1] for _ in range(100)]
    assert sum(t.startswith("stage1") for t in deepened) > 80
    plain = [MUTATIONS.get("narrow").apply(spec, rng, None)[1] for _ in range(100)]
    assert sum(t.startswith("stage3") for t in plain) < 50  # uniform without insights


def test_insights_make_shift_width_more_likely():
    spec = default("residual")
    insights = _insights(spec, sensitive="stage2")
    rng = np.random.default_rng(3)
    with_ = sum(
        mutate(spec, rng, insights=insights)[1].startswith("shift_width") for _ in range(300)
    )
    without = sum(mutate(spec, rng)[1].startswith("shift_width") for _ in range(300))
    assert with_ > 2 * without


def test_fixed_trial_samples_exactly_the_given_design():
    params = {
        "n_stages": 2,
        "stem_width": 24,
        "stem_kernel": 5,
        "stem_pool": True,
        "stage0_block": "inverted",
        "stage0_depth": 2,
        "stage0_width": 32,
        "stage0_stride": 1,
        "stage0_kernel": 3,
        "stage0_expansion_inverted": 6.0,
        "stage0_se": True,
        "stage1_block": "basic",
        "stage1_depth": 1,
        "stage1_width": 64,
        "stage1_stride": 2,
        "stage1_kernel": 5,
        "stage1_se": False,
    }
    spec = get_prototype("residual").sample(optuna.trial.FixedTrial(params))
    assert isinstance(spec, ResidualSpec)
    assert spec.describe() == "s24_k5_mp | ir_k3_e6_c32_n2_s1_se | bb_k5_c64_n1_s2"
    assert (spec.in_channels, spec.input_size, spec.num_classes) == (1, 200, 6)


@pytest.mark.parametrize("prototype", PROTOTYPE_NAMES)
@pytest.mark.parametrize("sampler", ["random", "tpe"])
def test_study_sampling_is_valid_with_static_distributions(prototype, sampler):
    samplers = {
        "random": optuna.samplers.RandomSampler(seed=0),
        "tpe": optuna.samplers.TPESampler(seed=0, n_startup_trials=5),
    }
    study = optuna.create_study(sampler=samplers[sampler])
    proto = get_prototype(prototype)
    hashes = set()
    for _ in range(15):
        trial = study.ask()
        spec = proto.sample(trial, in_channels=3, input_size=64, num_classes=4)
        spec.validate()
        assert (spec.in_channels, spec.input_size, spec.num_classes) == (3, 64, 4)
        hashes.add(spec.spec_hash)
        study.tell(trial, float(count_costs(spec).macs))
    assert len(hashes) > 10
    distributions: dict = {}
    for trial in study.trials:
        for name, dist in trial.distributions.items():
            assert distributions.setdefault(name, dist) == dist, name
    first = next(iter(study.trials[0].params))  # the depth parameter is asked first
    assert first in ("n_stages", "n_levels")


@pytest.mark.parametrize("prototype", PROTOTYPE_NAMES)
def test_sampling_fits_small_inputs(prototype):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=5))
    for _ in range(30):
        spec = get_prototype(prototype).sample(study.ask(), input_size=12)
        spec.validate()
        assert spec.input_size == 12


def test_default_specs_adapt_and_keep_the_requested_io():
    spec = get_prototype("residual").default_spec(in_channels=3, input_size=12, num_classes=2)
    assert spec.input_shape == (3, 12, 12) and spec.num_classes == 2
    assert [s.stride for s in spec.stages] != [s.stride for s in default("residual").stages]
    unet = get_prototype("residual-unet").default_spec(input_size=200)
    assert dataclasses.replace(unet, input_size=224) == default("residual-unet")
