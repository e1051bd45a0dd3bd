"""`gensynth constraints`: (being built)."""

from __future__ import annotations

import typer

app = typer.Typer(help="constraints commands.", no_args_is_help=True)
