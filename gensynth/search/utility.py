"""NetScore (Wong, 2018): one number that rewards accuracy and penalises size and compute."""

from __future__ import annotations

import dataclasses
import math

from gensynth.errors import ConfigError

__all__ = ["NetScore", "netscore"]

#: Accuracy floor (percent) so that an untrained net scores finitely instead of -inf.
_MIN_ACCURACY = 1e-3


def netscore(
    accuracy_pct: float,
    params: float,
    macs: float,
    *,
    alpha: float = 2.0,
    beta: float = 0.5,
    gamma: float = 0.5,
) -> float:
    """Ω = 20·log10(a^α / (p^β · m^γ)); a in percent, p in millions, m (MACs) in billions."""
    if params <= 0 or macs <= 0:
        raise ValueError(f"params and MACs must be positive, got {params} and {macs}")
    a = max(float(accuracy_pct), _MIN_ACCURACY)
    p = params / 1e6
    m = macs / 1e9
    return 20.0 * (alpha * math.log10(a) - beta * math.log10(p) - gamma * math.log10(m))


@dataclasses.dataclass(frozen=True)
class NetScore:
    """NetScore with configurable weights (accuracy ``alpha``, params ``beta``, MACs ``gamma``)."""

    alpha: float = 2.0
    beta: float = 0.5
    gamma: float = 0.5

    def validate(self, path: str = "utility") -> None:
        for name in ("alpha", "beta", "gamma"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"{path}.{name}: expected a non-negative number, got {value}")

    def __call__(self, accuracy_pct: float, params: float, macs: float) -> float:
        return netscore(
            accuracy_pct, params, macs, alpha=self.alpha, beta=self.beta, gamma=self.gamma
        )
