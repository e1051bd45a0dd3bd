"""The explainer registry and the contract every explainer keeps (parametrised from it)."""

from __future__ import annotations

import pytest
import torch
from explain_helpers import tiny_spec, tiny_unet_spec

from gensynth.errors import ConfigError
from gensynth.explain import (
    EXPLAINERS,
    AuditConfig,
    Explainer,
    Subject,
    find_cam_layer,
    list_explainers,
    make_explainer,
    select_samples,
)


def test_registry_lists_the_four_methods():
    assert list_explainers() == ["critical", "gradcam", "ig", "occlusion"]
    assert all(issubclass(cls, Explainer) for _, cls in EXPLAINERS.items())


def test_unknown_method_lists_valid_ones_and_the_closest():
    with pytest.raises(ConfigError) as caught:
        make_explainer("gradcm")
    assert "gradcam, ig, occlusion" in caught.value.message
    assert "did you mean 'gradcam'" in caught.value.hint


def test_config_rejects_bad_values():
    with pytest.raises(ConfigError, match="lime"):
        AuditConfig(methods=("lime",))
    with pytest.raises(ConfigError, match="tau"):
        AuditConfig(tau=1.0)
    with pytest.raises(ConfigError, match="samples"):
        AuditConfig(samples=0)
    assert AuditConfig(max_area=0.1).ladder == (0.005, 0.01, 0.02, 0.05, 0.1)


@pytest.mark.parametrize("task", ["classify", "segment"])
@pytest.mark.parametrize("name", EXPLAINERS.names())
def test_every_explainer_returns_finite_non_negative_maps(name, task):
    spec = tiny_spec() if task == "classify" else tiny_unet_spec()
    subject = Subject(spec.build(), task, 32)
    x = torch.rand(3, 1, 32, 32) * 2 - 1
    prediction = subject.predict(x)
    config = AuditConfig(ig_steps=4)
    maps = make_explainer(name, config).attribute(subject, x.clone(), prediction)
    assert maps.shape == (3, 32, 32)
    assert torch.isfinite(maps).all() and (maps >= 0).all()
    assert make_explainer(name, config).settings(subject) is not None


def test_gradcam_uses_the_last_stage_that_is_still_wide():
    model = tiny_spec(size=32).build()  # stem 32 px, stage0 16 px, stage1 8 px
    name, _ = find_cam_layer(model, 1, 32)
    assert name == "stage1"
    small = tiny_spec(size=8).build()  # stage1 is 2 px: too coarse, stage0 (4 px) is used
    assert find_cam_layer(small, 1, 8)[0] == "stage0"


def test_samples_are_stratified_seeded_and_interleaved():
    labels = torch.tensor([0] * 10 + [1] * 10 + [2] * 4).numpy()
    chosen = select_samples(labels, 9, seed=3)
    assert sorted(labels[chosen].tolist()) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert labels[chosen[:3]].tolist() == [0, 1, 2]
    assert select_samples(labels, 9, seed=3).tolist() == chosen.tolist()
    assert select_samples(labels, 9, seed=4).tolist() != chosen.tolist()
    assert len(select_samples(labels, 100, seed=0)) == 24


def test_subject_check_names_the_input_shape_and_output_mismatch():
    from gensynth.errors import DataError

    fixed = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32 * 32, 3))
    with pytest.raises(DataError, match=r"cannot run on inputs of shape \(1, 48, 48\)"):
        Subject(fixed, "classify", 48).check(3)
    Subject(fixed, "classify", 32).check(3)  # fits
    with pytest.raises(DataError, match=r"expected model outputs of shape \(1, 6\)"):
        Subject(fixed, "classify", 32).check(6)
    with pytest.raises(DataError, match=r"\(1, 1, 32, 32\)"):
        Subject(fixed, "segment", 32).check()
