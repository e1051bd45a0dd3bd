"""Fixtures for the backend tests: an isolated latency cache, fast timing for the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from backend_helpers import FAST


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own latency cache, never the user's ~/.cache."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("GENSYNTH_CACHE", str(folder))
    return folder


@pytest.fixture()
def fast_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every measurement the CLI starts use the FAST settings."""
    from gensynth.backends import _bench, _measure

    real = _measure.compare_latency

    def fast(*args: object, **kwargs: object) -> object:
        return real(*args, **{**kwargs, **FAST})

    monkeypatch.setattr(_bench, "compare_latency", fast)
