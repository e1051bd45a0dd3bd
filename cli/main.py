"""The ``gensynth`` command: assembles one Typer app per command group and maps errors."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from gensynth import __version__
from gensynth.cli import _common
from gensynth.errors import GensynthError

__all__ = ["app", "main"]


class _ErrorMappingGroup(TyperGroup):
    """Turns a GensynthError raised anywhere below into one ``Error:`` line and an exit code."""

    def invoke(self, ctx: Any) -> Any:  # Typer's own (vendored) click Context
        try:
            return super().invoke(ctx)
        except GensynthError as error:
            if _common.debug_enabled():
                raise
            _common.report_error(error)
            raise typer.Exit(error.exit_code) from None


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
        prototypes,
        studies,
        train,
    )

    app.add_typer(data.app, name="data")
    app.add_typer(prototypes.app, name="prototypes")
    app.add_typer(constraints.app, name="constraints")
    app.add_typer(studies.app, name="studies")
    for module in (explore, train, export, bench, explain):
        for name, function in getattr(module, "COMMANDS", {}).items():
            app.command(name)(function)


_assemble()


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except GensynthError as error:  # raised outside a command, e.g. in a callback
        if _common.debug_enabled():
            raise
        _common.report_error(error)
        sys.exit(error.exit_code)


if __name__ == "__main__":
    main()
