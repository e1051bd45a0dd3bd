"""The synthetic NEU-like set: layouts, round trips, determinism, and the audit helpers."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gensynth.data import (
    NEU_CLASSES,
    check_dataset,
    clean_background,
    inject_defect,
    load_dataset,
    synthesize,
)
from gensynth.errors import ConfigError


def _digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_classify_round_trip(tmp_path: Path):
    report = synthesize(tmp_path / "cls", per_class=4, size=64, seed=3)
    assert report.total == 24 and report.counts == dict.fromkeys(NEU_CLASSES, 4)
    assert (tmp_path / "cls" / "Cr_1.bmp").is_file()
    assert (tmp_path / "cls" / "masks" / "Sc_4.png").is_file()
    with Image.open(tmp_path / "cls" / "PS_2.bmp") as image:
        assert image.mode == "L" and image.size == (64, 64)

    check = check_dataset(tmp_path / "cls", input_size=64)
    assert check.ok and check.format == "neu-cls" and check.masks == "pixel"
    assert check.image_sizes == {"64x64": 24}

    data = load_dataset(tmp_path / "cls", input_size=64)
    assert data.class_names == NEU_CLASSES
    assert data.images.shape == (24, 64, 64) and data.masks is not None
    assert set(np.unique(data.masks)) <= {0, 1} and data.masks.sum() > 0
    assert np.bincount(data.labels).tolist() == [4] * 6


def test_loaded_pixels_equal_the_generator(tmp_path: Path, small_synthetic: int):
    synthesize(tmp_path / "cls", per_class=small_synthetic, size=64, seed=5)
    from_folder = load_dataset(tmp_path / "cls", input_size=64, seed=5)
    built_in = load_dataset("synthetic", input_size=64, seed=5)
    assert np.array_equal(from_folder.images, built_in.images)
    assert np.array_equal(from_folder.masks, built_in.masks)
    assert built_in.format == "synthetic" and built_in.fingerprint != from_folder.fingerprint


def test_segment_round_trip(tmp_path: Path):
    synthesize(tmp_path / "seg", task="segment", per_class=4, size=64)
    assert sorted(p.name for p in (tmp_path / "seg").iterdir() if p.is_dir()) == [
        "Ground truth",
        "Source Images",
    ]
    with Image.open(tmp_path / "seg" / "Ground truth" / "In_1.png") as mask:
        assert set(np.unique(np.asarray(mask))) <= {0, 255}
    check = check_dataset(tmp_path / "seg", task="segment", input_size=64)
    assert check.ok and check.format == "neu-seg"
    data = load_dataset(tmp_path / "seg", task="segment", input_size=64)
    assert data.class_names == ("inclusion", "patches", "scratches")
    assert data.masks is not None and all(m.sum() > 0 for m in data.masks)


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path):
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        synthesize(tmp_path / name, per_class=2, size=48, seed=seed, preview=True)
    a, b, c = (_digest(tmp_path / n) for n in "abc")
    assert a == b
    images = [k for k in a if k.endswith(".bmp")]
    assert len(images) == 12 and all(a[k] != c[k] for k in images)


def test_preview_writes_one_sheet_per_class(tmp_path: Path):
    report = synthesize(tmp_path / "p", per_class=3, size=48, preview=True)
    assert [p.name for p in report.previews] == [f"preview_{c}.png" for c in NEU_CLASSES]
    with Image.open(report.previews[0]) as sheet:
        assert sheet.size[0] > 3 * 48  # three tiles side by side
    assert check_dataset(tmp_path / "p", input_size=48).ok  # previews do not confuse the loader


def test_classes_differ_in_their_masks():
    """Defect masks have the shape statistics of their class (scratches thin, patches big)."""
    rng = np.random.default_rng(0)
    cover = {}
    for name in ("scratches", "patches"):
        areas = [inject_defect(clean_background(rng, 200), name, rng)[1].mean() for _ in range(8)]
        cover[name] = float(np.mean(areas))
    assert cover["patches"] > 4 * cover["scratches"] > 0


def test_clean_background_and_inject_defect_are_seeded():
    bg1 = clean_background(np.random.default_rng(7), 96)
    bg2 = clean_background(np.random.default_rng(7), 96)
    assert bg1.dtype == np.uint8 and bg1.shape == (96, 96) and np.array_equal(bg1, bg2)
    assert bg1.std() > 2  # textured, not flat

    image, mask = inject_defect(bg1, "PS", np.random.default_rng(1))
    again, mask2 = inject_defect(bg1, "pitted_surface", np.random.default_rng(1))
    assert np.array_equal(image, again) and np.array_equal(mask, mask2)
    assert mask.dtype == np.uint8 and set(np.unique(mask)) == {0, 1}
    changed = image != bg1
    assert changed[mask == 1].mean() > changed[mask == 0].mean()
    assert np.array_equal(bg1, bg2)  # input left unchanged


def test_inject_defect_rejects_unknown_class():
    with pytest.raises(ConfigError, match="did you mean 'scratches'"):
        inject_defect(
            clean_background(np.random.default_rng(0), 64), "scratch", np.random.default_rng()
        )


@pytest.mark.parametrize("kwargs", [{"per_class": 0}, {"per_class": -3}, {"size": 0}, {"size": 8}])
def test_synthesize_rejects_bad_counts_and_sizes(tmp_path: Path, kwargs):
    with pytest.raises(ConfigError, match="expected"):
        synthesize(tmp_path / "x", **kwargs)
    assert not (tmp_path / "x").exists()


def test_synthesize_refuses_a_non_empty_folder_and_keeps_user_files(tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        synthesize(out, per_class=1, size=32)
    report = synthesize(out, per_class=1, size=32, overwrite=True)
    assert report.total == 6 and (out / "notes.txt").read_text() == "mine"


@pytest.mark.slow
def test_full_synthetic_set_is_the_neu_protocol(tmp_path: Path):
    data = load_dataset("synthetic", cache_dir=tmp_path)
    assert data.images.shape == (1800, 200, 200) and data.masks is not None
    counts = data.counts()
    assert all(c == {"train": 192, "val": 48, "test": 60} for c in counts.values())
    segment = load_dataset("synthetic", task="segment", input_size=100, cache_dir=tmp_path)
    assert segment.images.shape == (900, 100, 100)
