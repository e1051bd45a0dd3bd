"""Self-describing ONNX: the gensynth metadata written by every export, read back, refused when
missing."""

from __future__ import annotations

import dataclasses
import json

import onnx
import pytest
from typer.testing import CliRunner

from gensynth.cli.main import app
from gensynth.data.preprocess import Preprocessing
from gensynth.deploy import (
    ModelMetadata,
    Predictor,
    export_model_dir,
    metadata_for,
    read_onnx_metadata,
    stamp_onnx,
)
from gensynth.deploy.metadata import DEFAULT_AREA_THRESHOLD, DEFAULT_PIXEL_THRESHOLD, PREFIX
from gensynth.errors import DataError
from gensynth.modeldir import load_model_dir

runner = CliRunner()


def _metadata(task: str = "segment") -> ModelMetadata:
    return ModelMetadata(
        task=task,
        class_names=("crack", "spot"),
        preprocessing=Preprocessing(channels=3, input_size=48, resize="pad"),
        spec_hash="abc123",
        gensynth_version="9.9.9",
        pixel_threshold=0.35 if task == "segment" else None,
        area_threshold=0.001 if task == "segment" else None,
        threshold_source="test" if task == "segment" else "",
    )


@pytest.mark.parametrize("task", ["classify", "segment"])
def test_props_round_trip(task):
    meta = _metadata(task)
    props = meta.to_props()
    assert all(key.startswith(PREFIX) and isinstance(v, str) for key, v in props.items())
    assert ModelMetadata.from_props(props) == meta
    if task == "classify":
        assert PREFIX + "pixel_threshold" not in props


def test_export_writes_the_folders_metadata(classifier_dir):
    meta = read_onnx_metadata(classifier_dir / "model.onnx")
    metrics = json.loads((classifier_dir / "metrics.json").read_text())
    assert meta.task == "classify"
    assert list(meta.class_names) == metrics["data"]["class_names"]
    assert meta.spec_hash == metrics["spec_hash"]
    assert (meta.preprocessing.channels, meta.preprocessing.input_size) == (1, 32)
    assert meta.preprocessing.scale == pytest.approx(1 / 127.5)
    assert meta.preprocessing.offset == -1.0
    assert meta.gensynth_version == metrics["versions"]["gensynth"]


def test_segmentation_threshold_comes_from_metrics(segmenter_dir):
    meta = read_onnx_metadata(segmenter_dir / "model.onnx")
    test = json.loads((segmenter_dir / "metrics.json").read_text())["test"]
    assert meta.pixel_threshold == test["pixel_threshold"]
    assert meta.area_threshold == test["decision"]["area_threshold"]
    assert "metrics.json" in meta.threshold_source


def test_missing_threshold_falls_back_to_the_documented_default(segmenter_dir):
    loaded = load_model_dir(segmenter_dir)
    metrics = dict(loaded.metrics, test={})
    meta = metadata_for(loaded.spec, metrics)
    assert (meta.pixel_threshold, meta.area_threshold) == (
        DEFAULT_PIXEL_THRESHOLD,
        DEFAULT_AREA_THRESHOLD,
    )
    assert meta.threshold_source.startswith("default")


def test_preprocessing_that_contradicts_the_spec_is_refused(classifier_dir):
    loaded = load_model_dir(classifier_dir)
    metrics = dict(loaded.metrics, preprocessing={"channels": 3, "input_size": 32})
    with pytest.raises(DataError, match="does not match the spec"):
        metadata_for(loaded.spec, metrics)


def test_stamp_replaces_gensynth_keys_and_keeps_others(classifier_dir):
    path = classifier_dir / "model.onnx"
    model = onnx.load(str(path))
    entry = model.metadata_props.add()
    entry.key, entry.value = "author", "someone"
    onnx.save(model, str(path))
    stamp_onnx(path, _metadata("classify"))
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert props["author"] == "someone"
    assert props[PREFIX + "spec_hash"] == "abc123"
    assert sum(1 for p in onnx.load(str(path)).metadata_props if p.key == PREFIX + "task") == 1


def _strip(path, keep=()):
    model = onnx.load(str(path))
    kept = [(p.key, p.value) for p in model.metadata_props if p.key in keep]
    del model.metadata_props[:]
    for key, value in kept:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(model, str(path))


def test_foreign_onnx_is_refused_naming_the_missing_keys(classifier_dir):
    path = classifier_dir / "model.onnx"
    _strip(path)
    with pytest.raises(DataError, match=r"has no gensynth metadata: missing .*gensynth\.task"):
        Predictor.from_onnx(path)
    result = runner.invoke(app, ["predict", str(path), str(classifier_dir)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "gensynth.class_names" in lines[0]


def test_incomplete_metadata_names_what_is_missing(classifier_dir):
    path = classifier_dir / "model.onnx"
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    _strip(path, keep=set(props) - {PREFIX + "input_size"})
    with pytest.raises(DataError, match="incomplete gensynth metadata") as info:
        read_onnx_metadata(path)
    assert info.value.message.endswith("missing gensynth.input_size")


def test_unreadable_onnx_is_a_data_error(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"not an onnx model")
    with pytest.raises(DataError, match="not a readable ONNX file"):
        read_onnx_metadata(path)


def test_cli_export_stamps_and_leaves_no_temporary_file(classifier_dir, tmp_path):
    target = tmp_path / "elsewhere" / "m.onnx"
    target.parent.mkdir()
    result = runner.invoke(app, ["export", str(classifier_dir), "--onnx", str(target)])
    assert result.exit_code == 0, result.output
    assert read_onnx_metadata(target).task == "classify"
    assert sorted(p.name for p in target.parent.iterdir()) == ["m.onnx"]


def test_export_model_dir_report_points_at_the_target(segmenter_dir):
    report, meta = export_model_dir(segmenter_dir)
    assert report.path == segmenter_dir / "model.onnx"
    assert report.max_abs_diff < 1e-4
    assert dataclasses.replace(meta) == read_onnx_metadata(report.path)
