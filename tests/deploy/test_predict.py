"""``Predictor``: rows per image, the training preprocessing, masks at the original size, and
one clear error per bad input."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gensynth.data import load_dataset
from gensynth.deploy import (
    BadImage,
    ClassPrediction,
    Predictor,
    SegmentPrediction,
    expand_paths,
    read_onnx_metadata,
    summarize,
)
from gensynth.deploy.predict import original_mask
from gensynth.errors import BackendUnavailable, ConfigError, DataError
from gensynth.modeldir import load_model_dir

SIZE = 32


def _bmps(folder, count=None):
    files = sorted(folder.glob("*.bmp"))
    return files if count is None else files[:count]


def test_classifier_rows(classifier_dir, classify_images):
    predictor = Predictor.from_model_dir(classifier_dir, threads=1)
    files = _bmps(classify_images, 5)
    rows = list(predictor.predict(files))
    names = read_onnx_metadata(classifier_dir / "model.onnx").class_names
    assert [r.path for r in rows] == [str(f) for f in files]
    for row in rows:
        assert isinstance(row, ClassPrediction)
        assert (row.width, row.height) == (48, 48)
        assert list(row.probabilities) == list(names)
        assert sum(row.probabilities.values()) == pytest.approx(1.0, abs=1e-6)
        assert row.label == max(row.probabilities, key=row.probabilities.get)
        assert row.confidence == row.probabilities[row.label]
    summary = summarize(rows, 2.0)
    assert sum(summary["per_class"].values()) == 5
    assert summary["images_per_second"] == 2.5


def test_predict_applies_the_training_preprocessing(classifier_dir, classify_images, tmp_path):
    """Same file: predict's pixels and ONNX output equal the training tensor and torch's output."""
    import torch

    from gensynth.deploy._images import decode
    from gensynth.training import to_input

    data = load_dataset(classify_images, task="classify", input_size=SIZE, cache_dir=tmp_path)
    loaded = load_model_dir(classifier_dir)
    predictor = Predictor.from_model_dir(classifier_dir, threads=1)
    picks = [0, len(data.paths) // 2, len(data.paths) - 1]
    for i in picks:
        path = classify_images / data.paths[i]
        pixels = decode(path, predictor.metadata.preprocessing).pixels
        np.testing.assert_array_equal(pixels, data.images[i])
        with torch.inference_mode():
            expected = loaded.model(to_input(torch.from_numpy(data.images[i][None, None])))
        got = predictor.run(pixels[None])
        np.testing.assert_allclose(got, expected.numpy(), atol=1e-4)


def test_segmenter_masks_at_the_original_size(segmenter_dir, segment_images):
    predictor = Predictor.from_model_dir(segmenter_dir, threads=1)
    files = sorted((segment_images / "Source Images").glob("*"))[:3]
    rows = list(predictor.predict(files))
    meta = predictor.metadata
    for row in rows:
        assert isinstance(row, SegmentPrediction)
        assert row.mask.shape == (row.height, row.width) == (48, 48)
        assert set(np.unique(row.mask)) <= {0, 255}
        assert row.defect_pixels == int((row.mask > 0).sum())
        assert row.defect_percent == pytest.approx(100 * row.defect_pixels / (48 * 48))
        assert row.defect == (row.share_at_input >= meta.area_threshold)


@pytest.mark.parametrize(("pixel", "defect"), [(1e-9, True), (1.0 + 1e-6, False)])
def test_segment_verdict_follows_the_stored_threshold(
    segmenter_dir, segment_images, pixel, defect
):
    onnx = segmenter_dir / "model.onnx"
    meta = dataclasses.replace(read_onnx_metadata(onnx), pixel_threshold=pixel)
    predictor = Predictor(onnx, meta, threads=1)
    row = next(iter(predictor.predict([segment_images / "Source Images"])))
    assert row.defect is defect
    assert row.defect_pixels == (48 * 48 if defect else 0)


def test_original_mask_undoes_each_resize_policy():
    probs = np.zeros((8, 8), np.float32)
    probs[:, :4] = 1.0  # left half defect
    stretch = original_mask(probs, (20, 10), "stretch", 0.5)
    assert stretch.shape == (10, 20)
    assert stretch[:, :9].all() and not stretch[:, 11:].any()
    # pad: a 20x10 image fills rows 2..5 of the 8x8 input; the left half stays the left half
    padded = original_mask(probs, (20, 10), "pad", 0.5)
    assert padded.shape == (10, 20) and padded[:, :9].all() and not padded[:, 11:].any()
    # crop: the model saw the centre 10x10 of a 20x10 image; outside it the mask is empty
    cropped = original_mask(probs, (20, 10), "crop", 0.5)
    assert not cropped[:, :5].any() and not cropped[:, 15:].any()
    assert cropped[:, 5:9].all() and not cropped[:, 11:15].any()


def test_folder_without_images_is_one_clear_error(classifier_dir, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    predictor = Predictor.from_model_dir(classifier_dir, threads=1)
    with pytest.raises(DataError, match="holds no images"):
        list(predictor.predict([empty]))
    with pytest.raises(DataError, match="does not exist"):
        list(predictor.predict([tmp_path / "missing"]))


def test_bad_image_is_named_or_skipped(classifier_dir, classify_images, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    good = _bmps(classify_images, 2)
    predictor = Predictor.from_model_dir(classifier_dir, threads=1)
    with pytest.raises(BadImage, match=r"broken\.png"):
        list(predictor.predict([good[0], bad, good[1]]))
    skipped: list[BadImage] = []
    rows = list(predictor.predict([good[0], bad, good[1]], skip_bad=True, on_skip=skipped.append))
    assert [r.path for r in rows] == [str(good[0]), str(good[1])]
    assert [s.path for s in skipped] == [str(bad)]


def test_other_channel_count_is_converted_with_one_warning(
    classifier_dir, classify_images, tmp_path
):
    colour = tmp_path / "colour"
    colour.mkdir()
    for k, source in enumerate(_bmps(classify_images, 3)):
        Image.open(source).convert("RGB").save(colour / f"c{k}.png")
    predictor = Predictor.from_model_dir(classifier_dir, threads=1)
    warnings: list[str] = []
    rows = list(predictor.predict([colour], on_warning=warnings.append))
    plain = list(predictor.predict(_bmps(classify_images, 3)))
    assert len(warnings) == 1 and "converted to grayscale" in warnings[0]
    # grey -> RGB -> grey is lossless, so the answers are the grey files' answers
    for mine, theirs in zip(rows, plain, strict=True):
        assert mine.probabilities == pytest.approx(theirs.probabilities)


def test_model_folder_without_onnx_says_how_to_export(classifier_dir):
    (classifier_dir / "model.onnx").unlink()
    with pytest.raises(DataError, match=r"has no model\.onnx") as info:
        Predictor.from_model_dir(classifier_dir)
    assert f"gensynth export {classifier_dir}" in (info.value.hint or "")
    predictor = Predictor.from_model_dir(classifier_dir, export=True, threads=1)
    assert (classifier_dir / "model.onnx").is_file()
    assert predictor.metadata.task == "classify"


def test_int8_without_the_file_says_how_to_make_it(classifier_dir):
    with pytest.raises(DataError, match=r"has no model\.int8\.onnx") as info:
        Predictor.from_model_dir(classifier_dir, int8=True)
    assert f"gensynth export {classifier_dir} --int8" in (info.value.hint or "")


def test_int8_recorded_as_failed_is_refused(classifier_dir):
    (classifier_dir / "model.int8.onnx").write_bytes((classifier_dir / "model.onnx").read_bytes())
    metrics_path = classifier_dir / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    metrics["int8"] = {"passed": False, "verdict": "failed: INT8 lost 4.00 points > 1"}
    metrics_path.write_text(json.dumps(metrics))
    with pytest.raises(
        DataError, match=r"failed its accuracy check: failed: INT8 lost 4\.00"
    ) as info:
        Predictor.from_model_dir(classifier_dir, int8=True)
    assert info.value.exit_code == 3  # a negative verdict
    metrics["int8"]["passed"] = True
    metrics_path.write_text(json.dumps(metrics))
    assert Predictor.from_model_dir(classifier_dir, int8=True, threads=1).task == "classify"


def test_unknown_or_missing_backend_is_one_line(classifier_dir):
    with pytest.raises(ConfigError, match="expected one of onnxruntime-cpu"):
        Predictor.from_model_dir(classifier_dir, backend="torch-cpu")
    import onnxruntime as ort

    if "TensorrtExecutionProvider" not in ort.get_available_providers():
        with pytest.raises(BackendUnavailable, match=r"tensorrt'? is not available"):
            Predictor.from_model_dir(classifier_dir, backend="tensorrt")


def test_bad_batch_is_refused(classifier_dir):
    with pytest.raises(ConfigError, match="--batch: expected a positive integer, got 0"):
        Predictor.from_model_dir(classifier_dir, batch=0)


def test_a_data_set_folder_gives_its_images_not_its_masks(segmenter_dir, segment_images):
    predictor = Predictor.from_model_dir(segmenter_dir, threads=1)
    rows = list(predictor.predict([segment_images]))
    sources = sorted(p for p in (segment_images / "Source Images").iterdir())
    assert [r.path for r in rows] == [str(p) for p in sources]


def test_magnetic_tile_class_folder_gives_jpgs_not_mask_pngs(segmenter_dir):
    root = Path("/work/shared/data/magnetic-tile")
    if not (root / "MT_Crack").is_dir():
        pytest.skip("the magnetic tile data set is not in /work/shared/data")
    predictor = Predictor.from_model_dir(segmenter_dir, threads=1)
    paths = expand_paths([root / "MT_Crack"])
    assert paths and all(p.suffix == ".jpg" for p, _ in paths)
    row = next(iter(predictor.predict([paths[0][0]])))
    assert row.mask.shape == (row.height, row.width)
