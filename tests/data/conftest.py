"""Data tests never touch the user's cache: every test gets its own, outside ``tmp_path``."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("GENSYNTH_CACHE", str(folder))
    return folder


@pytest.fixture
def small_synthetic(monkeypatch: pytest.MonkeyPatch) -> int:
    """Make the built-in synthetic set 6 per class at 64 px, so tests of it stay fast."""
    monkeypatch.setattr("gensynth.data._load.SYNTH_PER_CLASS", 6)
    monkeypatch.setattr("gensynth.data._load.SYNTH_SIZE", 64)
    return 6
