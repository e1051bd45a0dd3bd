"""The on-disk latency cache: keyed by spec, backend, batch, threads and machine."""

from __future__ import annotations

import pytest

from gensynth import provenance
from gensynth.backends import (
    LatencyCache,
    LatencyResult,
    LoadReport,
    RuntimeOptions,
    RuntimeSettings,
    cache_dir,
)


def _result(
    batch: int = 1,
    threads: int = 2,
    backend: str = "onnxruntime-cpu",
    median_ms: float = 1.5,
    **fields: object,
) -> LatencyResult:
    return LatencyResult(
        backend=backend,
        batch=batch,
        threads=threads,
        median_ms=median_ms,
        p90_ms=1.8,
        mean_ms=1.6,
        min_ms=1.2,
        cv=0.1,
        repeats=20,
        warmup=3,
        parity_max_abs_diff=1e-8,
        seconds_total=0.9,
        block_medians_ms=(1.4, 1.5, 1.6),
        settings=RuntimeSettings(threads, True, "all", "CPUExecutionProvider"),
        **fields,  # type: ignore[arg-type]
    )


def _loaded(median_ms: float) -> LatencyResult:
    load = LoadReport((2.0, 2.0, 2.0), (2.0, 2.0, 2.0), 0.5, 2, ("others used 50%",))
    return _result(median_ms=median_ms, load=load)


def test_cache_folder_follows_the_environment(_isolated_cache):
    assert cache_dir() == _isolated_cache
    assert LatencyCache().path.parent == _isolated_cache


def test_round_trip_and_counts(tmp_path):
    cache = LatencyCache(tmp_path / "c.sqlite")
    assert cache.get("abc", "onnxruntime-cpu", 1, 2) is None
    cache.put("abc", _result())
    assert cache.get("abc", "onnxruntime-cpu", 1, 2) == _result()
    assert (cache.hits, cache.misses) == (1, 1)
    assert cache.get("abc", "onnxruntime-cpu", 1, 2).settings.provider == "CPUExecutionProvider"
    # Another process (a new cache object on the same file) sees it too.
    assert LatencyCache(tmp_path / "c.sqlite").get("abc", "onnxruntime-cpu", 1, 2) == _result()


@pytest.mark.parametrize(
    "key",
    [
        ("xyz", "onnxruntime-cpu", 1, 2),
        ("abc", "torch-cpu", 1, 2),
        ("abc", "onnxruntime-cpu", 64, 2),
        ("abc", "onnxruntime-cpu", 1, 1),
    ],
)
def test_every_part_of_the_key_matters(tmp_path, key):
    cache = LatencyCache(tmp_path / "c.sqlite")
    cache.put("abc", _result())
    assert cache.get(*key) is None


def test_runtime_options_are_part_of_the_key(tmp_path):
    cache = LatencyCache(tmp_path / "c.sqlite")
    cache.put("abc", _result(), RuntimeOptions(spinning=False))
    assert cache.get("abc", "onnxruntime-cpu", 1, 2) is None
    assert cache.get("abc", "onnxruntime-cpu", 1, 2, RuntimeOptions(spinning=True)) is None
    assert cache.get("abc", "onnxruntime-cpu", 1, 2, RuntimeOptions(spinning=False)) == _result()


def test_a_figure_measured_under_load_never_replaces_a_quiet_one(tmp_path):
    cache = LatencyCache(tmp_path / "c.sqlite")
    cache.put("abc", _result(median_ms=1.5))
    cache.put("abc", _loaded(9.0))
    assert cache.get("abc", "onnxruntime-cpu", 1, 2).median_ms == 1.5
    cache.put("new", _loaded(9.0))  # nothing better known: kept, and says it was loaded
    assert cache.get("new", "onnxruntime-cpu", 1, 2).loaded
    cache.put("new", _result(median_ms=1.5))  # a quiet figure replaces it
    assert not cache.get("new", "onnxruntime-cpu", 1, 2).loaded


def test_another_machine_does_not_see_our_timings(tmp_path, monkeypatch):
    cache = LatencyCache(tmp_path / "c.sqlite")
    cache.put("abc", _result())
    monkeypatch.setattr(provenance, "machine_id", lambda: "Some Other CPU|64")
    assert cache.get("abc", "onnxruntime-cpu", 1, 2) is None


def test_a_newer_measurement_replaces_the_old(tmp_path):
    cache = LatencyCache(tmp_path / "c.sqlite")
    cache.put("abc", _result())
    newer = _result(median_ms=9.0)
    cache.put("abc", newer)
    assert cache.get("abc", "onnxruntime-cpu", 1, 2).median_ms == 9.0


def test_a_corrupt_cache_file_is_one_clear_error(tmp_path):
    from gensynth.errors import ConfigError

    path = tmp_path / "c.sqlite"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(ConfigError, match="cannot be opened") as info:
        LatencyCache(path).get("abc", "onnxruntime-cpu", 1, 2)
    assert "GENSYNTH_CACHE" in str(info.value.hint)
