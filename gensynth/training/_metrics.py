"""Metrics on plain arrays: classification scores, mask IoU/Dice, the defect decision sweep.

Every score is in percent; a score whose denominator is empty is None (null in JSON).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from gensynth.errors import DataError

__all__ = [
    "DEFAULT_AREA_THRESHOLD",
    "DEFAULT_THRESHOLDS",
    "SegmentationStats",
    "classification_metrics",
    "confusion_matrix",
    "decision_scores",
    "segmentation_metrics",
    "segmentation_stats",
]

#: Pixel-probability thresholds of the defect/no-defect sweep (NVIDIA white paper, Table 3).
DEFAULT_THRESHOLDS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
#: An image is called defective when at least this share of its pixels is predicted defect:
#: 8 pixels at 200², 13 at 256². Small enough that small defects stay detectable: at 0.1% an
#: eighth of magnetic tile's defects (blowholes, thin cracks) were smaller than the rule, so
#: even a perfect mask would have called them defect-free.
DEFAULT_AREA_THRESHOLD = 0.0002
PIXEL_THRESHOLD = 0.5  # for IoU, Dice and pixel accuracy


def _pct(num: float, den: float) -> float | None:
    return None if den == 0 else 100.0 * float(num) / float(den)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts with rows = true class, columns = predicted class."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise DataError(
            f"expected labels and predictions of one shape, got {y_true.shape} and {y_pred.shape}"
        )
    values = np.r_[y_true, y_pred]
    bad = values[(values < 0) | (values >= num_classes)]
    if len(bad):
        raise DataError(f"expected class indices in 0..{num_classes - 1}, got {int(bad[0])}")
    flat = np.bincount(y_true * num_classes + y_pred, minlength=num_classes * num_classes)
    return flat.reshape(num_classes, num_classes)


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, per-class precision/recall/F1 (0 when undefined), macro F1, confusion matrix."""
    names = list(class_names)
    matrix = confusion_matrix(y_true, y_pred, len(names))
    tp = np.diag(matrix).astype(float)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    per_class = {}
    for k, name in enumerate(names):
        precision = _pct(tp[k], predicted[k]) or 0.0
        recall = _pct(tp[k], actual[k]) or 0.0
        f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
        per_class[name] = {
            "precision": precision,
            "recall": recall,
            "f1": f1,
            "support": int(actual[k]),
        }
    present = [name for k, name in enumerate(names) if actual[k] > 0] or names
    return {
        "accuracy": _pct(tp.sum(), matrix.sum()) or 0.0,
        "macro_precision": float(np.mean([per_class[n]["precision"] for n in present])),
        "macro_recall": float(np.mean([per_class[n]["recall"] for n in present])),
        "macro_f1": float(np.mean([per_class[n]["f1"] for n in present])),
        "per_class": per_class,
        "confusion": {
            "labels": names,
            "matrix": matrix.tolist(),
            "rows": "true class",
            "columns": "predicted class",
        },
        "count": int(matrix.sum()),
        "units": "percent",
    }


@dataclasses.dataclass
class SegmentationStats:
    """Per-image pixel counts at PIXEL_THRESHOLD, and the predicted-defect area per threshold."""

    intersection: np.ndarray  # (N,) int64
    predicted: np.ndarray  # (N,) int64
    true: np.ndarray  # (N,) int64
    correct: np.ndarray  # (N,) int64, pixels where prediction == truth
    pixels: int  # per image
    area: np.ndarray  # (N, T) share of pixels with probability >= threshold t
    defect: np.ndarray  # (N,) bool: the ground truth holds a defect (False: defect-free image)

    @classmethod
    def concat(cls, parts: Sequence[SegmentationStats]) -> SegmentationStats:
        if not parts:
            raise DataError("expected at least one batch of segmentation results, got none")
        fields = ("intersection", "predicted", "true", "correct", "area", "defect")
        joined = {f: np.concatenate([getattr(p, f) for p in parts]) for f in fields}
        return cls(pixels=parts[0].pixels, **joined)


def segmentation_stats(
    probs: np.ndarray,
    masks: np.ndarray | None,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    *,
    defect: np.ndarray | None = None,
) -> SegmentationStats:
    """Stats of (N, H, W) defect probabilities against 0/1 masks (None: defect-free inputs).

    ``defect`` says which images hold a defect, for the decision sweep; by default those
    whose mask has a defect pixel. Pass it when the masks were thresholded after a resize
    that can lose a hairline defect, so that such an image is not taken for a clean one.
    """
    probs = np.asarray(probs, dtype=np.float32)
    if probs.ndim != 3:
        raise DataError(f"expected probabilities of shape (N, H, W), got {probs.shape}")
    truth = np.zeros(probs.shape, dtype=bool) if masks is None else np.asarray(masks) > 0
    if truth.shape != probs.shape:
        raise DataError(f"expected masks of shape {probs.shape}, got {truth.shape}")
    has_defect = truth.any(axis=(1, 2)) if defect is None else np.asarray(defect, dtype=bool)
    if has_defect.shape != (len(probs),):
        raise DataError(f"expected {len(probs)} defect flags, got shape {has_defect.shape}")
    pred = probs >= PIXEL_THRESHOLD
    area = np.stack([(probs >= t).mean(axis=(1, 2)) for t in thresholds], axis=1)
    return SegmentationStats(
        intersection=(pred & truth).sum(axis=(1, 2)),
        predicted=pred.sum(axis=(1, 2)),
        true=truth.sum(axis=(1, 2)),
        correct=(pred == truth).sum(axis=(1, 2)),
        pixels=int(probs.shape[1] * probs.shape[2]),
        area=area.reshape(len(probs), len(thresholds)),
        defect=has_defect,
    )


