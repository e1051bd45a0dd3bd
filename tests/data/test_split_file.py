"""--split FILE: a fixed train/val/test split from a CSV, in the fingerprint; bad files refused
with one line each."""

from __future__ import annotations

from pathlib import Path

import data_builders as build
import numpy as np
import pytest

from gensynth.data import check_dataset, load_dataset
from gensynth.errors import ConfigError, DataError

CODES = {"train": 0, "val": 1, "test": 2}


def _folder(root: Path) -> list[str]:
    """generic-cls with classes a and b, 4 images each; their paths relative to root."""
    build.generic_cls(root, {"a": 4, "b": 4})
    return sorted(str(p.relative_to(root)) for p in root.rglob("img*"))


def _assign(paths: list[str]) -> dict[str, str]:
    """Per class: images 0, 1 train; 2 val; 3 test."""
    names = ("train", "train", "val", "test")
    return {path: names[int(Path(path).stem[3:])] for path in paths}


def _write(path: Path, rows: dict[str, str] | list[tuple[str, str]], header: bool = True) -> Path:
    items = rows.items() if isinstance(rows, dict) else rows
    lines = (["path,split"] if header else []) + [f"{p},{s}" for p, s in items]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_split_file_assigns_exactly_the_listed_files(tmp_path: Path):
    data_dir = tmp_path / "data"
    paths = _folder(data_dir)
    wanted = _assign(paths)
    csv = _write(tmp_path / "split.csv", wanted)
    data = load_dataset(data_dir, input_size=32, split=csv)
    got = {path: int(code) for path, code in zip(data.paths, data.split, strict=True)}
    assert got == {path: CODES[split] for path, split in wanted.items()}
    assert data.split_file is not None and data.split_file["path"] == str(csv)
    assert len(data.split_file["sha256"]) == 64


def test_the_split_file_is_in_the_fingerprint(tmp_path: Path):
    data_dir = tmp_path / "data"
    paths = _folder(data_dir)
    seeded = load_dataset(data_dir, input_size=32)
    fixed = load_dataset(data_dir, input_size=32, split=_write(tmp_path / "s.csv", _assign(paths)))
    assert fixed.fingerprint != seeded.fingerprint
    other = dict(_assign(paths), **{paths[0]: "val", paths[2]: "train"})
    moved = load_dataset(data_dir, input_size=32, split=_write(tmp_path / "t.csv", other))
    assert moved.fingerprint not in (fixed.fingerprint, seeded.fingerprint)
    again = load_dataset(data_dir, input_size=32, seed=7, split=tmp_path / "s.csv")
    assert again.fingerprint == fixed.fingerprint  # the seed does not move a fixed split


def test_windows_separators_and_no_header_are_fine(tmp_path: Path):
    data_dir = tmp_path / "data"
    paths = _folder(data_dir)
    rows = [(p.replace("/", "\\"), s) for p, s in _assign(paths).items()]
    data = load_dataset(data_dir, input_size=32, split=_write(tmp_path / "s.csv", rows, False))
    assert np.sum(data.split == 2) == 2


def _bad(tmp_path: Path, edit) -> str:
    data_dir = tmp_path / "data"
    paths = _folder(data_dir)
    rows = list(_assign(paths).items())
    csv = _write(tmp_path / "split.csv", edit(rows, paths))
    with pytest.raises(DataError) as info:
        load_dataset(data_dir, input_size=32, split=csv)
    text = str(info.value)
    assert "\n" not in text and "split.csv" in text
    return text


def test_a_split_file_that_is_not_there(tmp_path: Path):
    _folder(tmp_path / "data")
    with pytest.raises(DataError, match="does not exist") as info:
        load_dataset(tmp_path / "data", input_size=32, split=tmp_path / "nope.csv")
    assert "nope.csv" in str(info.value)


def test_an_empty_test_part(tmp_path: Path):
    text = _bad(tmp_path, lambda rows, _: [(p, "val" if s == "test" else s) for p, s in rows])
    assert "the test split is empty" in text


def test_a_path_listed_twice(tmp_path: Path):
    text = _bad(tmp_path, lambda rows, _: [*rows, (rows[0][0], "test")])
    assert "'a/img0.png' is listed twice (first on line 2)" in text


def test_a_path_not_in_the_data(tmp_path: Path):
    text = _bad(tmp_path, lambda rows, _: [*rows, ("a/ghost.png", "train")])
    assert "'a/ghost.png' is not an image of the data folder" in text


def test_an_unknown_split_name(tmp_path: Path):
    text = _bad(tmp_path, lambda rows, _: [(rows[0][0], "holdout"), *rows[1:]])
    assert "unknown split 'holdout', expected train, val or test" in text


def test_an_image_the_file_does_not_list(tmp_path: Path):
    text = _bad(tmp_path, lambda rows, _: rows[1:])
    assert "1 image(s) of the data folder are not listed" in text


def test_the_synthetic_set_refuses_a_split_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="synthetic set has its own seeded split"):
        load_dataset("synthetic", input_size=32, split=tmp_path / "s.csv")


def test_data_check_reports_split_problems_as_bad_lines(tmp_path: Path):
    data_dir = tmp_path / "data"
    paths = _folder(data_dir)
    good = check_dataset(data_dir, input_size=32, split=_write(tmp_path / "s.csv", _assign(paths)))
    assert good.ok and good.counts["a"] == {"total": 4, "train": 2, "val": 1, "test": 1}
    rows = [(p, "val" if s == "test" else s) for p, s in _assign(paths).items()]
    bad = check_dataset(data_dir, input_size=32, split=_write(tmp_path / "t.csv", rows))
    assert not bad.ok and any("test split is empty" in p.reason for p in bad.problems)


def test_train_with_a_missing_split_file_is_one_line_and_writes_nothing(tmp_path: Path):
    from typer.testing import CliRunner

    from gensynth.cli.main import app
    from gensynth.prototypes import dump_spec, reference_spec

    _folder(tmp_path / "data")
    spec = tmp_path / "plain.yaml"
    dump_spec(reference_spec("plain", in_channels=1, input_size=32, num_classes=2), spec)
    out = tmp_path / "m"
    result = CliRunner().invoke(app, [
        "train", "--spec", str(spec), "--data", str(tmp_path / "data"), "--split",
        str(tmp_path / "nope.csv"), "--out", str(out),
    ])  # fmt: skip
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "nope.csv' does not exist" in lines[0]
    assert not out.exists()
