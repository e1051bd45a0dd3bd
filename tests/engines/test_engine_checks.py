"""Engine settings that cannot work fail in one line, before any data is read."""

from __future__ import annotations

import sys
import time

import pytest
from typer.testing import CliRunner

from gensynth.cli.main import app
from gensynth.engines import engine_for, ray_address_check, worker_threads
from gensynth.errors import ConfigError, GensynthError
from gensynth.search.study_spec import ExploreOptions, resolve_options

runner = CliRunner()


def _error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.output
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error:")
    return lines[0]


def _spec(**options):
    return resolve_options(ExploreOptions(**options))


def test_several_sqlite_writers_are_refused_with_the_alternatives():
    with pytest.raises(ConfigError) as info:
        engine_for(_spec(workers=2, storage="sqlite:///runs/s.db"))
    assert "SQLite allows one writer" in info.value.message
    assert "journal:///runs/s.log" in info.value.hint
    assert "postgresql://" in info.value.hint


def test_the_engine_is_looked_up_by_name():
    assert engine_for(_spec()).name == "local"
    assert engine_for(_spec(workers=2, storage="journal:///s.log")).name == "workers"
    assert engine_for(_spec(engine="workers", workers=2, storage="journal:///s.log")).name == (
        "workers"
    )


def test_journal_and_databases_take_several_workers():
    engine_for(_spec(workers=2, storage="journal:///s.log"))
    engine_for(_spec(workers=4, storage="postgresql://u@db.example/gs"))
    engine_for(_spec(workers=1))  # one process on SQLite is fine


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["--workers", "0"], 2, "--workers: expected a positive integer"),
        (["--workers", "2"], 2, "use --storage journal:///gensynth.log"),
        (["--workers", "2", "--storage", "journal:///missing/dir/s.log"], 1, "does not exist"),
        (["--ray-address", "127.0.0.1:1"], 2, "--ray-address goes with --engine ray"),
        (["--engine", "nosuch"], 2, "unknown engine 'nosuch'"),
        (["--engine", "ray", "--workers", "2"], 2, "use --storage journal:///gensynth.log"),
    ],
)
def test_bad_engine_flags(tmp_path, monkeypatch, args, code, text):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["explore", *args])
    assert result.exit_code == code, result.output
    assert text in _error_line(result)
    assert not (tmp_path / "gensynth.db").exists()  # refused before any study was opened


def test_ray_not_installed_gives_the_install_hint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    result = runner.invoke(app, ["explore", "--engine", "ray", "--workers", "2"])
    assert result.exit_code == 1
    line = _error_line(result)
    assert "needs Ray, which is not installed" in line
    assert "pip install 'gensynth[ray]'" in line


def test_a_ray_address_that_does_not_answer_fails_fast(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    started = time.monotonic()
    result = runner.invoke(
        app,
        ["explore", "--engine", "ray", "--ray-address", "127.0.0.1:1", "--workers", "2",
         "--storage", "journal:///s.log"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "Ray at 127.0.0.1:1 does not answer" in _error_line(result)
    assert time.monotonic() - started < 30


def test_an_address_that_is_not_ray_fails_within_the_timeout():
    import socket

    with socket.socket() as server:  # accepts connections, never speaks Ray
        server.bind(("127.0.0.1", 0))
        server.listen()
        address = f"127.0.0.1:{server.getsockname()[1]}"
        started = time.monotonic()
        with pytest.raises(GensynthError, match=f"Ray at {address} does not answer"):
            ray_address_check(address, timeout=4.0)
    assert time.monotonic() - started < 20


@pytest.mark.parametrize("address", ["nonsense", "host:", ":6379"])
def test_a_malformed_ray_address(address):
    with pytest.raises(ConfigError, match="expected host:port"):
        ray_address_check(address)


def test_threads_per_worker_share_the_cores():
    assert worker_threads(_spec(workers=2), 2, cores=16) == 8
    assert worker_threads(_spec(workers=4), 4, cores=2) == 1
    assert worker_threads(_spec(workers=2, threads=3), 2, cores=16) == 3
