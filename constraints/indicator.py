"""The indicator function 1_r: each operational limit checked and reported on its own."""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Protocol

from gensynth.constraints.quantities import format_count, parse_count, parse_fraction
from gensynth.errors import ConfigError

if TYPE_CHECKING:
    from gensynth.prototypes import ArchSpec

__all__ = [
    "FlopsBand",
    "Indicator",
    "IndicatorResult",
    "MacsIndicator",
    "ParamsIndicator",
    "ParamsLimit",
    "compact_count",
]


@dataclasses.dataclass(frozen=True)
class IndicatorResult:
    """One indicator's verdict on one spec: the measured value against its limit.

    ``violation`` is the Optuna constraint value (<= 0 feasible), normalised by the limit so
    that different indicators are comparable for the sampler. ``constraints`` holds the raw
    Optuna constraint values where an indicator has more than one (a band has two).
    """

    name: str  # "macs", "params", "latency"
    measured: float
    limit: str  # human text, e.g. "100M ± 5%", "<= 500K", "<= 2 ms (onnxruntime-cpu, batch 1)"
    unit: str  # "MACs", "params", "ms"
    violation: float
    detail: str = ""
    constraints: tuple[float, ...] = ()

    @property
    def passed(self) -> bool:
        return self.violation <= 0

    @property
    def constraint_values(self) -> tuple[float, ...]:
        """The values to hand Optuna (each <= 0 when feasible)."""
        return self.constraints or (self.violation,)


class Indicator(Protocol):
    """An operational limit: checks a spec and says by how much it misses."""

    name: str

    def check(self, spec: ArchSpec) -> IndicatorResult: ...


def compact_count(value: float) -> str:
    """97263435 -> ``97.26M``, 100000000 -> ``100M``: like ``format_count``, no trailing zeros."""
    text = format_count(value)
    if text[-1] in "KMG":
        number = text[:-1].rstrip("0").rstrip(".") if "." in text else text[:-1]
        return number + text[-1]
    return text


@dataclasses.dataclass(frozen=True)
class FlopsBand:
    """MACs within ``tolerance`` of ``target`` (e.g. 100M ± 5%), inclusive at both ends."""

    target: int
    tolerance: float = 0.05

    def __post_init__(self) -> None:
        if isinstance(self.target, bool) or not isinstance(self.target, int) or self.target <= 0:
            raise ConfigError(f"--flops: expected a positive MAC count, got {self.target!r}")
        if not (math.isfinite(self.tolerance) and 0 <= self.tolerance < 1):
            raise ConfigError(
                f"--tolerance: expected a fraction in [0%, 100%), got {self.tolerance!r}"
            )

    @classmethod
    def parse(cls, flops: str | int, tolerance: str | float = "5%") -> FlopsBand:
        """From user text: ``FlopsBand.parse("100M", "5%")``."""
        return cls(
            parse_count(flops, what="--flops"), parse_fraction(tolerance, what="--tolerance")
        )

    @property
    def lower(self) -> int:
        return math.ceil(self.target * (1 - self.tolerance) - 1e-9)

    @property
    def upper(self) -> int:
        return math.floor(self.target * (1 + self.tolerance) + 1e-9)

    def contains(self, macs: float) -> bool:
        return self.lower <= macs <= self.upper

    def constraints(self, macs: float) -> tuple[float, float]:
        """Two Optuna constraints, each <= 0 inside: ``(F-upper)/target, (lower-F)/target``."""
        return ((macs - self.upper) / self.target, (self.lower - macs) / self.target)

    def violation(self, macs: float) -> float:
        """The larger of the two constraints: <= 0 inside the band, the miss otherwise."""
        return max(self.constraints(macs))

    def describe(self) -> str:
        return f"{compact_count(self.target)} ± {self.tolerance * 100:g}%"


@dataclasses.dataclass(frozen=True)
class ParamsLimit:
    """At most ``max_params`` parameters."""

    max_params: int

    def __post_init__(self) -> None:
        bad = isinstance(self.max_params, bool) or not isinstance(self.max_params, int)
        if bad or self.max_params <= 0:
            raise ConfigError(
                f"--params-max: expected a positive parameter count, got {self.max_params!r}"
            )

    def contains(self, params: float) -> bool:
        return params <= self.max_params

    def violation(self, params: float) -> float:
        return (params - self.max_params) / self.max_params

    def describe(self) -> str:
        return f"<= {compact_count(self.max_params)}"


@dataclasses.dataclass(frozen=True)
class MacsIndicator:
    """MACs (see ``gensynth.constraints.costs.MAC_CONVENTION``) inside a band."""

    band: FlopsBand
    name: str = "macs"

    def check(self, spec: ArchSpec) -> IndicatorResult:
        from gensynth.constraints.costs import count_costs

        macs = count_costs(spec).macs
        return IndicatorResult(
            self.name,
            float(macs),
            self.band.describe(),
            "MACs",
            self.band.violation(macs),
            detail=f"band [{compact_count(self.band.lower)}, {compact_count(self.band.upper)}]",
            constraints=self.band.constraints(macs),
        )


@dataclasses.dataclass(frozen=True)
class ParamsIndicator:
    """Parameter count under a cap."""

    limit: ParamsLimit
    name: str = "params"

    def check(self, spec: ArchSpec) -> IndicatorResult:
        from gensynth.constraints.costs import count_costs

        params = count_costs(spec).params
        return IndicatorResult(
            self.name, float(params), self.limit.describe(), "params", self.limit.violation(params)
        )
