"""Quality gates: ``--fail-under METRIC=VALUE`` or ``METHOD.METRIC=VALUE`` on overall numbers.

A gate without a method applies to every method of the audit. A metric that could not be
measured (no defect flipped the prediction, for coverage) fails its gate.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from gensynth.errors import ConfigError
from gensynth.registry import closest

__all__ = ["GATE_METRICS", "Gate", "evaluate_gates", "parse_gate"]

#: Metrics a gate can name, higher is better, all fractions from 0 to 1.
GATE_METRICS: dict[str, str] = {
    "impact_score": "share of samples whose critical region has impact at tau",
    "coverage": "mean IoU of the top-n pixels with an injected defect that flipped the decision",
    "mask_energy": "mean share of attribution energy inside the defect mask",
    "pointing_game": "share of samples whose attribution peak lies on the defect mask",
}
MASK_METRICS = ("mask_energy", "pointing_game")


@dataclasses.dataclass(frozen=True)
class Gate:
    """``metric`` of ``method`` (None: every method) must be at least ``threshold``."""

    metric: str
    threshold: float
    method: str | None = None

    def __str__(self) -> str:
        where = f"{self.method}." if self.method else ""
        return f"{where}{self.metric}={self.threshold:g}"


def parse_gate(text: str, methods: Sequence[str]) -> Gate:
    """A gate from ``METRIC=VALUE`` or ``METHOD.METRIC=VALUE``; ``methods`` are those run."""
    example = "e.g. --fail-under impact_score=0.6 or --fail-under gradcam.mask_energy=0.3"
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise ConfigError(f"--fail-under: expected METRIC=VALUE, got {text!r}", hint=example)
    method, dot, metric = name.strip().rpartition(".")
    if metric not in GATE_METRICS:
        valid = list(GATE_METRICS)
        near = closest(metric, valid)
        raise ConfigError(
            f"--fail-under: unknown metric {metric!r}; expected one of: {', '.join(valid)}",
            hint=f"did you mean {near!r}?" if near else example,
        )
    if dot and method not in methods:
        raise ConfigError(
            f"--fail-under: method {method!r} is not explained in this run; "
            f"expected one of: {', '.join(methods)}",
            hint="add it to --methods, or leave the method out to gate every method",
        )
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise ConfigError(
            f"--fail-under {name.strip()}: expected a number from 0 to 1, got {raw.strip()!r}",
            hint="metrics are fractions: 0.6 means 60%",
        )
    return Gate(metric, value, method or None)


def evaluate_gates(summary: dict[str, Any], gates: Sequence[Gate]) -> list[dict[str, Any]]:
    """One row per gate and method: value, threshold, passed, and why when it failed."""
    rows = []
    for gate in gates:
        for method in [gate.method] if gate.method else list(summary["overall"]):
            value = summary["overall"][method].get(gate.metric)
            passed = value is not None and value >= gate.threshold
            if value is None:
                why = f"{method} {gate.metric} was not measured"
            else:
                why = f"{method} {gate.metric} {value:.3f} < {gate.threshold:g}"
            rows.append(
                {
                    "gate": str(gate),
                    "method": method,
                    "metric": gate.metric,
                    "threshold": gate.threshold,
                    "value": value,
                    "passed": passed,
                    "reason": "" if passed else why,
                }
            )
    return rows
