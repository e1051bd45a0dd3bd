"""What data check passes, loading accepts: one class is refused alike, one input-size minimum."""

from __future__ import annotations

from pathlib import Path

import data_builders as build
import pytest

from gensynth.constraints.quantities import MIN_INPUT_SIZE
from gensynth.data import check_dataset, load_dataset, synthesize
from gensynth.errors import ConfigError, DataError


def test_one_class_is_a_problem_for_check_and_an_error_for_loading(tmp_path: Path):
    build.neu_cls(tmp_path, per_class=4, prefixes=("Cr",))
    report = check_dataset(tmp_path, input_size=32)
    assert not report.ok
    assert [p.reason for p in report.problems] == [
        "1 class ('crazing'), expected at least 2 to classify"
    ]
    with pytest.raises(DataError, match=r"1 class .* expected at least 2 to classify"):
        load_dataset(tmp_path, input_size=32)


def test_one_class_is_fine_for_segmentation_layouts(tmp_path: Path):
    build.generic_seg(tmp_path, ["a", "b", "c", "d"], size=32)
    assert check_dataset(tmp_path, input_size=32).ok
    assert len(load_dataset(tmp_path, task="segment", input_size=32)) == 4
    for_classify = check_dataset(tmp_path, task="classify", input_size=32)
    assert "expected at least 2 to classify" in for_classify.problems[0].reason
    with pytest.raises(DataError, match="expected at least 2 to classify"):
        load_dataset(tmp_path, task="classify", input_size=32)


def test_a_lone_class_folder_is_named_as_one_class_not_an_unknown_layout(tmp_path: Path):
    build.generic_cls(tmp_path, {"scratch": 3})
    for run in (check_dataset, load_dataset):
        with pytest.raises(DataError, match=r"holds one class folder \(.scratch.\)"):
            run(tmp_path, input_size=32)


def test_a_wrapper_around_a_data_set_keeps_its_hint(tmp_path: Path):
    build.neu_cls(tmp_path / "inner", per_class=3)
    with pytest.raises(DataError, match="matches no known layout") as caught:
        load_dataset(tmp_path, input_size=32)
    assert "did you mean" in (caught.value.hint or "")


@pytest.mark.parametrize("size", [3, MIN_INPUT_SIZE - 1, 5000])
def test_one_input_size_range_for_loading_checking_and_synthesis(tmp_path: Path, size: int):
    build.neu_cls(tmp_path / "d", per_class=3)
    for call in (
        lambda: load_dataset(tmp_path / "d", input_size=size),
        lambda: check_dataset(tmp_path / "d", input_size=size),
        lambda: synthesize(tmp_path / "s", per_class=1, size=size),
    ):
        with pytest.raises(ConfigError, match=f"from {MIN_INPUT_SIZE} to"):
            call()
