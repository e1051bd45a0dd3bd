"""evaluate and predict_proba: shapes, known answers from oracle models, negatives, plots."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn
from train_toys import tiny_classifier, toy_dataset

from gensynth.errors import ConfigError, DataError
from gensynth.training import (
    evaluate,
    plot_confusion,
    plot_curves,
    plot_decision_sweep,
    predict_proba,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Oracle(nn.Module):
    """Marks the toy data's bright squares (input > 0.5) as defect, with confident logits."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(20.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x > 0.5).float() * 2 - 1) * self.scale


class _Brightness(nn.Module):
    """Classifies the toy classification images by mean brightness (right on all of them)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cls = torch.bucketize(x.mean(dim=(1, 2, 3)), torch.tensor([-0.55, -0.1]))
        return nn.functional.one_hot(cls, 3).float() * 5


def test_predict_proba_shapes_and_normalisation(classify_data):
    probs = predict_proba(tiny_classifier(), classify_data.images[:5], task="classify")
    assert probs.shape == (5, 3)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    masks = predict_proba(_Oracle(), classify_data.images[:4], task="segment", input_size=16)
    assert masks.shape == (4, 16, 16) and masks.min() >= 0.0 and masks.max() <= 1.0
    with pytest.raises(ConfigError, match="got 'detect'"):
        predict_proba(_Oracle(), classify_data.images[:1], task="detect")
    with pytest.raises(DataError, match="expected shape"):
        predict_proba(_Oracle(), np.zeros((2, 3, 4, 5, 6)), task="segment")


def test_classification_evaluation_of_a_perfect_model(classify_data):
    m = evaluate(_Brightness(), classify_data, task="classify", split="test")
    assert m["accuracy"] == 100.0 and m["macro_f1"] == 100.0 and m["split"] == "test"
    assert m["confusion"]["matrix"] == [[6, 0, 0], [0, 6, 0], [0, 0, 6]]
    assert m["loss"] == pytest.approx(np.log(1 + 2 * np.exp(-5.0)), rel=1e-4)  # mean CE
    json.dumps(m)  # JSON-serialisable


def test_segmentation_evaluation_of_an_oracle(segment_data):
    m = evaluate(
        _Oracle(), segment_data, task="segment", split="test", negatives=np.zeros((5, 32, 32))
    )
    assert m["miou"] == pytest.approx(100.0) and m["dice"] == pytest.approx(100.0)
    assert m["pixel_accuracy"] == pytest.approx(100.0)
    decision = m["decision"]
    assert decision["negatives"] == 5 and "supplied by the caller" in decision["negatives_source"]
    assert all(p["recall"] == 100.0 and p["false_alarm"] == 0.0 for p in decision["points"])
    json.dumps(m)


def test_segmentation_negatives_auto_are_explicit_about_their_source(segment_data):
    m = evaluate(_Oracle(), segment_data, task="segment", split="val")
    try:
        from gensynth.data import clean_background  # noqa: F401
    except ImportError:
        assert m["decision"]["negatives"] == 0
        assert m["decision"]["negatives_source"].startswith("none")
    else:
        assert m["decision"]["negatives"] > 0
        assert "clean_background" in m["decision"]["negatives_source"]
    none = evaluate(_Oracle(), segment_data, task="segment", negatives=None)
    assert none["decision"]["negatives"] == 0


def test_own_defect_free_images_are_the_negatives():
    data = toy_dataset("segment", per_class=10)
    masks = data.masks.copy()
    masks[::2] = 0  # half the images become defect-free
    data = type(data)(**{**data.__dict__, "masks": masks})
    m = evaluate(_Oracle(), data, task="segment", split=None)
    decision = m["decision"]
    assert decision["negatives"] == 15 and decision["positives"] == 15
    assert decision["negatives_source"] == (
        "15 real defect-free images (empty ground truth) of the split"
    )
    assert decision["real_negatives"] == 15 and decision["constructed_negatives"] == 0
    assert decision["real_negatives_by_class"] == {"class0": 5, "class1": 5, "class2": 5}
    # the squares are still in the images whose masks were emptied: the oracle's marks on
    # them are false alarms, counted over the 15 real negatives
    assert all(p["fp"] == 15 and p["false_alarm"] == 100.0 for p in decision["points"])


def test_evaluate_at_a_proxy_size(segment_data):
    m = evaluate(_Oracle(), segment_data, task="segment", input_size=16, negatives=None)
    assert m["input_size"] == 16 and 40.0 < m["miou"] < 100.0  # blurred edges at 16 px


def test_plots_write_png_files(tmp_path, classify_data, segment_data):
    history = [
        {"epoch": 1, "loss": 1.0, "val_accuracy": 50.0},
        {"epoch": 2, "loss": None, "val_accuracy": 60.0},
    ]
    confusion = evaluate(_Brightness(), classify_data, task="classify")["confusion"]
    decision = evaluate(_Oracle(), segment_data, task="segment", negatives=None)["decision"]
    paths = [
        plot_curves(history, tmp_path / "curves.png", metric="accuracy"),
        plot_confusion(confusion, tmp_path / "confusion.png"),
        plot_decision_sweep(decision, tmp_path / "sweep.png"),
    ]
    ema = [
        {"epoch": e, "loss": 1 / e, "val_loss": 1.1 / e, "val_accuracy": 50 + e,
         "val_loss_raw": 1.2 / e, "val_accuracy_raw": 45 + e, "lr": 0.1 / e}
        for e in (1, 2, 3)
    ]  # fmt: skip
    paths.append(plot_curves(ema, tmp_path / "ema.png", metric="accuracy"))
    for path in paths:
        assert path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 5000
    assert paths[-1].stat().st_size > paths[0].stat().st_size  # more curves drawn
