"""Fixtures for the study tests: one torch thread, a crafted study, a data folder."""

from __future__ import annotations

import os

import pytest
import torch
from studies_builders import crafted_study, require, write_class_folder


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


@pytest.fixture
def pg_url() -> str:
    """The CI PostgreSQL server (GENSYNTH_TEST_POSTGRES_URL); skipped by hand, failed in CI."""
    url = os.environ.get("GENSYNTH_TEST_POSTGRES_URL", "")
    require(bool(url), "GENSYNTH_TEST_POSTGRES_URL is not set")
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=5):
            pass
    except Exception as error:
        require(False, f"PostgreSQL at GENSYNTH_TEST_POSTGRES_URL is unreachable: {error}")
    return url
