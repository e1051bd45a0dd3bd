"""Model folders: weights that know their spec, shared-readable files, outputs checked first."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from gensynth.errors import ConfigError, DataError
from gensynth.modeldir import (
    SPEC_FILE,
    WEIGHTS_FILE,
    check_explore_out,
    check_out_dir,
    load_model_dir,
    save_model_dir,
)
from gensynth.prototypes import ResidualSpec, StageSpec, StemSpec, load_spec

SPEC = ResidualSpec(
    in_channels=1, input_size=32, num_classes=3, stem=StemSpec(8, 3, 2, False),
    stages=(StageSpec(block="basic", width=8, depth=1, stride=2),),
)  # fmt: skip


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    return save_model_dir(tmp_path / "m", SPEC, SPEC.build(), {"seed": 0})


def test_weights_honour_the_umask_so_teammates_can_read_them(model_dir: Path):
    umask = os.umask(0)
    os.umask(umask)
    mode = stat.S_IMODE((model_dir / WEIGHTS_FILE).stat().st_mode)
    assert mode == 0o666 & ~umask
    assert mode == stat.S_IMODE((model_dir / SPEC_FILE).stat().st_mode)


def test_an_edited_spec_is_refused_with_what_changed(model_dir: Path):
    text = (model_dir / SPEC_FILE).read_text()
    assert "act: relu" in text
    (model_dir / SPEC_FILE).write_text(text.replace("act: relu", "act: silu"))
    with pytest.raises(DataError, match=r"yaml' was changed after weights\.safetensors") as e:
        load_model_dir(model_dir)
    assert load_spec(model_dir / SPEC_FILE).spec_hash in e.value.message
    assert SPEC.spec_hash in e.value.message
    assert "gensynth train --spec" in (e.value.hint or "")


def test_an_unedited_spec_loads(model_dir: Path):
    assert load_model_dir(model_dir).spec == SPEC


def test_a_file_given_as_a_model_folder(model_dir: Path):
    with pytest.raises(ConfigError, match="is a file, expected a folder"):
        load_model_dir(model_dir / SPEC_FILE)


def test_an_output_folder_that_is_a_file_or_not_empty(tmp_path: Path):
    (tmp_path / "f").write_text("mine")
    with pytest.raises(ConfigError, match="is a file"):
        check_out_dir(tmp_path / "f", overwrite=True)
    with pytest.raises(ConfigError, match="not empty"):
        check_out_dir(tmp_path, overwrite=False)
    assert check_out_dir(tmp_path, overwrite=True) == tmp_path
    assert not (tmp_path / "new").exists() and check_out_dir(tmp_path / "new", overwrite=False)


def test_explore_out_refuses_an_earlier_model_unless_overwrite(tmp_path: Path):
    best = tmp_path / "out" / "best"
    best.mkdir(parents=True)
    (best / WEIGHTS_FILE).write_bytes(b"the user's weights")
    with pytest.raises(ConfigError, match="already holds a model") as caught:
        check_explore_out(tmp_path / "out", overwrite=False)
    assert "--overwrite" in (caught.value.hint or "")
    assert check_explore_out(tmp_path / "out", overwrite=True)
    assert (best / WEIGHTS_FILE).read_bytes() == b"the user's weights"
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "leaderboard.csv").write_text("rank\n")
    with pytest.raises(ConfigError, match=r"leaderboard\.csv"):
        check_explore_out(tmp_path / "plain", overwrite=False)
