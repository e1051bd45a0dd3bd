"""Shared test fixtures and the service rule: skip by hand, fail in CI."""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("GENSYNTH_CI", "") not in ("", "0")


def require(condition: bool, reason: str) -> None:
    """Skip when a service or device is missing; in CI (GENSYNTH_CI=1) that is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


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


@pytest.fixture(autouse=True)
def _quiet_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENSYNTH_DEBUG", "")
