"""Fixtures for the engine tests: one torch thread and a small data folder."""

from __future__ import annotations

import pytest
import torch
from studies_builders import write_class_folder


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def data_dir(tmp_path):
    return write_class_folder(tmp_path / "data")
