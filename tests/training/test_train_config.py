"""TrainConfig defaults and validation."""

from __future__ import annotations

import pytest

from gensynth.errors import ConfigError
from gensynth.training import TrainConfig, primary_metric


def test_task_defaults_differ_and_overrides_win():
    classify = TrainConfig.for_task("classify")
    segment = TrainConfig.for_task("segment", epochs=3)
    assert classify.label_smoothing > 0 and segment.label_smoothing == 0
    assert segment.epochs == 3 and segment.bce_weight == 0.5


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"epochs": 0}, "epochs: expected a positive integer, got 0"),
        ({"lr": -1.0}, "lr: expected a number > 0"),
        ({"optimizer": "adam"}, "optimizer: expected one of adamw, sgd, got 'adam'"),
        ({"input_size": 4}, "input_size: expected at least 8"),
        ({"grad_clip": float("nan")}, "grad_clip"),
    ],
)
def test_bad_values_name_the_field(changes, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**changes)


def test_unknown_override_is_an_error_naming_it():
    with pytest.raises(ConfigError, match="'epoch'"):
        TrainConfig.for_task("classify", epoch=3)
    with pytest.raises(ConfigError, match="got 'detect'"):
        TrainConfig.for_task("detect")


def test_primary_metric():
    assert primary_metric("classify") == "accuracy"
    assert primary_metric("segment") == "miou"
    with pytest.raises(ConfigError):
        primary_metric("detect")
