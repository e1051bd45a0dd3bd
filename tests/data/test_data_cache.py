"""Decode once: the second load reads the cache; changed files invalidate it."""

from __future__ import annotations

import os
from pathlib import Path

import data_builders as build
import numpy as np
import pytest

from gensynth.data import _decode, _load, load_dataset


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every image the loaders decode."""
    seen: list[str] = []
    real = _decode.decode_image

    def counting(path, rel, size):
        seen.append(rel)
        return real(path, rel, size)

    monkeypatch.setattr(_decode, "decode_image", counting)
    return seen


def test_second_load_does_not_decode(tmp_path: Path, decodes: list[str], cache_dir: Path):
    build.neu_cls(tmp_path, per_class=4)
    first = load_dataset(tmp_path, input_size=64)
    assert len(decodes) == 24
    second = load_dataset(tmp_path, input_size=64)
    assert len(decodes) == 24  # nothing decoded again
    assert np.array_equal(first.images, second.images)
    assert first.fingerprint == second.fingerprint
    assert len(list((cache_dir / "data").glob("neu-cls-64-*.npz"))) == 1


def test_other_input_size_is_another_entry(tmp_path: Path, decodes: list[str]):
    build.neu_cls(tmp_path, per_class=3)
    load_dataset(tmp_path, input_size=64)
    load_dataset(tmp_path, input_size=32)
    assert len(decodes) == 36


def test_changed_added_or_removed_files_invalidate(tmp_path: Path, decodes: list[str]):
    build.neu_cls(tmp_path, per_class=4)
    old = load_dataset(tmp_path, input_size=64)

    build.save(tmp_path / "Cr_1.bmp", build.gray(999))
    stat = (tmp_path / "Cr_1.bmp").stat()
    os.utime(tmp_path / "Cr_1.bmp", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    changed = load_dataset(tmp_path, input_size=64)
    assert len(decodes) == 48
    assert not np.array_equal(changed.images[0], old.images[0])

    build.save(tmp_path / "Cr_5.bmp", build.gray(5))
    assert len(load_dataset(tmp_path, input_size=64)) == 25
    (tmp_path / "Sc_4.bmp").unlink()
    assert "Sc_4.bmp" not in load_dataset(tmp_path, input_size=64).paths


def test_bad_files_are_remembered_by_the_cache(tmp_path: Path, decodes: list[str]):
    build.neu_cls(tmp_path, per_class=4)
    build.truncate(tmp_path / "RS_2.bmp")
    assert load_dataset(tmp_path, skip_bad=True, input_size=32).skipped == ("RS_2.bmp",)
    count = len(decodes)
    again = load_dataset(tmp_path, skip_bad=True, input_size=32)
    assert again.skipped == ("RS_2.bmp",) and len(decodes) == count


def test_corrupt_cache_entry_is_a_miss(tmp_path: Path, decodes: list[str], cache_dir: Path):
    build.neu_cls(tmp_path, per_class=3)
    load_dataset(tmp_path, input_size=32)
    for entry in (cache_dir / "data").glob("*.npz"):
        entry.write_bytes(b"garbage")
    assert len(load_dataset(tmp_path, input_size=32)) == 18
    assert len(decodes) == 36


def test_cache_dir_argument_wins(tmp_path: Path, cache_dir: Path):
    build.neu_cls(tmp_path / "d", per_class=3)
    load_dataset(tmp_path / "d", input_size=32, cache_dir=tmp_path / "mine")
    assert list((tmp_path / "mine" / "data").glob("*.npz"))
    assert not (cache_dir / "data").exists()


def test_synthetic_set_is_generated_once(monkeypatch: pytest.MonkeyPatch, small_synthetic: int):
    from gensynth.data import _synth

    calls = []
    real = _synth.generate_set
    monkeypatch.setattr(_synth, "generate_set", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = load_dataset("synthetic", input_size=32, seed=4)
    second = load_dataset("synthetic", input_size=32, seed=4)
    assert len(calls) == 1 and np.array_equal(first.images, second.images)
    assert first.images.shape == (6 * small_synthetic, 32, 32)
    assert first.masks is not None and first.masks.any()
    load_dataset("synthetic", input_size=32, seed=5)
    assert len(calls) == 2
    assert small_synthetic == _load.SYNTH_PER_CLASS
