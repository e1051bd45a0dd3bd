from __future__ import annotations

import math

import pytest

from gensynth.search.utility import NetScore, netscore


@pytest.mark.parametrize(
    ("a", "p", "m", "omega"),
    [
        (57.2, 61.0e6, 0.72e9, 53.9),  # AlexNet
        (76.1, 25.6e6, 4.1e9, 55.1),  # ResNet-50
        (72.0, 3.4e6, 0.30e9, 74.2),  # MobileNetV2
        (98.0, 0.427e6, 0.097e9, 93.5),  # TinyDefectNet
    ],
)
def test_netscore_matches_the_reference_values(a, p, m, omega):
    assert netscore(a, p, m) == pytest.approx(omega, abs=0.06)


def test_netscore_is_base_10_and_monotone():
    base = netscore(90, 1e6, 1e9)
    assert base == pytest.approx(20 * math.log10(90**2))
    assert netscore(95, 1e6, 1e9) > base
    assert netscore(90, 2e6, 1e9) < base
    assert netscore(90, 1e6, 2e9) < base


def test_zero_accuracy_is_finite_and_weights_apply():
    assert math.isfinite(netscore(0.0, 1e6, 1e8))
    score = NetScore(alpha=1.0, beta=0.0, gamma=0.0)
    assert score(50, 1e6, 1e9) == pytest.approx(20 * math.log10(50))
    with pytest.raises(ValueError):
        netscore(90, 0, 1e9)
