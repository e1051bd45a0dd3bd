"""MODEL_CARD.md: rendered from metrics.json for both tasks, written with it, never apart."""

from __future__ import annotations

import json

import pytest

from gensynth.modelcard import MODEL_CARD_FILE, render_model_card, wilson_interval
from gensynth.modeldir import write_metrics

SECTIONS = ("## Model details", "## Intended use", "## Training data", "## Evaluation",
            "## Latency", "## Explanation audit", "## Limitations")  # fmt: skip


def _metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


def test_training_writes_the_card_beside_metrics(classifier_dir, segmenter_dir):
    for folder in (classifier_dir, segmenter_dir):
        card = (folder / MODEL_CARD_FILE).read_text()
        assert card == render_model_card(_metrics(folder))


def test_classifier_card_holds_the_metrics_figures(classifier_dir):
    metrics = _metrics(classifier_dir)
    card = render_model_card(metrics)
    assert card.startswith("---\nlibrary_name: gensynth\npipeline_tag: image-classification")
    for section in SECTIONS:
        assert section in card
    test = metrics["test"]
    assert f"Test accuracy **{test['accuracy']:.2f}%** on {test['count']} held-out images" in card
    assert metrics["data"]["fingerprint"] in card
    split = metrics["data"]["split_counts"]
    assert f"| **all** | **{split['train']}** | **{split['val']}** | **{split['test']}** |" in card
    name, row = next(iter(test["per_class"].items()))
    assert f"| {name} | {row['precision']:.1f} | {row['recall']:.1f} |" in card
    assert metrics["spec"].replace("|", "\\|") in card
    assert "## INT8" not in card


def test_segmenter_card_holds_iou_and_the_verdict_rule(segmenter_dir):
    metrics = _metrics(segmenter_dir)
    card = render_model_card(metrics)
    assert "pipeline_tag: image-segmentation" in card
    assert f"Test mIoU **{metrics['test']['miou']:.2f}%**" in card
    assert "| pixel threshold | precision % | recall % | false alarm % |" in card
    assert "| **0.5** |" in card  # the threshold predict uses, in bold
    assert f"area threshold {metrics['test']['decision']['area_threshold']}" in card


def test_latency_int8_and_audit_sections_when_recorded(classifier_dir):
    metrics = _metrics(classifier_dir)
    metrics["latency"] = {
        "method": "alternating-blocks/1",
        "process": "fresh",
        "model": {"name": "trial-3", "backend": "onnxruntime-cpu", "batch": 1,
                  "median_ms": 1.54, "p90_ms": 1.7, "images_per_s": 649.0,
                  "settings": {"threads": 2, "spinning": True, "graph_optimization": "all"},
                  "device": "Test CPU", "load": {"flagged": False}},
        "baseline": {"name": "resnet50", "median_ms": 35.5, "p90_ms": 36.0, "images_per_s": 28.2},
        "speedup": 23.05,
    }  # fmt: skip
    metrics["int8"] = {"metric": "accuracy", "fp32": 91.5, "int8": 91.25, "drop_points": 0.25,
                       "max_drop_points": 1.0, "test_count": 360, "verdict": "passed: ok",
                       "calibration": {"images": 256, "split": "train"}}  # fmt: skip
    metrics["explanation"] = {"methods": "gradcam", "off_defect_share": 0.12}
    card = render_model_card(metrics)
    assert "| model: trial-3 | 1.540 | 1.700 | 649 |" in card
    assert "| baseline: resnet50 | 35.500 |" in card
    assert "onnxruntime-cpu, batch 1, 2 thread(s)" in card and "on Test CPU" in card
    assert "23.1×" in card
    assert "## INT8" in card and "| drop (points) | 0.25 |" in card
    assert "Calibrated on 256 train images" in card
    assert "| off_defect_share | 0.12 |" in card


def test_write_metrics_rewrites_the_card(classifier_dir):
    metrics = _metrics(classifier_dir)
    metrics["test"]["accuracy"] = 87.654
    write_metrics(classifier_dir, metrics)
    assert "Test accuracy **87.65%**" in (classifier_dir / MODEL_CARD_FILE).read_text()


def test_sparse_metrics_render_without_guessing():
    card = render_model_card({"task": "classify"})
    assert "metrics.json records no data section" in card
    assert "metrics.json records no test scores." in card
    assert "records no latency" in card


def test_wilson_interval():
    low, high = wilson_interval(50.0, 100)
    assert (low, high) == (pytest.approx(40.383, abs=1e-3), pytest.approx(59.617, abs=1e-3))
    assert wilson_interval(100.0, 10)[1] == pytest.approx(100.0)
    assert wilson_interval(50.0, 0) is None
