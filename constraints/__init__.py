"""gensynth.constraints: the indicator function: costs, latency budgets, quantity parsing."""

from __future__ import annotations

from gensynth.constraints.costs import (
    MAC_CONVENTION,
    Costs,
    count_costs,
    count_module,
    flop_counter_macs,
    op_handles,
)
from gensynth.constraints.indicator import (
    FlopsBand,
    Indicator,
    IndicatorResult,
    MacsIndicator,
    ParamsIndicator,
    ParamsLimit,
    compact_count,
)
from gensynth.constraints.limits import Limits
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
from gensynth.constraints.repair import RepairResult, bisect_width, repair

__all__ = [
    "MAC_CONVENTION",
    "Costs",
    "FlopsBand",
    "Indicator",
    "IndicatorResult",
    "Limits",
    "MacsIndicator",
    "ParamsIndicator",
    "ParamsLimit",
    "RepairResult",
    "bisect_width",
    "compact_count",
    "count_costs",
    "count_module",
    "flop_counter_macs",
    "format_count",
    "format_ms",
    "op_handles",
    "parse_count",
    "parse_duration",
    "parse_fraction",
    "parse_int_list",
    "parse_latency_ms",
    "parse_positive_int",
    "repair",
]
