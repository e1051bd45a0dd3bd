"""Compute efficiency: how much of a model's arithmetic a backend turns into throughput."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gensynth.backends._measure import LatencyResult

__all__ = ["efficiency_ratio", "speedup"]


def speedup(model: LatencyResult, baseline: LatencyResult) -> float:
    """How many times faster ``model`` is than ``baseline`` (same backend and batch)."""
    return baseline.median_ms / model.median_ms


def efficiency_ratio(model: LatencyResult, baseline: LatencyResult) -> float | None:
    """``model``'s achieved MACs per second divided by ``baseline``'s (1.0: equally efficient)."""
    if model.macs_per_s is None or baseline.macs_per_s is None:
        return None
    return model.macs_per_s / baseline.macs_per_s
