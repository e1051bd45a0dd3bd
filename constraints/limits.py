"""The operational limits of one search or check, and the indicator set that enforces them.

``gensynth constraints check``, the generator and the study summaries all build their
indicators here, so a limit means the same thing everywhere.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gensynth.constraints.indicator import (
    FlopsBand,
    Indicator,
    MacsIndicator,
    ParamsIndicator,
    ParamsLimit,
    compact_count,
)
from gensynth.constraints.quantities import (
    parse_count,
    parse_fraction,
    parse_latency_ms,
    parse_positive_int,
)
from gensynth.errors import ConfigError
from gensynth.vocabulary import DEFAULT_BACKEND

if TYPE_CHECKING:
    from gensynth.constraints.latency import LatencyIndicator

__all__ = ["DEFAULT_TOLERANCE", "Limits"]

DEFAULT_TOLERANCE = 0.05


@dataclasses.dataclass(frozen=True)
class Limits:
    """A MACs band, a parameter cap and a latency budget; each may be absent."""

    flops: int | None = None
    tolerance: float = DEFAULT_TOLERANCE
    params_max: int | None = None
    latency_ms: float | None = None
    backend: str = DEFAULT_BACKEND
    batch: int = 1

    @classmethod
    def parse(
        cls,
        *,
        flops: str | None = None,
        tolerance: str | None = None,
        params_max: str | None = None,
        latency: str | None = None,
        backend: str | None = None,
        batch: str | int | None = None,
    ) -> Limits:
        """Limits from user text (``100M``, ``5%``, ``500K``, ``2ms``); at least one is needed."""
        if flops is None and tolerance is not None:
            raise ConfigError("--tolerance: only applies with --flops", hint="add --flops 100M")
        if latency is None and (backend is not None or batch is not None):
            raise ConfigError(
                "--backend and --batch go with --latency",
                hint=f"add a budget, e.g. --latency 2ms --backend {backend or DEFAULT_BACKEND}",
            )
        if flops is None and params_max is None and latency is None:
            raise ConfigError(
                "expected at least one limit: --flops, --params-max or --latency",
                hint="e.g. gensynth constraints check spec.yaml --flops 100M",
            )
        return cls(
            flops=None if flops is None else parse_count(flops, what="--flops"),
            tolerance=DEFAULT_TOLERANCE
            if tolerance is None
            else parse_fraction(tolerance, what="--tolerance"),
            params_max=_count(params_max, "--params-max"),
            latency_ms=None if latency is None else parse_latency_ms(latency),
            backend=backend or DEFAULT_BACKEND,
            batch=1 if batch is None else parse_positive_int(batch, what="--batch"),
        )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Limits:
        """The limits recorded in a study's stored spec, from any gensynth version."""
        fields = {f.name for f in dataclasses.fields(cls)}
        known = {k: v for k, v in data.items() if k in fields and v is not None}
        return cls(**known)

    @property
    def band(self) -> FlopsBand | None:
        return None if self.flops is None else FlopsBand(self.flops, self.tolerance)

    @property
    def params_limit(self) -> ParamsLimit | None:
        return None if self.params_max is None else ParamsLimit(self.params_max)

    def latency_indicator(self, threads: int | None = None) -> LatencyIndicator | None:
        """The measured latency budget, or None; an unknown or missing backend fails now."""
        if self.latency_ms is None:
            return None
        from gensynth.constraints.latency import LatencyIndicator

        return LatencyIndicator(self.latency_ms, self.backend, self.batch, threads)

    def indicators(
        self, *, threads: int | None = None, latency: LatencyIndicator | None = None
    ) -> list[Indicator]:
        """One indicator per limit, in the order they are reported (MACs, params, latency).

        ``latency`` reuses an indicator made before (its cache and checks); else one is made.
        """
        found: list[Indicator] = []
        if self.band is not None:
            found.append(MacsIndicator(self.band))
        if self.params_limit is not None:
            found.append(ParamsIndicator(self.params_limit))
        if self.latency_ms is not None:
            found.append(latency or self.latency_indicator(threads))
        return found

    def describe(self) -> str:
        """``MACs 100M ± 5%, params ≤ 500K``; ``none`` when there is no limit."""
        parts = []
        if self.flops is not None:
            parts.append(f"MACs {compact_count(self.flops)} ± {self.tolerance * 100:g}%")
        if self.params_max is not None:
            parts.append(f"params ≤ {compact_count(self.params_max)}")
        if self.latency_ms is not None:
            parts.append(f"latency ≤ {self.latency_ms:g} ms ({self.backend}, batch {self.batch})")
        return ", ".join(parts) or "none"


def _count(text: str | None, what: str) -> int | None:
    return None if text is None else parse_count(text, what=what)
