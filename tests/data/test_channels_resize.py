"""Colour kept with --channels 3, the aspect ratio kept with --resize pad|crop, masks through
the same geometry, and the cache and fingerprint telling them apart."""

from __future__ import annotations

from pathlib import Path

import data_builders as build
import numpy as np
import pytest
from PIL import Image

from gensynth.data import _decode, load_dataset
from gensynth.data.preprocess import (
    Preprocessing,
    geometry_of,
    normalize,
    prepare_image,
    prepare_mask,
    restore_mask,
)
from gensynth.errors import ConfigError

COLOURS = {"red": (255, 0, 0), "blue": (0, 0, 255)}


def _colour_folder(root: Path, per_class: int = 3, size: tuple[int, int] = (48, 40)) -> Path:
    """generic-cls: one folder per colour, each image a flat colour (width, height)."""
    for name, rgb in COLOURS.items():
        for i in range(per_class):
            pixels = np.zeros((size[1], size[0], 3), np.uint8) + np.asarray(rgb, np.uint8)
            pixels[0, 0] = i  # files differ
            build.save(root / name / f"{name}{i}.png", pixels)
    return root


def _ramp(width: int = 64, height: int = 32) -> np.ndarray:
    """Dark left quarter; the rest a vertical ramp 8·y, so rows and columns can be told."""
    image = np.tile((np.arange(height, dtype=np.uint8) * 8)[:, None], (1, width))
    image[:, : width // 4] = 0
    return image


def test_rgb_folder_loads_as_n_3_s_s_with_its_colours(tmp_path: Path):
    data = load_dataset(_colour_folder(tmp_path), input_size=32, channels=3)
    assert data.images.shape == (6, 3, 32, 32) and data.channels == 3
    for name, rgb in COLOURS.items():
        of_class = data.images[data.labels == data.class_names.index(name)]
        assert all(tuple(image[:, 16, 16]) == rgb for image in of_class)
    grey = load_dataset(tmp_path, input_size=32)
    assert grey.images.shape == (6, 32, 32) and grey.channels == 1
    assert grey.fingerprint != data.fingerprint


def test_grey_stretch_is_the_old_decoding(tmp_path: Path):
    """The default goes through prepare_image and gives what decode gave before it."""
    path = build.save(tmp_path / "a.png", build.rgb(3, 50))
    array, original = _decode.decode_image(path, "a.png", 32)
    with Image.open(path) as image:
        old = image.convert("L").resize((32, 32), Image.Resampling.BILINEAR)
    assert original == (50, 50) and np.array_equal(array, np.asarray(old))


def test_pad_keeps_the_aspect_ratio_and_repeats_the_edge_rows():
    prep = Preprocessing(input_size=32, resize="pad")
    out = prepare_image(Image.fromarray(_ramp()), prep)
    assert geometry_of(64, 32, prep).offset == (0, 8)
    assert np.all(out[:8] == out[8]) and np.all(out[24:] == out[23])  # edge rows repeated
    assert out[23, 20] > out[8, 20] + 100  # the ramp is squeezed into the 16 middle rows
    assert out[16, 2] == 0 and out[16, 12] > 0  # dark quarter: 8 of 32 columns
    stretched = prepare_image(Image.fromarray(_ramp()), Preprocessing(input_size=32))
    assert stretched[0, 20] != stretched[7, 20]  # stretch has no constant band


def test_crop_keeps_the_centre_square_untouched():
    out = prepare_image(Image.fromarray(_ramp()), Preprocessing(input_size=32, resize="crop"))
    assert np.array_equal(out, _ramp()[:, 16:48])  # no dark quarter, ramp unscaled


@pytest.mark.parametrize("resize", ["pad", "crop", "stretch"])
def test_a_two_pixel_defect_survives_the_resize(resize: str):
    mask = np.zeros((300, 900), np.uint8)  # a wide image shrunk 10-28x
    mask[150, 450:452] = 1
    out, cut = prepare_mask(mask, Preprocessing(input_size=32, resize=resize))
    assert out.shape == (32, 32) and out.sum() >= 1 and not cut


def test_crop_reports_a_defect_it_cuts_away():
    mask = np.zeros((100, 300), np.uint8)
    mask[50, 5:8] = 1  # far left: outside the centre square
    out, cut = prepare_mask(mask, Preprocessing(input_size=32, resize="crop"))
    assert cut and out.sum() == 0


def test_segmentation_masks_follow_the_image_geometry(tmp_path: Path):
    """magnetic-tile, 120x90 images; the mask marks the left half of the top third."""
    build.magnetic_tile(tmp_path, {"Blowhole": 3, "Crack": 3, "Free": 3})
    for resize in ("pad", "crop"):
        data = load_dataset(tmp_path, task="segment", input_size=60, resize=resize)
        mask = data.masks[0][::2, ::2]  # 60 px, read at 30 (the defect edges fall on even px)
        geometry = geometry_of(120, 90, Preprocessing(input_size=30, resize=resize))
        (left, top), (nw, nh) = geometry.offset, geometry.resized
        if resize == "pad":
            assert (left, top, nw, nh) == (0, 4, 30, 22)
            assert mask[top + 1, 2] == 1 and mask[top + nh - 2, 2] == 0
            assert mask[top + 1, 28] == 0  # right half: no defect
        else:  # centre 90x90 of 120x90: columns 15..105; the defect is columns 0..60
            assert mask[1, 2] == 1 and mask[1, 20] == 0 and mask[29, 2] == 0
        assert data.resize == resize


def test_native_resolution_mask_comes_back_aligned():
    prep = Preprocessing(input_size=40, resize="pad")
    native = np.zeros((60, 120), np.uint8)
    native[10:30, 20:60] = 1
    small, _ = prepare_mask(native, prep)
    back = restore_mask(small, (120, 60), prep)
    assert back.shape == (60, 120)
    assert (back == native).mean() > 0.97  # only the rims of the box may move a pixel


def test_the_cache_keeps_channels_and_resize_apart(tmp_path: Path, cache_dir: Path):
    build.neu_cls(tmp_path, per_class=3)
    keys = set()
    for channels, resize in ((1, "stretch"), (3, "stretch"), (1, "pad"), (3, "crop")):
        load_dataset(tmp_path, input_size=32, channels=channels, resize=resize)
        keys = {p.name for p in (cache_dir / "data").glob("*.npz")}
    assert len(keys) == 4
    assert any("-rgb-crop-" in k for k in keys) and any("-pad-" in k for k in keys)
    again = load_dataset(tmp_path, input_size=32, channels=3)
    assert again.images.shape == (18, 3, 32, 32)


def test_synthetic_rgb_repeats_the_grey_plane(small_synthetic: int):
    grey = load_dataset("synthetic", input_size=32)
    rgb = load_dataset("synthetic", input_size=32, channels=3)
    assert rgb.images.shape == (len(grey), 3, 32, 32)
    assert all(np.array_equal(rgb.images[:, c], grey.images) for c in range(3))
    assert rgb.fingerprint != grey.fingerprint
    assert rgb.preprocessing.to_dict()["channels"] == 3


@pytest.mark.parametrize(
    ("options", "message"),
    [({"channels": 2}, r"channels: expected 1 \(grey\) or 3"), ({"resize": "zoom"}, "resize:")],
)
def test_bad_channels_or_resize_is_one_line(tmp_path: Path, options: dict, message: str):
    with pytest.raises(ConfigError, match=message) as info:
        load_dataset("synthetic", input_size=32, **options)
    assert "\n" not in str(info.value)


def test_normalize_is_the_training_input():
    from gensynth.training import to_input

    pixels = np.arange(256, dtype=np.uint8).reshape(4, 8, 8)
    import torch

    expected = to_input(torch.from_numpy(pixels[:, None])).numpy()
    assert np.array_equal(normalize(pixels), expected)


def test_preprocessing_round_trips_and_reads_old_records():
    prep = Preprocessing(channels=3, input_size=64, resize="pad")
    assert Preprocessing.from_dict(prep.to_dict()) == prep
    old = Preprocessing.from_dict("grayscale uint8 -> resize ...", input_size=96)
    assert old == Preprocessing(channels=1, input_size=96, resize="stretch")


def test_data_check_tells_colour_from_grey_rgb_files(tmp_path: Path):
    from typer.testing import CliRunner

    from gensynth.cli.main import app

    colour = CliRunner().invoke(app, ["data", "check", str(_colour_folder(tmp_path / "c"))])
    assert colour.exit_code == 0, colour.output
    assert "colour: 6 of 6 sampled images" in colour.output and "--channels 3" in colour.output
    grey_rgb = tmp_path / "g"
    for name in ("a", "b"):
        for i in range(3):
            plane = build.gray(i + (10 if name == "b" else 0), 40)
            build.save(grey_rgb / name / f"{i}.png", np.stack([plane] * 3, axis=-1))
    grey = CliRunner().invoke(app, ["data", "check", str(grey_rgb), "--channels", "3"])
    assert grey.exit_code == 0, grey.output
    assert "colour: 0 of 6 sampled images (grey content" in grey.output
