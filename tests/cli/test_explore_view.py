"""The explore view's lines for the final stages: the speed screen says what it kept."""

from __future__ import annotations

from gensynth.cli._explore_view import RichExploreView
from gensynth.search.screen import SpeedScreen


def test_the_screen_line_names_the_kept_and_the_too_slow(capsys):
    ratios = {25: 0.97, 44: 1.55, 24: 1.07, 9: None}
    screen = SpeedScreen(ratios=ratios, slack=0.15, reference_ms=0.71, kept=(25, 24, 9),
                         seconds=23.4)  # fmt: skip
    view = RichExploreView()
    view.stage("screen", 4)
    view.screened(screen)
    text = " ".join(capsys.readouterr().err.split())
    assert "Timing 4 candidate(s) beside the reference before full training" in text
    assert "within 15%): #25, #24, #9" in text
    assert "too slow, not trained: #44 (+55%)" in text


def test_a_screen_that_keeps_none_says_none(capsys):
    screen = SpeedScreen(ratios={3: 2.0}, slack=0.05, reference_ms=1.0, kept=(), seconds=5.0)
    RichExploreView().screened(screen)
    text = " ".join(capsys.readouterr().err.split())
    assert "within 5%): none" in text and "#3 (+100%)" in text


def test_round_range_reads_like_its_headline():
    from types import SimpleNamespace

    from gensynth.cli._explore_view import _round_range, _times

    slower = SimpleNamespace(speedup=1 / 1.10, block_speedups=[0.84, 0.98])
    assert _times(slower.speedup) == "1.10× slower"
    assert _round_range(slower) == "1.02–1.19"
    faster = SimpleNamespace(speedup=65.7, block_speedups=[62.38, 66.57])
    assert _round_range(faster) == "62.38–66.57"
