"""Fixtures of the training tests; the toys themselves live in train_toys."""

from __future__ import annotations

import pytest
import torch
from train_toys import toy_dataset

from gensynth.data.dataset import DefectDataset


@pytest.fixture
def classify_data() -> DefectDataset:
    return toy_dataset("classify")


@pytest.fixture
def segment_data() -> DefectDataset:
    return toy_dataset("segment")


@pytest.fixture(autouse=True)
def _seeded() -> None:
    torch.manual_seed(0)
