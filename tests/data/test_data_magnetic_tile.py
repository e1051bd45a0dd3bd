"""The magnetic-tile layout: detection, class names, masks following their images, bad
masks by path, and the defect-free ``Free`` tiles as real negatives of the decision sweep."""

from __future__ import annotations

from pathlib import Path

import data_builders as build
import numpy as np
import pytest
import torch
from torch import nn

from gensynth.data import check_dataset, detect_format, load_dataset
from gensynth.data._formats import scan_folder
from gensynth.errors import DataError
from gensynth.training import evaluate

COUNTS = {"Blowhole": 5, "Crack": 5, "Free": 10}
REAL = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "magnetic-tile"


def test_detected_before_generic_folders_with_class_names_from_the_folder(tmp_path: Path):
    build.magnetic_tile(tmp_path, COUNTS)
    (tmp_path / "README.source.md").write_text("the data set's own readme")
    assert detect_format(tmp_path) == "magnetic-tile"
    data = load_dataset(tmp_path, input_size=32)
    assert data.class_names == ("Blowhole", "Crack", "Free")
    assert np.bincount(data.labels).tolist() == [5, 5, 10]
    assert not any(p.endswith(".png") for p in data.paths)  # masks are not images
    assert data.paths[0] == "MT_Blowhole/Imgs/exp0_num_0.jpg"


def test_images_of_any_size_are_resized_and_masks_follow(tmp_path: Path):
    build.magnetic_tile(tmp_path, COUNTS, sizes=((120, 90), (300, 200)))
    data = load_dataset(tmp_path, task="segment", input_size=60)
    assert data.images.shape == (20, 60, 60) and data.masks is not None
    i = data.paths.index("MT_Crack/Imgs/exp1_num_1.jpg")  # a 300x200 image
    # the left half of the top third, whatever the original size: 30 x 20 at 60 px
    assert data.masks[i][:20, :30].all() and data.masks[i].sum() == 30 * 20
    assert check_dataset(tmp_path).image_sizes == {"120x90": 11, "300x200": 9}


def test_a_hairline_defect_does_not_vanish_from_its_mask(tmp_path: Path):
    build.magnetic_tile(tmp_path, {"Crack": 3, "Free": 3}, sizes=((400, 400),))
    mask = np.zeros((400, 400), np.uint8)
    mask[101, :] = 255  # 1 px in 400: nearest sampling to 50 px would miss the row
    build.save(tmp_path / "MT_Crack" / "Imgs" / "exp0_num_0.png", mask)
    data = load_dataset(tmp_path, task="segment", input_size=50)
    assert data.masks is not None and data.masks[0].any()


def test_missing_unreadable_and_wrong_size_masks_are_named(tmp_path: Path):
    build.magnetic_tile(tmp_path, {"Blowhole": 5, "Crack": 6, "Free": 10})
    imgs = tmp_path / "MT_Crack" / "Imgs"
    (imgs / "exp1_num_0.png").unlink()
    (imgs / "exp1_num_1.png").write_bytes(b"not a png")
    build.save(imgs / "exp1_num_2.png", np.zeros((10, 10), np.uint8))
    reasons = {p.path: p.reason for p in check_dataset(tmp_path, task="segment").problems}
    assert reasons["MT_Crack/Imgs/exp1_num_0.jpg"] == "no mask MT_Crack/Imgs/exp1_num_0.png"
    assert "not a readable image" in reasons["MT_Crack/Imgs/exp1_num_1.png"]
    assert (
        reasons["MT_Crack/Imgs/exp1_num_2.png"] == "mask is 10x10, expected 120x90 like its image"
    )
    assert len(reasons) == 3
    with pytest.raises(DataError, match=r"3 bad file.*MT_Crack/Imgs/exp1_num_0\.jpg"):
        load_dataset(tmp_path, task="segment", input_size=32)
    assert len(load_dataset(tmp_path, task="segment", input_size=32, skip_bad=True)) == 18


class _DefectOracle(nn.Module):
    """Predicts the builders' defect region (left half of the top third) on every image."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.full_like(x[:, :1], -20.0)
        h, w = x.shape[-2:]
        out[..., : h // 3, : w // 2] = 20.0
        return out


def test_free_tiles_are_split_and_are_the_real_negatives(tmp_path: Path):
    build.magnetic_tile(tmp_path, {"Blowhole": 10, "Free": 15})
    data = load_dataset(tmp_path, task="segment", input_size=48)
    free = data.class_names.index("Free")
    assert data.masks is not None and not data.masks[data.labels == free].any()
    assert data.counts()["Free"] == {"train": 10, "val": 2, "test": 3}
    decision = evaluate(_DefectOracle(), data, task="segment", split="test")["decision"]
    assert (decision["positives"], decision["negatives"]) == (2, 3)
    assert decision["real_negatives_by_class"] == {"Free": 3}
    assert decision["constructed_negatives"] == 0 and "real" in decision["negatives_source"]
    # the oracle paints its region on the Free tiles too: every one is a false alarm
    assert all(p["false_alarm"] == 100.0 and p["recall"] == 100.0 for p in decision["points"])


def test_the_real_folder_scans_as_magnetic_tile():
    if not REAL.is_dir():
        pytest.skip(f"the shared real data is not here ({REAL.resolve()})")
    scan = scan_folder(REAL)
    counts = {name: sum(i.label == name for i in scan.items) for name in scan.class_names}
    assert scan.format == "magnetic-tile" and not scan.problems
    assert counts == {
        "Blowhole": 115, "Break": 85, "Crack": 57, "Fray": 32, "Free": 952, "Uneven": 103,
    }  # fmt: skip
    assert all(item.mask and item.mask[:-4] == item.image[:-4] for item in scan.items)