def decision_scores(tp: int, fp: int, fn: int, tn: int) -> dict[str, Any]:
    """Precision, recall and false-alarm rate (FP / defect-free images) from decision counts."""
    return {
        "tp": int(tp),
        "fp": int(fp),
        "fn": int(fn),
        "tn": int(tn),
        "precision": _pct(tp, tp + fp),
        "recall": _pct(tp, tp + fn),
        "false_alarm": _pct(fp, fp + tn),
    }


def _overlap(inter: float, pred: float, true: float) -> tuple[float | None, float | None]:
    union = pred + true - inter
    return _pct(inter, union), _pct(2 * inter, pred + true)


def segmentation_metrics(
    stats: SegmentationStats,
    labels: np.ndarray,
    class_names: Sequence[str],
    *,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    area_threshold: float = DEFAULT_AREA_THRESHOLD,
    extra_negatives: SegmentationStats | None = None,
    negatives_source: str = "",
) -> dict[str, Any]:
    """IoU/Dice per defect class (pooled over its images) and mean, pixel accuracy, decision.

    A class whose ground truth holds no defect pixel has no IoU (None) and stays out of the
    means; its images still count as negatives in the decision sweep. Every image whose
    ground truth is empty is a real negative of the sweep; ``extra_negatives`` (constructed
    defect-free inputs, described by ``negatives_source``) are added to them.
    """
    labels = np.asarray(labels)
    per_class: dict[str, dict[str, Any]] = {}
    for k, name in enumerate(class_names):
        sel = labels == k
        inter, pred, true = (
            int(a[sel].sum()) for a in (stats.intersection, stats.predicted, stats.true)
        )
        iou, dice = _overlap(inter, pred, true) if true > 0 else (None, None)
        per_class[name] = {
            "iou": iou,
            "dice": dice,
            "images": int(sel.sum()),
            "defect_pixels": true,
        }
    scored = [name for name, row in per_class.items() if row["iou"] is not None]
    all_iou, all_dice = _overlap(
        *(int(a.sum()) for a in (stats.intersection, stats.predicted, stats.true))
    )
    return {
        "miou": float(np.mean([per_class[n]["iou"] for n in scored])) if scored else all_iou,
        "dice": float(np.mean([per_class[n]["dice"] for n in scored])) if scored else all_dice,
        "iou_all_pixels": all_iou,
        "pixel_accuracy": _pct(stats.correct.sum(), stats.pixels * len(stats.correct)),
        "pixel_threshold": PIXEL_THRESHOLD,
        "per_class": per_class,
        "mean_over_classes": scored,
        "decision": {
            **_decision_sweep(stats, thresholds, area_threshold, extra_negatives),
            **_negatives_part(stats, labels, class_names, extra_negatives, negatives_source),
        },
        "count": len(labels),
        "units": "percent",
    }


def _decision_sweep(
    stats: SegmentationStats,
    thresholds: Sequence[float],
    area_threshold: float,
    extra: SegmentationStats | None,
) -> dict[str, Any]:
    if not 0 < area_threshold <= 1:
        raise DataError(f"area_threshold: expected a share in (0, 1], got {area_threshold}")
    is_defect, area = stats.defect, stats.area
    if extra is not None and len(extra.true):
        is_defect = np.r_[is_defect, np.zeros(len(extra.true), dtype=bool)]
        area = np.concatenate([area, extra.area])
    flagged = area >= area_threshold  # (N, T)
    points = []
    for j, threshold in enumerate(thresholds):
        tp = int((flagged[:, j] & is_defect).sum())
        fp = int((flagged[:, j] & ~is_defect).sum())
        fn = int(is_defect.sum()) - tp
        tn = int((~is_defect).sum()) - fp
        points.append({"threshold": float(threshold), **decision_scores(tp, fp, fn, tn)})
    return {
        "rule": "defective when share of pixels with p >= threshold is >= area_threshold",
        "area_threshold": float(area_threshold),
        "positives": int(is_defect.sum()),
        "negatives": int((~is_defect).sum()),
        "points": points,
    }


def _negatives_part(
    stats: SegmentationStats,
    labels: np.ndarray,
    class_names: Sequence[str],
    extra: SegmentationStats | None,
    extra_source: str,
) -> dict[str, Any]:
    """Which negatives the sweep used: real ones (empty ground truth, by class), constructed."""
    clean = ~stats.defect
    by_class = {
        name: int((clean & (labels == k)).sum())
        for k, name in enumerate(class_names)
        if (clean & (labels == k)).any()
    }
    real, constructed = int(clean.sum()), 0 if extra is None else len(extra.true)
    sources = []
    if real:
        sources.append(f"{real} real defect-free images (empty ground truth) of the split")
    if constructed:
        sources.append(f"{constructed} {extra_source or 'constructed defect-free inputs'}")
    return {
        "negatives_source": "; ".join(sources) or "none: false alarms cannot be measured",
        "real_negatives": real,
        "real_negatives_by_class": by_class,
        "constructed_negatives": constructed,
    }
