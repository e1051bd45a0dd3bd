"""Fixtures for the search tests: one torch thread, a tiny data set."""

from __future__ import annotations

import pytest
import torch
from search_builders import tiny_dataset

from gensynth.data.dataset import DefectDataset


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def tiny_data() -> DefectDataset:
    return tiny_dataset()
