"""The ``gensynth`` command: assembles one Typer app per command group and maps errors.

The error boundary is here, in one place, so a new command is covered without thinking
about it: a GensynthError, a usage error, an OSError (named path and reason), a Ctrl-C or
a bug each become one line on stderr and an exit code (2 usage, 1 otherwise, 130 Ctrl-C),
and everything the command prints has its registered secrets scrubbed.
"""

from __future__ import annotations

import contextlib
import errno
import sys
import traceback
from collections.abc import Iterator
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from gensynth import __version__
from gensynth.cli import _common
from gensynth.errors import ConfigError, GensynthError, debug_enabled
from gensynth.paths import error_from_os
from gensynth.redaction import ScrubbingStream, scrub

__all__ = ["app", "main"]

#: Exit code of a command stopped by Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = _common.EXIT_INTERRUPTED


@contextlib.contextmanager
def _scrubbed_output() -> Iterator[None]:
    """stdout and stderr with every registered secret scrubbed, for one command."""
    if isinstance(sys.stdout, ScrubbingStream) and isinstance(sys.stderr, ScrubbingStream):
        yield
        return
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = ScrubbingStream(saved[0]), ScrubbingStream(saved[1])
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def _is_usage_error(error: Exception) -> bool:
    """Typer's own usage errors (bad or missing options); the help text for no args is not."""
    return (
        isinstance(error, typer.TyperException)
        and getattr(error, "exit_code", None) == 2
        and hasattr(error, "format_message")
        and type(error).__name__ != "NoArgsIsHelpError"
    )


def _usage_error(error: Any) -> ConfigError:
    ctx = getattr(error, "ctx", None)
    hint = f"see '{ctx.command_path} -h'" if ctx is not None else None
    return ConfigError(error.format_message(), hint=hint)


def _unexpected(error: BaseException) -> GensynthError:
    return GensynthError(
        f"unexpected {type(error).__name__}: {error}",
        hint="this is a bug in gensynth; rerun with GENSYNTH_DEBUG=1 for the traceback, "
        "and report it",
    )


def _as_error(error: Exception) -> GensynthError:
    if isinstance(error, GensynthError):
        return error
    if isinstance(error, OSError):
        return error_from_os(error)
    if _is_usage_error(error):
        return _usage_error(error)
    return _unexpected(error)


def fail(error: BaseException) -> NoReturn:
    """Report ``error`` as the command's last word and exit with its code."""
    if isinstance(error, KeyboardInterrupt):
        _common.report_interrupt()
        raise typer.Exit(INTERRUPTED)
    mapped = _as_error(error)  # type: ignore[arg-type]
    if debug_enabled():
        sys.stderr.write(scrub("".join(traceback.format_exception(error))))
        sys.stderr.flush()
    _common.report_error(mapped)
    raise typer.Exit(mapped.exit_code)


def _passes_through(error: BaseException) -> bool:
    """Exits, aborts, help screens, a closed pipe: Typer handles these itself."""
    if isinstance(error, (typer.Exit, typer.Abort, SystemExit, GeneratorExit)):
        return True
    if isinstance(error, OSError) and error.errno == errno.EPIPE:
        return True
    return isinstance(error, typer.TyperException) and not _is_usage_error(error)


class _ErrorMappingGroup(TyperGroup):
    """The CLI boundary: every failure below becomes one ``Error:`` line and an exit code."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except BaseException as error:
            if _passes_through(error):
                raise
            fail(error)

    def invoke(self, ctx: Any) -> Any:  # Typer's own (vendored) click Context
        with _scrubbed_output():
            try:
                return super().invoke(ctx)
            except BaseException as error:
                if _passes_through(error):
                    raise
                fail(error)


app = typer.Typer(
    cls=_ErrorMappingGroup,
    name="gensynth",
    help=(
        "Design small, fast defect-inspection networks under hard operational limits.\n\n"
        "Example: gensynth explore --flops 100M"
    ),
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gensynth {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Design small, fast defect-inspection networks under hard operational limits.

    Example: gensynth explore --flops 100M
    """


def _assemble() -> None:
    from gensynth.cli import (
        bench,
        constraints,
        data,
        explain,
        explore,
        export,
        predict,
        prototypes,
        studies,
        train,
    )

    app.add_typer(data.app, name="data")
    app.add_typer(prototypes.app, name="prototypes")
    app.add_typer(constraints.app, name="constraints")
    app.add_typer(studies.app, name="studies")
    for module in (explore, train, export, predict, bench, explain):
        for name, function in getattr(module, "COMMANDS", {}).items():
            app.command(name)(function)


_assemble()


def main() -> None:
    """Console-script entry point."""
    try:
        with _scrubbed_output():
            app()
    except GensynthError as error:  # raised outside a command, e.g. in a callback
        try:
            fail(error)
        except typer.Exit as done:
            sys.exit(done.exit_code)


if __name__ == "__main__":
    main()
