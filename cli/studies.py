"""`gensynth studies`: (being built)."""

from __future__ import annotations

import typer

app = typer.Typer(help="studies commands.", no_args_is_help=True)
