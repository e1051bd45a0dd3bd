"""Parsing of the quantities users type: ``100M``, ``1.5G``, ``5%``, ``2ms``, ``30m``, ``1,64``."""

from __future__ import annotations

import math
import re

from gensynth.errors import ConfigError

__all__ = [
    "MAX_INPUT_SIZE",
    "MIN_INPUT_SIZE",
    "format_count",
    "format_ms",
    "parse_count",
    "parse_duration",
    "parse_fraction",
    "parse_input_size",
    "parse_int_list",
    "parse_latency_ms",
    "parse_optional_duration",
    "parse_positive_int",
]

_SUFFIX = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}
_COUNT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?[0-9]+)?)\s*([kmgt]?)\s*$", re.IGNORECASE)
_UNITS_S = {"ms": 1e-3, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "us": 1e-6}
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(us|ms|s|min|m|h)?\s*$", re.IGNORECASE)
#: Words that mean "no limit" where a limit may be switched off (``--timeout off``).
NO_LIMIT = ("off", "none")
#: The square image side, in pixels, every command loads, trains and synthesises at: below
#: 32 a defect is a handful of pixels and every design learns at chance.
MIN_INPUT_SIZE, MAX_INPUT_SIZE = 32, 4096


def parse_count(text: str | int | float, *, what: str = "count") -> int:
    """``100M`` -> 100_000_000; ``1.5G``, ``500K``, ``97263435`` also work. Must be > 0."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        match = _COUNT.match(str(text))
        if not match:
            raise ConfigError(
                f"{what}: expected a positive number like 100M, 1.5G, 500K or 97263435, "
                f"got {text!r}"
            )
        value = float(match.group(1)) * _SUFFIX[match.group(2).lower()]
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{what}: expected a positive number, got {text!r}")
    return round(value)


def parse_fraction(text: str | float, *, what: str = "tolerance", upper: float = 1.0) -> float:
    """``5%`` or ``0.05`` -> 0.05. Must lie in [0, upper)."""
    raw = str(text).strip()
    try:
        value = float(raw[:-1]) / 100 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ConfigError(f"{what}: expected a fraction like 5% or 0.05, got {text!r}") from None
    if not math.isfinite(value) or not 0 <= value < upper:
        raise ConfigError(
            f"{what}: expected a fraction in [0%, {upper:.0%}), got {text!r}",
            hint="a 5% band around 100M is written --flops 100M --tolerance 5%",
        )
    return value


def parse_duration(text: str | float, *, what: str = "duration", default_unit: str = "s") -> float:
    """``30m``, ``2h``, ``90s``, ``2ms`` -> seconds. A bare number uses ``default_unit``."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text) * _UNITS_S[default_unit]
    else:
        match = _DURATION.match(str(text))
        if not match:
            raise ConfigError(
                f"{what}: expected a duration like 2ms, 90s, 30m or 2h, got {text!r}"
            )
        unit = (match.group(2) or default_unit).lower()
        value = float(match.group(1)) * _UNITS_S[unit]
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{what}: expected a positive duration, got {text!r}")
    return value


def parse_latency_ms(text: str | float, *, what: str = "--latency") -> float:
    """A latency budget in milliseconds: ``2ms``, ``0.5ms``, ``1s``; a bare number is ms."""
    return parse_duration(text, what=what, default_unit="ms") * 1e3


def parse_positive_int(text: str | int, *, what: str) -> int:
    """A strictly positive integer, or a ConfigError naming ``what``."""
    try:
        value = int(str(text).strip())
    except ValueError:
        raise ConfigError(f"{what}: expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise ConfigError(f"{what}: expected a positive integer, got {text!r}")
    return value


def parse_input_size(text: str | int, *, what: str = "input size") -> int:
    """An image side in pixels from ``MIN_INPUT_SIZE`` to ``MAX_INPUT_SIZE``."""
    value = parse_positive_int(text, what=what)
    if not MIN_INPUT_SIZE <= value <= MAX_INPUT_SIZE:
        raise ConfigError(
            f"{what}: expected an image side from {MIN_INPUT_SIZE} to {MAX_INPUT_SIZE} pixels, "
            f"got {text!r}",
            hint=f"NEU images are 200; below {MIN_INPUT_SIZE} a defect is a few pixels",
        )
    return value


def parse_optional_duration(
    text: str | float, *, what: str = "duration", default_unit: str = "s"
) -> float | None:
    """A duration as in :func:`parse_duration`, or None for ``off`` / ``none`` (no limit).

    Zero is refused, as for every other limit: write ``off`` for no limit.
    """
    if isinstance(text, str) and text.strip().lower() in NO_LIMIT:
        return None
    try:
        return parse_duration(text, what=what, default_unit=default_unit)
    except ConfigError:
        raise ConfigError(
            f"{what}: expected a positive duration like 90s, 30m or 2h, or 'off' for no "
            f"limit, got {text!r}"
        ) from None


def parse_int_list(text: str, *, what: str) -> list[int]:
    """``1,64`` -> [1, 64]; every item a positive integer."""
    items = [item for item in str(text).split(",") if item.strip()]
    if not items:
        raise ConfigError(f"{what}: expected a comma-separated list like 1,64, got {text!r}")
    return [parse_positive_int(item, what=what) for item in items]


def format_count(value: float) -> str:
    """97263435 -> ``97.26M``; the inverse of :func:`parse_count` for display."""
    for suffix, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.2f}{suffix}"
    return f"{value:.0f}"


def format_ms(value: float) -> str:
    return f"{value:.3f} ms" if value < 10 else f"{value:.1f} ms"
