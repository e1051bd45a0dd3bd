"""Fixtures for the study tests: one torch thread, a crafted study, a data folder.

``pg_url`` (the CI PostgreSQL server) is in ``tests/conftest.py``: the engine tests use it too.
"""

from __future__ import annotations

import pytest
import torch
from studies_builders import crafted_study, write_class_folder


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def crafted(tmp_path):
    """(storage URL, study) of a study made by hand: every trial state gensynth records."""
    url = f"sqlite:///{tmp_path}/crafted.db"
    return url, crafted_study(url)


@pytest.fixture
def data_dir(tmp_path):
    return write_class_folder(tmp_path / "data")
