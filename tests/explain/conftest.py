"""Fixtures of the explain tests: one thread, a toy data folder and a tiny trained model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from explain_helpers import tiny_spec, write_seg_folder

from gensynth.data import load_dataset
from gensynth.training import TrainConfig, train_to_dir


@pytest.fixture(scope="session", autouse=True)
def user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """Toy folders are decoded into a private cache; yields the user's GENSYNTH_CACHE."""
    original = os.environ.get("GENSYNTH_CACHE")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENSYNTH_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield original


@pytest.fixture(autouse=True)
def _one_thread():
    """One torch thread: on a shared 2-core machine, two threads spin against each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def toy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generic-seg folder of 3 toy classes with masks; one class name needs escaping."""
    return write_seg_folder(tmp_path_factory.mktemp("data") / "toy")


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, toy_root: Path) -> Path:
    """A tiny residual classifier trained for a few epochs on ``toy_root`` (32 px)."""
    torch.set_num_threads(1)
    data = load_dataset(toy_root, task="classify", input_size=32)
    out = tmp_path_factory.mktemp("models") / "tiny"
    config = TrainConfig.for_task("classify", epochs=6, batch_size=8, threads=1)
    train_to_dir(tiny_spec(), data, config, out, data_source=str(toy_root))
    return out
