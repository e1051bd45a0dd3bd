"""Every supported layout, written by the test, loads with the right counts, labels and split."""

from __future__ import annotations

from pathlib import Path

import data_builders as build
import numpy as np
import pytest

from gensynth.data import FORMATS, NEU_CLASSES, check_dataset, detect_format, load_dataset
from gensynth.errors import ConfigError, DataError


def _split_sizes(data) -> dict[str, int]:
    return {s: len(data.indices(s)) for s in ("train", "val", "test")}


def test_registry_lists_the_layouts():
    assert FORMATS.names() == [
        "generic-cls",
        "generic-seg",
        "magnetic-tile",
        "neu-cls",
        "neu-det",
        "neu-seg",
    ]


def test_neu_cls(tmp_path: Path):
    build.neu_cls(tmp_path, per_class=10)
    data = load_dataset(tmp_path, input_size=100)
    assert data.format == "neu-cls" and data.class_names == NEU_CLASSES
    assert data.images.shape == (60, 100, 100) and data.images.dtype == np.uint8
    assert data.masks is None  # real NEU-CLS has no masks
    assert data.paths[:2] == ("Cr_1.bmp", "Cr_2.bmp") and data.paths[9] == "Cr_10.bmp"
    assert data.labels[data.paths.index("PS_3.bmp")] == NEU_CLASSES.index("pitted_surface")
    assert _split_sizes(data) == {"train": 36, "val": 12, "test": 12}
    assert all(c == {"train": 6, "val": 2, "test": 2} for c in data.counts().values())


def test_neu_det_rgb_416_with_voc_boxes(tmp_path: Path):
    build.neu_det(tmp_path, per_class=5, size=416)
    assert detect_format(tmp_path) == "neu-det"
    data = load_dataset(tmp_path, input_size=200)
    assert data.class_names == NEU_CLASSES
    assert data.images.shape == (30, 200, 200)
    i = data.paths.index("IMAGES/rolled-in_scale_3.jpg")
    assert data.class_names[data.labels[i]] == "rolled-in_scale"
    j = data.paths.index("IMAGES/pitted_surface_5.jpg")
    assert data.class_names[data.labels[j]] == "pitted_surface"
    # The box (1,1)-(208,104) of a 416² image fills the top-left 100×50 of a 200² mask.
    assert data.masks is not None and data.masks[i].sum() == 100 * 50
    assert data.masks[i][:50, :100].all() and not data.masks[i][50:, :].any()
    assert check_dataset(tmp_path).image_sizes == {"416x416": 30}


def test_neu_det_train_validation_variant(tmp_path: Path):
    build.neu_det_variant(tmp_path, {"train": 4, "validation": 1})
    data = load_dataset(tmp_path, input_size=64)
    assert data.format == "neu-det" and data.class_names == NEU_CLASSES
    assert len(data) == 30 and np.bincount(data.labels).tolist() == [5] * 6
    assert any(p.startswith("validation/images/crazing/") for p in data.paths)
    assert all(c == {"train": 3, "val": 1, "test": 1} for c in data.counts().values())


def test_neu_seg_sd_saliency(tmp_path: Path):
    build.neu_seg(tmp_path, per_class=5)
    for task in ("segment", "classify"):
        data = load_dataset(tmp_path, task=task, input_size=100)
        assert data.format == "neu-seg" and data.task == task
        assert data.class_names == ("inclusion", "patches", "scratches")
        assert data.masks is not None and data.masks.shape == (15, 100, 100)
        assert data.masks[0].sum() == 25 * 20  # 50×40 at 200 px, halved
        assert _split_sizes(data) == {"train": 9, "val": 3, "test": 3}


def test_generic_cls_mixed_extensions_and_sizes(tmp_path: Path):
    build.generic_cls(tmp_path, {"ok": 5, "scratch": 8})
    data = load_dataset(tmp_path, input_size=32)
    assert data.format == "generic-cls" and data.class_names == ("ok", "scratch")
    assert data.images.shape == (13, 32, 32) and np.bincount(data.labels).tolist() == [5, 8]
    assert {Path(p).suffix for p in data.paths} == {".png", ".jpg", ".bmp", ".tif"}
    assert len(check_dataset(tmp_path).image_sizes) > 1


def test_generic_seg_non_zero_is_defect(tmp_path: Path):
    build.generic_seg(tmp_path, [f"crack_{i}" for i in range(5)], size=96)
    data = load_dataset(tmp_path, task="segment", input_size=48)
    assert data.format == "generic-seg" and data.class_names == ("crack",)
    assert data.masks is not None and data.masks[0].sum() == 12 * 48


def test_forced_format_must_match(tmp_path: Path):
    build.neu_cls(tmp_path, per_class=3)
    assert load_dataset(tmp_path, format="neu-cls", input_size=32).format == "neu-cls"
    with pytest.raises(DataError, match="not in the neu-seg layout"):
        load_dataset(tmp_path, format="neu-seg")
    with pytest.raises(ConfigError, match="did you mean 'neu-det'"):
        load_dataset(tmp_path, format="neu-dett")


def test_segment_needs_pixel_masks(tmp_path: Path):
    build.neu_cls(tmp_path / "cls", per_class=3)
    with pytest.raises(DataError, match=r"needs pixel masks.*no masks"):
        load_dataset(tmp_path / "cls", task="segment")
    build.neu_det(tmp_path / "det", per_class=3, size=64)
    with pytest.raises(DataError, match="only bounding boxes"):
        load_dataset(tmp_path / "det", task="segment")
    assert not check_dataset(tmp_path / "det", task="segment").ok


def test_split_is_seeded_and_fingerprint_tracks_it(tmp_path: Path):
    build.neu_cls(tmp_path, per_class=10)
    a = load_dataset(tmp_path, input_size=32, seed=0)
    b = load_dataset(tmp_path, input_size=32, seed=0)
    c = load_dataset(tmp_path, input_size=32, seed=1)
    d = load_dataset(tmp_path, input_size=48, seed=0)
    assert np.array_equal(a.split, b.split) and a.fingerprint == b.fingerprint
    assert not np.array_equal(a.split, c.split) and a.fingerprint != c.fingerprint
    assert np.array_equal(a.split, d.split) and a.fingerprint != d.fingerprint


def test_progress_is_called_once_per_file(tmp_path: Path):
    build.neu_cls(tmp_path, per_class=3)
    calls: list[tuple[int, int]] = []
    load_dataset(tmp_path, input_size=32, progress=lambda done, total: calls.append((done, total)))
    assert len(calls) == 18 and calls[-1] == (18, 18)
