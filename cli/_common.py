"""What every command shares: consoles, error reporting, and the common option aliases.

CLI modules import nothing heavy (torch, optuna, ray) at module level: ``gensynth --help``
must stay fast. Import the core inside the command function.
"""

from __future__ import annotations

import enum
import json
import os
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from gensynth.errors import GensynthError

__all__ = [
    "DataOpt",
    "JsonOpt",
    "OverwriteOpt",
    "SeedOpt",
    "StorageOpt",
    "TaskChoice",
    "err",
    "out",
    "print_json",
    "report_error",
]

#: Data goes to stdout; messages, progress and errors go to stderr.
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


class TaskChoice(str, enum.Enum):
    classify = "classify"
    segment = "segment"


DataOpt = Annotated[
    str,
    typer.Option(
        "--data",
        help="'synthetic' (built in) or a folder in any supported format.",
        show_default=True,
    ),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="The one seed all randomness flows from.")]
StorageOpt = Annotated[
    str,
    typer.Option(
        "--storage",
        help="Study storage: sqlite:///path.db, journal:///path.log or postgresql://user@host/db.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON to stdout.")]
OverwriteOpt = Annotated[
    bool, typer.Option("--overwrite", help="Write into an output folder that is not empty.")
]


def debug_enabled() -> bool:
    return os.environ.get("GENSYNTH_DEBUG", "") not in ("", "0")


def report_error(error: GensynthError) -> None:
    """One red ``Error:`` line on stderr: what was wrong, what was expected, what to try."""
    text = error.message.replace("[", r"\[")
    if error.hint:
        text += f" [dim]({error.hint.replace('[', chr(92) + '[')})[/dim]"
    err.print(f"[bold red]Error:[/bold red] {text}", highlight=False)


def print_json(data: Any) -> None:
    """JSON to stdout, unstyled, so scripts can read it."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()
