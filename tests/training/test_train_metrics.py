"""Metrics on constructed cases whose answers are worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from gensynth.errors import DataError
from gensynth.training import (
    classification_metrics,
    confusion_matrix,
    decision_scores,
    segmentation_metrics,
    segmentation_stats,
)


def test_confusion_matrix_rows_are_true_columns_predicted():
    matrix = confusion_matrix(np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 2, 0]), 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_confusion_matrix_rejects_out_of_range_labels():
    with pytest.raises(DataError, match=r"0\.\.2, got 3"):
        confusion_matrix(np.array([0, 3]), np.array([0, 1]), 3)


def test_classification_metrics_by_hand():
    # true:  a a a a b b c c ; pred: a a a b b c c a
    y_true = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 0, 0, 1, 1, 2, 2, 0])
    m = classification_metrics(y_true, y_pred, ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(100 * 5 / 8)
    a, b, c = (m["per_class"][k] for k in "abc")
    assert a["precision"] == pytest.approx(75.0) and a["recall"] == pytest.approx(75.0)
    assert b["precision"] == pytest.approx(50.0) and b["recall"] == pytest.approx(50.0)
    assert c["precision"] == pytest.approx(50.0) and c["recall"] == pytest.approx(50.0)
    assert a["f1"] == pytest.approx(75.0) and a["support"] == 4
    assert m["macro_f1"] == pytest.approx((75 + 50 + 50) / 3)
    assert m["confusion"]["labels"] == ["a", "b", "c"]
    assert m["confusion"]["matrix"] == [[3, 1, 0], [0, 1, 1], [1, 0, 1]]


def test_class_never_predicted_has_zero_precision_not_an_error():
    m = classification_metrics(np.array([0, 1, 1]), np.array([0, 0, 0]), ["a", "b"])
    assert m["per_class"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 2}
    assert m["per_class"]["a"]["precision"] == pytest.approx(100 / 3)


def _square(size: int, y0: int, y1: int, x0: int, x1: int, value: float = 1.0) -> np.ndarray:
    out = np.zeros((size, size), np.float32)
    out[y0:y1, x0:x1] = value
    return out


def test_iou_and_dice_by_hand():
    # image 0 (class a): truth 4x4=16 px, prediction shifted by 2 columns: overlap 8, union 24.
    # image 1 (class b): truth 2x2, prediction exact.
    probs = np.stack([_square(8, 0, 4, 2, 6, 0.9), _square(8, 4, 6, 4, 6, 0.8)])
    masks = np.stack([_square(8, 0, 4, 0, 4), _square(8, 4, 6, 4, 6)]).astype(np.uint8)
    stats = segmentation_stats(probs, masks)
    m = segmentation_metrics(stats, np.array([0, 1]), ["a", "b"])
    assert m["per_class"]["a"]["iou"] == pytest.approx(100 * 8 / 24)
    assert m["per_class"]["a"]["dice"] == pytest.approx(100 * 16 / 32)
    assert m["per_class"]["b"]["iou"] == pytest.approx(100.0)
    assert m["miou"] == pytest.approx((100 * 8 / 24 + 100) / 2)
    assert m["dice"] == pytest.approx((50 + 100) / 2)
    # pixels wrong: 8 false positive + 8 missed in image 0, of 128 in all
    assert m["pixel_accuracy"] == pytest.approx(100 * (128 - 16) / 128)


def test_class_without_defect_pixels_stays_out_of_the_mean():
    probs = np.stack([_square(8, 0, 4, 0, 4, 0.9), _square(8, 0, 2, 0, 2, 0.9)])
    masks = np.stack([_square(8, 0, 4, 0, 4), np.zeros((8, 8))]).astype(np.uint8)
    m = segmentation_metrics(segmentation_stats(probs, masks), np.array([0, 1]), ["a", "clean"])
    assert m["per_class"]["clean"]["iou"] is None
    assert m["mean_over_classes"] == ["a"]
    assert m["miou"] == pytest.approx(100.0)


def test_decision_scores_reproduce_the_nvidia_table_at_threshold_0_8():
    # White paper Table 3, threshold 0.8: TP 133, TN 900, FP 1, FN 5.
    s = decision_scores(tp=133, fp=1, fn=5, tn=900)
    assert s["precision"] == pytest.approx(99.25, abs=0.01)
    assert s["recall"] == pytest.approx(96.38, abs=0.01)
    assert s["false_alarm"] == pytest.approx(0.11, abs=0.01)
    assert decision_scores(0, 0, 3, 0)["precision"] is None


def test_sweep_known_points_and_negatives():
    size = 10
    # A defect image whose defect pixels have probability 0.35; a clean image with a 0.65 blob.
    positive = _square(size, 0, 5, 0, 5, 0.35)
    negative = _square(size, 0, 3, 0, 3, 0.65)
    probs = np.stack([positive, negative])
    masks = np.stack([_square(size, 0, 5, 0, 5), np.zeros((size, size))]).astype(np.uint8)
    m = segmentation_metrics(segmentation_stats(probs, masks), np.array([0, 0]), ["a"])
    sweep = {p["threshold"]: p for p in m["decision"]["points"]}
    assert (sweep[0.3]["tp"], sweep[0.3]["fp"]) == (1, 1)
    assert (sweep[0.4]["tp"], sweep[0.4]["fp"], sweep[0.4]["fn"]) == (0, 1, 1)
    assert sweep[0.7]["false_alarm"] == 0.0 and sweep[0.6]["false_alarm"] == 100.0
    assert m["decision"]["negatives_source"] == (
        "1 real defect-free images (empty ground truth) of the split"
    )
    assert m["decision"]["real_negatives_by_class"] == {"a": 1}


def test_sweep_is_monotone_in_the_threshold():
    rng = np.random.default_rng(1)
    probs = rng.random((40, 16, 16)).astype(np.float32) ** 3
    masks = (rng.random((40, 16, 16)) < 0.05).astype(np.uint8)
    masks[:10] = 0  # some defect-free images
    m = segmentation_metrics(
        segmentation_stats(probs, masks), np.zeros(40, int), ["a"], area_threshold=0.05
    )
    points = m["decision"]["points"]
    recalls = [p["recall"] for p in points]
    alarms = [p["false_alarm"] for p in points]
    assert recalls == sorted(recalls, reverse=True) and recalls[0] > recalls[-1]
    assert alarms == sorted(alarms, reverse=True)
    assert all(p["tp"] + p["fn"] == 30 and p["fp"] + p["tn"] == 10 for p in points)


def test_extra_negatives_are_counted_and_named():
    probs = np.full((2, 4, 4), 0.9, np.float32)
    masks = np.ones((2, 4, 4), np.uint8)
    extra = segmentation_stats(np.zeros((3, 4, 4), np.float32), None)
    m = segmentation_metrics(
        segmentation_stats(probs, masks),
        np.zeros(2, int),
        ["a"],
        extra_negatives=extra,
        negatives_source="clean backgrounds",
    )
    decision = m["decision"]
    assert (decision["positives"], decision["negatives"]) == (2, 3)
    assert decision["negatives_source"] == "3 clean backgrounds"
    assert decision["points"][0]["false_alarm"] == 0.0 and decision["points"][0]["recall"] == 100.0


def test_no_negatives_says_so():
    stats = segmentation_stats(np.ones((1, 4, 4), np.float32), np.ones((1, 4, 4), np.uint8))
    decision = segmentation_metrics(stats, np.zeros(1, int), ["a"])["decision"]
    assert decision["negatives"] == 0 and decision["negatives_source"].startswith("none")
    assert all(p["false_alarm"] is None for p in decision["points"])


def test_area_threshold_out_of_range_is_refused():
    stats = segmentation_stats(np.ones((1, 4, 4), np.float32), np.ones((1, 4, 4), np.uint8))
    with pytest.raises(DataError, match="area_threshold"):
        segmentation_metrics(stats, np.zeros(1, int), ["a"], area_threshold=0.0)
