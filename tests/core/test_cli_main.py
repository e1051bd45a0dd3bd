from __future__ import annotations

import errno
import subprocess
import sys

import pytest
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


def test_a_negative_verdict_exits_3():
    from gensynth.errors import RequirementUnmet

    result = runner.invoke(_app_raising(RequirementUnmet("no finalist reached 99%")), ["boom"])
    assert result.exit_code == 3
    assert "Error: no finalist reached 99%" in result.stderr


def test_the_exit_code_table():
    from gensynth.cli._common import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_NEGATIVE, EXIT_USAGE

    assert (EXIT_ERROR, EXIT_USAGE, EXIT_NEGATIVE, EXIT_INTERRUPTED) == (1, 2, 3, 130)
    assert cli_main.INTERRUPTED == EXIT_INTERRUPTED


def test_debug_shows_the_traceback_then_the_error_line(monkeypatch):
    monkeypatch.setenv("GENSYNTH_DEBUG", "1")
    result = runner.invoke(_app_raising(DataError("boom")), ["boom"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last)")
    assert "gensynth.errors.DataError: boom" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "Error: boom"


def test_console_script_runs_in_a_subprocess():
    proc = subprocess.run(
        [sys.executable, "-m", "gensynth.cli.main", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert __version__ in proc.stdout


def _only_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_ctrl_c_is_one_line_and_exit_130():
    result = runner.invoke(_app_raising(KeyboardInterrupt()), ["boom"])
    assert result.exit_code == 130
    assert _only_line(result).startswith("Interrupted")


@pytest.mark.parametrize(
    ("error", "code", "expected"),
    [
        (PermissionError(errno.EACCES, "Permission denied", "/nope/x.csv"), 1,
         "Error: cannot create '/nope/x.csv': folder '/' is not writable"),
        (OSError(errno.ENOSPC, "No space left on device", "big.bin"), 1,
         "Error: disk full: cannot write 'big.bin'"),
        (OSError(errno.EROFS, "Read-only file system", "/ro/x"), 1,
         "Error: '/ro/x' is on a read-only file system"),
        (IsADirectoryError(errno.EISDIR, "Is a directory", "/tmp"), 2,
         "Error: '/tmp' is a folder, expected a file"),
    ],
)  # fmt: skip
def test_an_os_error_names_the_path_and_the_reason(error, code, expected):
    result = runner.invoke(_app_raising(error), ["boom"])
    assert result.exit_code == code
    assert _only_line(result).startswith(expected)


def test_a_file_where_a_folder_is_expected(tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("mine")
    error = NotADirectoryError(errno.ENOTDIR, "Not a directory", str(blocker / "sub"))
    result = runner.invoke(_app_raising(error), ["boom"])
    assert result.exit_code == 2
    assert f"'{blocker}' is a file, expected a folder" in _only_line(result)


def test_a_bug_is_one_line_that_says_how_to_see_more():
    result = runner.invoke(_app_raising(ZeroDivisionError("division by zero")), ["boom"])
    assert result.exit_code == 1
    line = _only_line(result)
    assert line.startswith("Error: unexpected ZeroDivisionError: division by zero")
    assert "GENSYNTH_DEBUG=1" in line


def test_usage_errors_of_typer_are_one_line_too():
    result = runner.invoke(cli_main.app, ["explore", "--trials", "abc"])
    assert result.exit_code == 2
    line = _only_line(result)
    assert line.startswith("Error: Invalid value for '--trials'")
    assert "gensynth explore -h" in line
    result = runner.invoke(cli_main.app, ["--no-such-option"])
    assert result.exit_code == 2 and "No such option" in _only_line(result)


def test_secrets_are_scrubbed_from_output_and_debug_tracebacks(monkeypatch):
    from gensynth.redaction import forget_secrets, register_secret

    register_secret("hunter2secret")
    try:
        app = typer.Typer(cls=cli_main._ErrorMappingGroup)

        @app.command()
        def leak() -> None:
            print("connecting with hunter2secret")
            raise RuntimeError("driver: password hunter2secret refused")

        @app.command()
        def fine() -> None:
            pass

        monkeypatch.setenv("GENSYNTH_DEBUG", "1")
        result = runner.invoke(app, ["leak"])
        assert "Traceback" in result.stderr
        assert "hunter2secret" not in result.output
        assert "connecting with ***" in result.stdout
    finally:
        forget_secrets()
