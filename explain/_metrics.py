"""Explanation-quality metrics on attribution maps: pure NumPy, one sample at a time.

Attribution maps are non-negative ``(H, W)`` arrays of evidence for the decision (see
``_explainers``); masks are ``(H, W)`` arrays, non-zero on defect pixels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

__all__ = [
    "chance_iou",
    "coverage_iou",
    "energy_share",
    "iou",
    "mask_fraction",
    "mean_or_none",
    "pointing_hit",
    "pointing_tolerance",
    "rank_correlation",
    "top_n_mask",
]

#: Pointing-game tolerance of Zhang et al.: 15 pixels at 224 x 224, scaled to the input.
POINTING_TOLERANCE_AT_224 = 15


def _positive(attribution: np.ndarray) -> np.ndarray:
    return np.clip(np.nan_to_num(np.asarray(attribution, np.float64)), 0.0, None)


def mask_fraction(mask: np.ndarray) -> float:
    """The share of the image that the mask covers: a uniform map's energy share (chance)."""
    mask = np.asarray(mask) > 0
    return float(mask.mean()) if mask.size else math.nan


def energy_share(attribution: np.ndarray, mask: np.ndarray) -> float:
    """Share of the positive attribution mass inside ``mask``; NaN when the mask is empty.

    A map with no positive mass points nowhere and scores 0.
    """
    inside = np.asarray(mask) > 0
    if not inside.any():
        return math.nan
    energy = _positive(attribution)
    total = energy.sum()
    return float(energy[inside].sum() / total) if total > 0 else 0.0


def pointing_tolerance(size: int) -> int:
    """Pixels of slack for the pointing game at input side ``size`` (15 px at 224, >= 1)."""
    return max(1, round(POINTING_TOLERANCE_AT_224 * size / 224))


def pointing_hit(attribution: np.ndarray, mask: np.ndarray, tolerance: int) -> bool | None:
    """Whether the map's peak lies within ``tolerance`` pixels of the mask; None without mask.

    A map with no positive mass has no peak and misses.
    """
    from scipy import ndimage

    inside = np.asarray(mask) > 0
    if not inside.any():
        return None
    energy = _positive(attribution)
    if not energy.max() > 0:
        return False
    peak = np.unravel_index(int(np.argmax(energy)), energy.shape)
    if inside[peak]:
        return True
    distance = ndimage.distance_transform_edt(~inside)
    return bool(distance[peak] <= tolerance)


def top_n_mask(attribution: np.ndarray, n: int) -> np.ndarray:
    """Boolean mask of the ``n`` highest-attribution pixels (ties in raster order)."""
    flat = np.asarray(attribution, np.float64).ravel()
    chosen = np.zeros(flat.size, bool)
    n = int(min(max(n, 0), flat.size))
    if n:
        chosen[np.argsort(-np.nan_to_num(flat), kind="stable")[:n]] = True
    return chosen.reshape(np.shape(attribution))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two masks; NaN when both are empty."""
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else math.nan


def coverage_iou(attribution: np.ndarray, patch_mask: np.ndarray) -> float:
    """GSInquire impact coverage of one sample: IoU of the top-n pixels (n = patch area)."""
    n = int((np.asarray(patch_mask) > 0).sum())
    return iou(top_n_mask(attribution, n), patch_mask)


def chance_iou(n: int, total: int) -> float:
    """Expected coverage IoU of ``n`` random pixels against a patch of ``n`` pixels."""
    if n <= 0 or total <= 0:
        return math.nan
    overlap = n * n / total
    return float(overlap / (2 * n - overlap))


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation of two maps (ties get mean ranks); NaN if either is flat."""
    from scipy.stats import spearmanr

    flat_a = np.nan_to_num(np.asarray(a, np.float64)).ravel()
    flat_b = np.nan_to_num(np.asarray(b, np.float64)).ravel()
    if np.ptp(flat_a) == 0 or np.ptp(flat_b) == 0:
        return math.nan
    return float(spearmanr(flat_a, flat_b).statistic)


def mean_or_none(values: Iterable[float | bool | None]) -> float | None:
    """Mean of the finite values, or None when there are none."""
    kept = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return float(np.mean(kept)) if kept else None
