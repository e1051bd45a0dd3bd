"""`--fail-under` gates: parsing and evaluation against summary numbers."""

from __future__ import annotations

import pytest

from gensynth.errors import ConfigError
from gensynth.explain import GATE_METRICS, Gate, evaluate_gates, parse_gate

METHODS = ("gradcam", "ig")
SUMMARY = {
    "overall": {
        "gradcam": {"impact_score": 0.8, "coverage": None, "mask_energy": 0.3},
        "ig": {"impact_score": 0.5, "coverage": 0.4, "mask_energy": 0.31},
    }
}


def test_parse_metric_and_method_forms():
    assert parse_gate("impact_score=0.6", METHODS) == Gate("impact_score", 0.6)
    assert parse_gate(" ig.mask_energy = 0.3 ", METHODS) == Gate("mask_energy", 0.3, "ig")
    assert set(GATE_METRICS) == {"impact_score", "coverage", "mask_energy", "pointing_game"}


@pytest.mark.parametrize("text", ["impact_score=nan", "impact_score=inf", "impact_score=-0.1"])
def test_values_must_be_fractions(text):
    with pytest.raises(ConfigError, match="expected a number from 0 to 1"):
        parse_gate(text, METHODS)


def test_a_gate_without_method_applies_to_every_method():
    rows = evaluate_gates(SUMMARY, [Gate("impact_score", 0.6)])
    assert [(r["method"], r["passed"]) for r in rows] == [("gradcam", True), ("ig", False)]
    assert rows[1]["reason"] == "ig impact_score 0.500 < 0.6"


def test_threshold_is_inclusive_and_unmeasured_metrics_fail():
    rows = evaluate_gates(SUMMARY, [Gate("mask_energy", 0.3), Gate("coverage", 0.1)])
    assert [r["passed"] for r in rows] == [True, True, False, True]
    assert rows[2]["reason"] == "gradcam coverage was not measured"
