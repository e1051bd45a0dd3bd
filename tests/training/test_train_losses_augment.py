"""Losses on known inputs; batch augmentation, resizing and subsetting."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gensynth.training import augment_batch, classification_loss, dice_bce_loss, soft_dice_loss
from gensynth.training._tensors import resize_images, stratified_subset, to_input


def test_cross_entropy_with_label_smoothing_matches_the_formula():
    logits = torch.tensor([[2.0, 0.0, 0.0]])
    log_p = torch.log_softmax(logits, dim=1)[0]
    eps = 0.1
    expected = -((1 - eps) * log_p[0] + eps / 3 * log_p.sum())
    got = classification_loss(logits, torch.tensor([0]), label_smoothing=eps)
    assert float(got) == pytest.approx(float(expected), rel=1e-6)


def test_dice_bce_on_a_known_input():
    # p = 0.5 everywhere, target all ones on 4 pixels: Dice = 1 - (2*2 + 1)/(2 + 4 + 1).
    logits = torch.zeros(1, 1, 2, 2)
    target = torch.ones(1, 1, 2, 2)
    assert float(soft_dice_loss(logits, target)) == pytest.approx(2 / 7, rel=1e-6)
    assert float(dice_bce_loss(logits, target)) == pytest.approx(
        2 / 7 + 0.5 * math.log(2), rel=1e-6
    )
    assert float(dice_bce_loss(logits, target, bce_weight=0.0)) == pytest.approx(2 / 7, rel=1e-6)


def test_dice_bce_is_near_zero_for_a_confident_correct_mask():
    target = torch.zeros(2, 1, 4, 4)
    target[0, 0, :2, :2] = 1
    logits = (target * 2 - 1) * 20
    assert float(dice_bce_loss(logits, target)) < 1e-3
    # a defect-free batch predicted clean is also (almost) zero loss, not NaN
    assert float(dice_bce_loss(-20 * torch.ones(1, 1, 4, 4), torch.zeros(1, 1, 4, 4))) < 1e-3


def test_augment_moves_masks_with_their_images():
    gen = torch.Generator().manual_seed(0)
    masks = (torch.rand(64, 1, 8, 8, generator=gen) > 0.7).to(torch.uint8)
    images = masks * 200 + 10
    out_x, out_m = augment_batch(images, masks, torch.Generator().manual_seed(1))
    assert out_m is not None
    assert torch.equal(out_x, out_m * 200 + 10)
    # every sample is a symmetry of itself: same pixel multiset, and not all left unchanged
    assert torch.equal(out_x.flatten(1).sort(dim=1).values, images.flatten(1).sort(dim=1).values)
    assert not torch.equal(out_x, images)


def test_augment_uses_all_eight_symmetries_and_is_seeded():
    base = torch.arange(16, dtype=torch.uint8).reshape(1, 1, 4, 4).repeat(200, 1, 1, 1)
    out, _ = augment_batch(base, None, torch.Generator().manual_seed(3))
    again, _ = augment_batch(base, None, torch.Generator().manual_seed(3))
    assert torch.equal(out, again)
    assert len({tuple(sample.flatten().tolist()) for sample in out}) == 8


def test_resize_keeps_a_thin_mask_line_as_soft_coverage():
    mask = torch.zeros(1, 1, 64, 64, dtype=torch.uint8)
    mask[0, 0, :, 31] = 1  # a 1-px scratch
    small = resize_images(mask, 16, binary=True)
    assert small.dtype == torch.uint8 and small.shape == (1, 1, 16, 16)
    assert int(small.max()) > 0  # nearest-neighbour sampling could lose it entirely
    same = resize_images(mask, None, binary=True)
    assert int(same.max()) == 255


def test_to_input_maps_pixels_to_minus_one_one():
    x = to_input(torch.tensor([0, 255], dtype=torch.uint8))
    assert x.tolist() == pytest.approx([-1.0, 1.0])


def test_stratified_subset_keeps_class_shares():
    labels = np.repeat([0, 1, 2], [60, 30, 30])
    picked = stratified_subset(labels, 30, seed=0)
    assert len(picked) == 30 and len(set(picked.tolist())) == 30
    counts = np.bincount(labels[picked], minlength=3)
    assert counts.tolist() == [10, 10, 10]
    assert np.array_equal(picked, stratified_subset(labels, 30, seed=0))
