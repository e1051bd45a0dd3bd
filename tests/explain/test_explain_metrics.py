"""The metric functions on maps and masks whose answers are known by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gensynth.explain import (
    chance_iou,
    coverage_iou,
    energy_share,
    iou,
    mask_fraction,
    mean_or_none,
    pointing_hit,
    pointing_tolerance,
    rank_correlation,
    top_n_mask,
)


def _box(size=16, top=4, left=4, side=4) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    mask[top : top + side, left : left + side] = 1
    return mask


def test_energy_share_counts_positive_mass_inside_the_mask():
    mask = _box()
    attribution = np.zeros((16, 16))
    attribution[mask > 0] = 3.0  # 16 pixels x 3 inside
    attribution[0, :] = 1.0  # 16 pixels x 1 outside
    attribution[15, :] = -5.0  # negative evidence is ignored
    assert energy_share(attribution, mask) == pytest.approx(48 / 64)


def test_energy_share_edge_cases():
    mask = _box()
    assert math.isnan(energy_share(np.ones((16, 16)), np.zeros((16, 16))))
    assert energy_share(np.zeros((16, 16)), mask) == 0.0
    # A uniform map scores the mask's share of the image: the chance level.
    assert energy_share(np.ones((16, 16)), mask) == pytest.approx(mask_fraction(mask))
    assert mask_fraction(mask) == pytest.approx(16 / 256)


def test_pointing_game_hit_miss_and_tolerance():
    mask = _box()
    peak_inside = np.zeros((16, 16))
    peak_inside[5, 5] = 1.0
    assert pointing_hit(peak_inside, mask, tolerance=0) is True
    near = np.zeros((16, 16))
    near[5, 9] = 1.0  # one pixel right of the box (box covers columns 4..7)
    assert pointing_hit(near, mask, tolerance=0) is False
    assert pointing_hit(near, mask, tolerance=2) is True
    far = np.zeros((16, 16))
    far[15, 15] = 1.0
    assert pointing_hit(far, mask, tolerance=2) is False
    assert pointing_hit(np.zeros((16, 16)), mask, tolerance=5) is False
    assert pointing_hit(near, np.zeros((16, 16)), tolerance=2) is None


def test_pointing_tolerance_scales_from_224():
    assert pointing_tolerance(224) == 15
    assert pointing_tolerance(200) == 13
    assert pointing_tolerance(8) == 1


def test_top_n_and_coverage_iou_on_a_known_patch():
    patch = _box()
    assert top_n_mask(patch.astype(float), 16).sum() == 16
    assert coverage_iou(patch.astype(float) * 5 + 0.1, patch) == pytest.approx(1.0)
    shifted = np.roll(patch, 2, axis=1).astype(float)  # half the columns overlap
    assert coverage_iou(shifted, patch) == pytest.approx(8 / 24)
    elsewhere = np.roll(patch, 8, axis=0).astype(float)
    assert coverage_iou(elsewhere, patch) == 0.0
    assert iou(patch, patch) == 1.0 and math.isnan(iou(patch * 0, patch * 0))


def test_chance_iou_matches_random_selection():
    rng = np.random.default_rng(0)
    patch = _box(size=32, side=8)
    scores = [coverage_iou(rng.random((32, 32)), patch) for _ in range(400)]
    assert np.mean(scores) == pytest.approx(chance_iou(64, 1024), abs=0.01)
    assert math.isnan(chance_iou(0, 10))


def test_rank_correlation():
    rng = np.random.default_rng(1)
    a = rng.random((20, 20))
    assert rank_correlation(a, a * 3 + 1) == pytest.approx(1.0)
    assert rank_correlation(a, -a) == pytest.approx(-1.0)
    assert abs(rank_correlation(a, rng.random((20, 20)))) < 0.15
    assert math.isnan(rank_correlation(a, np.ones((20, 20))))


def test_mean_or_none_skips_missing_values():
    assert mean_or_none([1.0, None, float("nan"), 0.0]) == 0.5
    assert mean_or_none([True, False, False, True]) == 0.5
    assert mean_or_none([None, float("nan")]) is None
