"""Explainers and metrics on hand-built models whose right answers are known."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from explain_helpers import BrightSegmenter, LooksAt, as_dataset, square_images

from gensynth.explain import (
    AuditConfig,
    Subject,
    coverage_iou,
    critical_factors,
    make_explainer,
    removal_impact,
    run_audit,
    summarize,
)
from gensynth.training import to_input

DEFECT = (12, 12, 20, 20)  # the masked defect, aligned with the 4-px occlusion grid
CORNER = (0, 0, 8, 8)  # a spurious bright stamp the corner model looks at
METHODS = ("gradcam", "ig", "occlusion", "critical")


def _inputs(stamp=None, count=4):
    images, masks = square_images(count, DEFECT, stamp=stamp)
    return images, masks, to_input(torch.from_numpy(images[:, None]))


def _box_mask(box, count=4, size=32):
    regions = torch.zeros(count, size, size, dtype=torch.bool)
    regions[:, box[0] : box[2], box[1] : box[3]] = True
    return regions


def _audit(model, stamp, methods=METHODS):
    images, masks, _ = _inputs(stamp, count=4)
    config = AuditConfig(methods=methods, samples=4, sanity_samples=2, coverage=False)
    result = run_audit(Subject(model, "classify", 32), as_dataset(images, masks), config)
    return summarize(result)


def test_a_model_that_looks_at_the_defect_scores_high_mask_share():
    summary = _audit(LooksAt(DEFECT), stamp=CORNER)
    for method in METHODS:
        numbers = summary["overall"][method]
        assert numbers["mask_energy"] > 0.9, (method, numbers)
        assert numbers["pointing_game"] == 1.0, method
        assert numbers["impact_score"] == 1.0, method
        assert numbers["mask_energy"] > numbers["mask_energy_chance"]
    assert summary["flagged"] == []


def test_a_model_that_looks_at_a_corner_scores_low_and_is_flagged():
    summary = _audit(LooksAt(CORNER), stamp=CORNER)
    for method in METHODS:
        numbers = summary["overall"][method]
        assert numbers["mask_energy"] < 0.05, (method, numbers)
        assert numbers["pointing_game"] == 0.0, method
    assert len(summary["flagged"]) == 4
    assert all("off the defect" in s["reasons"][0] for s in summary["samples"])


def test_impact_is_one_for_the_region_the_decision_depends_on_and_zero_elsewhere():
    subject = Subject(LooksAt(DEFECT), "classify", 32)
    _, _, x = _inputs()
    prediction = subject.predict(x)
    assert (prediction.target == 1).all()
    hit, after = removal_impact(subject, x, prediction, _box_mask(DEFECT), tau=0.5)
    assert hit.all() and (after < 0.5).all()
    ignored, after = removal_impact(subject, x, prediction, _box_mask(CORNER), tau=0.5)
    assert not ignored.any()
    assert np.allclose(after, prediction.confidence.numpy())


def test_critical_factors_grow_until_the_decision_changes():
    subject = Subject(LooksAt(DEFECT), "classify", 32)
    _, _, x = _inputs()
    prediction = subject.predict(x)
    maps = make_explainer("ig").attribute(subject, x.clone(), prediction)
    found = critical_factors(subject, x, prediction, maps, tau=0.5)
    assert found.found.all()
    # Removing most of the 8x8 defect (6.25% of the image) is enough; nothing outside it.
    assert (found.area <= 64 / 1024 + 1e-6).all()
    inside = _box_mask(DEFECT).numpy()
    assert not (found.regions & ~inside).any()
    # A map pointing only at the corner never finds a region with impact.
    corner_map = _box_mask(CORNER).float()
    missed = critical_factors(subject, x, prediction, corner_map, tau=0.5)
    assert not missed.found.any() and np.isnan(missed.area).all()


def test_coverage_iou_of_an_explanation_of_the_injected_patch():
    subject = Subject(LooksAt(DEFECT), "classify", 32)
    _, masks, x = _inputs()
    prediction = subject.predict(x)
    maps = make_explainer("ig").attribute(subject, x.clone(), prediction).numpy()
    assert [coverage_iou(m, k) for m, k in zip(maps, masks, strict=True)] == [1.0] * 4


@pytest.mark.parametrize("method", METHODS)
def test_segmentation_explains_the_predicted_region(method):
    subject = Subject(BrightSegmenter(), "segment", 32)
    _, masks, x = _inputs()
    prediction = subject.predict(x)
    assert torch.equal(prediction.region.bool(), torch.from_numpy(masks > 0))
    maps = make_explainer(method).attribute(subject, x.clone(), prediction)
    assert maps.shape == (4, 32, 32) and (maps >= 0).all()
    inside = torch.from_numpy(masks > 0)
    assert maps[inside].sum() > 0.9 * maps.sum(), method


def test_segmentation_impact_erasing_the_defect_versus_elsewhere():
    subject = Subject(BrightSegmenter(), "segment", 32)
    _, _, x = _inputs()
    prediction = subject.predict(x)
    hit, _ = removal_impact(subject, x, prediction, _box_mask(DEFECT), tau=0.5)
    assert hit.all()
    hit, _ = removal_impact(subject, x, prediction, _box_mask(CORNER), tau=0.5)
    assert not hit.any()


def test_segmentation_audit_names_the_image_level_decision():
    images, masks, _ = _inputs(count=4)
    images[3], masks[3] = 40, 0  # a clean image: no defect, and none predicted
    data = as_dataset(images, masks, labels=[0] * 4, names=("square",), task="segment")
    config = AuditConfig(methods=("occlusion",), samples=4, sanity_samples=2, coverage=False)
    summary = summarize(run_audit(Subject(BrightSegmenter(), "segment", 32), data, config))
    decisions = sorted((s["predicted"], s["correct"]) for s in summary["samples"])
    assert decisions == [("defect", True)] * 3 + [("no defect", True)]
    assert summary["overall"]["occlusion"]["impact_score"] == 0.75  # nothing to remove on 1
