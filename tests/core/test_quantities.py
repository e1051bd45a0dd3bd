from __future__ import annotations

import pytest

from gensynth.constraints import (
    format_count,
    parse_count,
    parse_duration,
    parse_fraction,
    parse_int_list,
    parse_latency_ms,
    parse_positive_int,
)
from gensynth.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100M", 100_000_000),
        ("1.5G", 1_500_000_000),
        ("500K", 500_000),
        ("500k", 500_000),
        ("97263435", 97_263_435),
        ("0.44G", 440_000_000),
        (25_000_000, 25_000_000),
    ],
)
def test_parse_count(text, expected):
    assert parse_count(text) == expected


@pytest.mark.parametrize("text", ["abc", "-5M", "0", "100X", "", "1e400", "nan"])
def test_parse_count_rejects(text):
    with pytest.raises(ConfigError) as info:
        parse_count(text, what="--flops")
    assert "--flops" in info.value.message
    assert info.value.exit_code == 2


@pytest.mark.parametrize(("text", "expected"), [("5%", 0.05), ("0.05", 0.05), ("0%", 0.0)])
def test_parse_fraction(text, expected):
    assert parse_fraction(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["150%", "-1%", "1.0", "five", "100%"])
def test_parse_fraction_rejects(text):
    with pytest.raises(ConfigError, match="tolerance"):
        parse_fraction(text)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("2h", 7200), ("90s", 90), ("90", 90), ("2ms", 0.002)]
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["5x", "fast", "-1ms", "0s", ""])
def test_parse_duration_rejects(text):
    with pytest.raises(ConfigError):
        parse_duration(text, what="--timeout")


def test_latency_is_in_ms_and_bare_numbers_are_ms():
    assert parse_latency_ms("2ms") == pytest.approx(2.0)
    assert parse_latency_ms("1s") == pytest.approx(1000.0)
    assert parse_latency_ms("0.5") == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="--latency"):
        parse_latency_ms("fast")


def test_int_lists_and_positive_ints():
    assert parse_int_list("1,64", what="--batch") == [1, 64]
    for bad in ("0", "x", "1,,-2", ""):
        with pytest.raises(ConfigError, match="--batch"):
            parse_int_list(bad, what="--batch")
    assert parse_positive_int("3", what="--workers") == 3
    with pytest.raises(ConfigError, match="--workers"):
        parse_positive_int("0", what="--workers")


def test_format_count_round_trips_roughly():
    assert format_count(97_263_435) == "97.26M"
    assert format_count(4.09e9) == "4.09G"
    assert format_count(512) == "512"
