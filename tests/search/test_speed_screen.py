"""The speed screen: candidates slower than the reference are not trained in full."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from gensynth.prototypes import reference_spec
from gensynth.search.screen import screen_candidates
from gensynth.search.selection import (
    LATENCY_SLACK_MAX,
    LATENCY_TOLERANCE,
    keep_fast,
    latency_slack,
)
from gensynth.studies.records import TrialRecord


def _record(number: int, spec: dict | None = None, origin: str = "sample") -> TrialRecord:
    return TrialRecord(
        number=number, state="COMPLETE", values=(90.0,), spec=spec or {}, describe=f"net{number}",
        spec_hash=f"h{number}", origin=origin, feasible=True, reason=None, macs=1, params=1,
        latency_ms=None, metric=80.0, netscore=90.0, insights={}, fail_reason=None,
        user_attrs={}, duration_s=1.0,
    )  # fmt: skip


def test_keep_fast_keeps_the_first_ones_within_the_allowance_in_order():
    candidates = [_record(n) for n in (7, 3, 9, 4, 5)]
    ratios = {7: 1.31, 3: 1.04, 9: None, 4: 1.10, 5: 0.9}
    assert [r.number for r in keep_fast(candidates, ratios, 2, 0.05)] == [3, 9]
    assert [r.number for r in keep_fast(candidates, ratios, 3, 0.10)] == [3, 9, 4]
    assert [r.number for r in keep_fast(candidates, ratios, 9, 0.05)] == [3, 9, 5]
    assert keep_fast(candidates[:1], ratios, 3, 0.15) == []  # 31% slower: none is trained


def test_the_allowance_is_the_tolerance_or_twice_the_spread_capped():
    assert latency_slack(0.0) == LATENCY_TOLERANCE
    assert latency_slack(0.04) == pytest.approx(0.08)
    assert latency_slack(0.47) == LATENCY_SLACK_MAX


def test_a_candidate_much_slower_than_the_reference_is_screened_out():
    """Real timing in a fresh process: a ResNet-18 beside a plain net of a few M MACs."""
    plain = reference_spec("plain", in_channels=1, input_size=64, num_classes=3)
    heavy = reference_spec("resnet18", in_channels=1, input_size=64, num_classes=3)
    reference = _record(0, plain.to_dict(), origin="reference")
    slow, same = _record(4, heavy.to_dict()), _record(6, plain.to_dict())
    session = SimpleNamespace(spec=SimpleNamespace(backend="onnxruntime-cpu", batch=1,
                                                   threads=1))  # fmt: skip
    kept, screen = screen_candidates(session, reference, [slow, same], 1)  # type: ignore[arg-type]
    assert [r.number for r in kept] == [6]
    assert screen.timed == (4, 6) and screen.kept == (6,) and screen.dropped == (4,)
    assert screen.ratios[4] > 3  # about 20x the MACs
    assert screen.reference_ms > 0 and screen.seconds > 0
    data = screen.to_json()
    assert [c["kept"] for c in data["candidates"]] == [False, True]
