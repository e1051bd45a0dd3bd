"""The indicator function 1_r: each operational limit checked and reported on its own."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from gensynth.prototypes import ArchSpec

__all__ = ["Indicator", "IndicatorResult", "feasible"]


@dataclasses.dataclass(frozen=True)
class IndicatorResult:
    """One indicator's verdict on one spec: the measured value against its limit.

    ``violation`` is the Optuna constraint value (<= 0 feasible), normalised by the limit so
    that different indicators are comparable for the sampler.
    """

    name: str  # "macs", "params", "latency"
    measured: float
    limit: str  # human text, e.g. "100M ± 5%", "<= 500K", "<= 2 ms (onnxruntime-cpu, batch 1)"
    unit: str  # "MACs", "params", "ms"
    violation: float
    detail: str = ""

    @property
    def passed(self) -> bool:
        return self.violation <= 0


class Indicator(Protocol):
    """An operational limit: checks a spec and says by how much it misses."""

    name: str

    def check(self, spec: ArchSpec) -> IndicatorResult: ...


def feasible(results: list[IndicatorResult]) -> bool:
    return all(result.passed for result in results)
