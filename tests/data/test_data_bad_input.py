"""Every bad input of the data layer gives one clear error (or a report entry) by path."""

from __future__ import annotations

from pathlib import Path

import data_builders as build
import numpy as np
import pytest

from gensynth.data import check_dataset, load_dataset
from gensynth.errors import ConfigError, DataError


def test_missing_path(tmp_path: Path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_dataset(tmp_path / "nope")


def test_a_file_is_not_a_folder(tmp_path: Path):
    path = build.save(tmp_path / "Cr_1.bmp", build.gray(0))
    with pytest.raises(ConfigError, match="is a file, expected a folder"):
        check_dataset(path)


def test_empty_folder(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    with pytest.raises(DataError, match="is empty"):
        load_dataset(tmp_path)


def test_unknown_layout_lists_the_layouts(tmp_path: Path):
    (tmp_path / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match="matches no known layout") as caught:
        check_dataset(tmp_path)
    for name in ("neu-cls", "neu-det", "neu-seg", "generic-cls", "generic-seg"):
        assert name in caught.value.message


def test_unknown_layout_points_at_a_nested_data_set(tmp_path: Path):
    build.neu_cls(tmp_path / "NEU-CLS" / "inner", per_class=3)
    with pytest.raises(DataError) as caught:
        load_dataset(tmp_path / "NEU-CLS")
    assert "did you mean" in (caught.value.hint or "") and "neu-cls" in caught.value.hint


@pytest.mark.parametrize("name", ["Cr_2.bmp", "In_3.bmp"])
def test_truncated_bmp_is_reported_refused_and_skipped(tmp_path: Path, name: str):
    build.neu_cls(tmp_path, per_class=5)
    build.truncate(tmp_path / name)
    report = check_dataset(tmp_path)
    assert [(p.path, p.reason) for p in report.problems] == [(name, "truncated image")]
    assert report.counts[report.class_names[0]]["total"] + report.total > 0
    with pytest.raises(DataError, match=f"1 bad file.*{name}: truncated image") as caught:
        load_dataset(tmp_path)
    assert "--skip-bad" in caught.value.hint
    data = load_dataset(tmp_path, skip_bad=True)
    assert data.skipped == (name,) and name not in data.paths and len(data) == 29


def test_truncated_and_corrupt_jpegs_in_neu_det(tmp_path: Path):
    build.neu_det(tmp_path, per_class=4, size=64)
    build.truncate(tmp_path / "IMAGES" / "patches_2.jpg", keep=0.6)
    (tmp_path / "IMAGES" / "scratches_1.jpg").write_bytes(b"not a jpeg at all")
    report = check_dataset(tmp_path)
    reasons = {p.path: p.reason for p in report.problems}
    assert reasons["IMAGES/patches_2.jpg"] == "truncated image"
    assert "not a readable image" in reasons["IMAGES/scratches_1.jpg"]
    with pytest.raises(DataError, match="2 bad file"):
        load_dataset(tmp_path)
    assert len(load_dataset(tmp_path, skip_bad=True)) == 22


def test_many_bad_files_are_summarised_on_one_line(tmp_path: Path):
    build.neu_cls(tmp_path, per_class=6)
    for i in range(1, 6):
        build.truncate(tmp_path / f"Sc_{i}.bmp")
    with pytest.raises(DataError) as caught:
        load_dataset(tmp_path)
    assert "5 bad file(s)" in caught.value.message and "and 2 more" in caught.value.message
    assert "\n" not in str(caught.value)


def test_wrong_size_mask(tmp_path: Path):
    build.neu_seg(tmp_path, per_class=4)
    build.save(tmp_path / "Ground truth" / "Pa_2.png", np.zeros((100, 120), np.uint8))
    report = check_dataset(tmp_path)
    assert [p.path for p in report.problems] == ["Ground truth/Pa_2.png"]
    assert "mask is 120x100, expected 200x200" in report.problems[0].reason
    with pytest.raises(DataError, match=r"Pa_2\.png"):
        load_dataset(tmp_path, task="segment")


def test_image_without_mask_and_unknown_prefix(tmp_path: Path):
    build.neu_seg(tmp_path, per_class=4)
    (tmp_path / "Ground truth" / "Sc_4.png").unlink()
    build.save(tmp_path / "Source Images" / "Xx_1.bmp", build.gray(1))
    reasons = {p.path: p.reason for p in check_dataset(tmp_path).problems}
    assert reasons["Source Images/Sc_4.bmp"] == "no mask Ground truth/Sc_4.png"
    assert reasons["Source Images/Xx_1.bmp"].startswith("unknown class prefix 'Xx'")
    data = load_dataset(tmp_path, task="segment", skip_bad=True)
    assert len(data) == 11 and set(data.skipped) == set(reasons)


def test_class_folder_with_zero_images(tmp_path: Path):
    build.generic_cls(tmp_path, {"good": 4, "bad": 4})
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"class 'empty' .* has zero usable images"):
        load_dataset(tmp_path)
    report = check_dataset(tmp_path)
    assert not report.ok and [p.path for p in report.problems] == ["empty/"]
    assert report.counts["empty"]["total"] == 0 and report.counts["good"]["total"] == 4


def test_class_whose_every_image_is_bad(tmp_path: Path):
    build.neu_cls(tmp_path, per_class=3, prefixes=("Cr", "Pa"))
    for i in (1, 2, 3):
        build.truncate(tmp_path / f"Pa_{i}.bmp")
    with pytest.raises(DataError, match=r"class 'patches' .* zero usable images"):
        load_dataset(tmp_path, skip_bad=True)


def test_class_too_small_to_split(tmp_path: Path):
    build.generic_cls(tmp_path, {"big": 5, "tiny": 2})
    with pytest.raises(DataError, match=r"'tiny'.*2 usable image.*at least 3"):
        load_dataset(tmp_path)
    assert "at least 3" in check_dataset(tmp_path).problems[0].reason


@pytest.mark.parametrize("size", [0, -5, 2.5, "200", True])
def test_input_size_must_be_a_positive_integer(tmp_path: Path, size):
    build.neu_cls(tmp_path, per_class=3)
    with pytest.raises(ConfigError, match="input size: expected"):
        load_dataset(tmp_path, input_size=size)


def test_unknown_task(tmp_path: Path):
    with pytest.raises(ConfigError, match="expected 'classify' or 'segment'"):
        load_dataset("synthetic", task="detect")  # type: ignore[arg-type]


def test_hidden_files_and_zip_leftovers_are_ignored(tmp_path: Path):
    build.neu_cls(tmp_path, per_class=3)
    (tmp_path / ".DS_Store").write_bytes(b"\0\1junk")
    build.save(tmp_path / "__MACOSX" / "._Cr_1.bmp", build.gray(3))
    (tmp_path / "._Cr_2.bmp").write_bytes(b"resource fork")
    report = check_dataset(tmp_path)
    assert report.ok and report.total == 18
