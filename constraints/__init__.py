"""gensynth.constraints: the indicator function: costs, latency budgets, quantity parsing."""

from __future__ import annotations

from gensynth.constraints.quantities import (
    format_count,
    format_ms,
    parse_count,
    parse_duration,
    parse_fraction,
    parse_int_list,
    parse_latency_ms,
    parse_positive_int,
)

__all__ = [
    "format_count",
    "format_ms",
    "parse_count",
    "parse_duration",
    "parse_fraction",
    "parse_int_list",
    "parse_latency_ms",
    "parse_positive_int",
]
