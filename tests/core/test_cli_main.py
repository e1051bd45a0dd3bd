from __future__ import annotations

import subprocess
import sys

import typer
from typer.testing import CliRunner

from gensynth import __version__
from gensynth.cli import main as cli_main
from gensynth.errors import ConfigError, DataError

runner = CliRunner()


def test_version():
    result = runner.invoke(cli_main.app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"gensynth {__version__}"


def test_help_lists_the_command_groups():
    result = runner.invoke(cli_main.app, ["--help"])
    assert result.exit_code == 0
    for name in ("data", "prototypes", "constraints", "studies"):
        assert name in result.stdout


def _app_raising(error: Exception) -> typer.Typer:
    app = typer.Typer(cls=cli_main._ErrorMappingGroup)

    @app.command()
    def boom() -> None:
        raise error

    @app.command()
    def fine() -> None:
        pass

    return app


def test_usage_error_is_one_line_exit_2(monkeypatch):
    monkeypatch.delenv("GENSYNTH_DEBUG", raising=False)
    app = _app_raising(ConfigError("--flops: expected 100M, got 'abc'", hint="try --flops 100M"))
    result = runner.invoke(app, ["boom"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("Error: --flops: expected 100M")
    assert "try --flops 100M" in lines[0]
    assert "Traceback" not in result.output


def test_other_errors_exit_1():
    result = runner.invoke(_app_raising(DataError("no images in 'x'")), ["boom"])
    assert result.exit_code == 1
    assert "Error: no images in 'x'" in result.stderr


def test_debug_shows_the_exception(monkeypatch):
    monkeypatch.setenv("GENSYNTH_DEBUG", "1")
    result = runner.invoke(_app_raising(DataError("boom")), ["boom"])
    assert isinstance(result.exception, DataError)


def test_console_script_runs_in_a_subprocess():
    proc = subprocess.run(
        [sys.executable, "-m", "gensynth.cli.main", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert __version__ in proc.stdout
