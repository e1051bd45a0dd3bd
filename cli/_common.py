"""What every command shares: consoles, error reporting, and the common option aliases.

CLI modules import nothing heavy (torch, optuna, ray) at module level: ``gensynth --help``
must stay fast. Import the core inside the command function.
"""

from __future__ import annotations

import enum
import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress as _RichProgress

from gensynth.errors import GensynthError
from gensynth.redaction import scrub

__all__ = [
    "DataOpt",
    "JsonOpt",
    "OverwriteOpt",
    "Progress",
    "SeedOpt",
    "SkipBadOpt",
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
        envvar="GENSYNTH_STORAGE",
        help="Study storage: sqlite:///path.db, journal:///path.log or postgresql://user@host/db; "
        "$GENSYNTH_STORAGE when not given.",
    ),
]
#: Exit codes every command shares (the README's table): 0 success, 1 an error, 2 a usage
#: error, 3 a negative verdict (an infeasible spec, a failed gate, an unmet requirement),
#: 130 interrupted.
EXIT_ERROR, EXIT_USAGE, EXIT_NEGATIVE, EXIT_INTERRUPTED = 1, 2, 3, 130

JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON to stdout.")]
OverwriteOpt = Annotated[
    bool, typer.Option("--overwrite", help="Write into an output folder that is not empty.")
]
SkipBadOpt = Annotated[
    bool,
    typer.Option(
        "--skip-bad",
        help="Leave out bad images and masks (gensynth data check lists them) instead of "
        "refusing the data.",
    ),
]


class Progress(_RichProgress):
    """Rich's progress display, minus the empty line it leaves on a pipe or a file.

    On stop, Rich ends the last bars it drew with a newline, but it does so even when it drew
    nothing (transient bars, no task shown yet): an empty line, printed before any error
    that followed, so ``2>&1 | head -1`` showed nothing.
    """

    def stop(self) -> None:
        if self.disable:
            return
        drawn = not self.live.transient and any(task.visible for task in self.tasks)
        self.live.stop()
        if drawn and not self.console.is_interactive and not self.console.is_jupyter:
            self.console.print()


def _one_line(text: str) -> str:
    """Secrets scrubbed, markup escaped, and no line breaks (a driver's text may hold some)."""
    return " ".join(scrub(text).split()).replace("[", r"\[")


def report_error(error: GensynthError) -> None:
    """One red ``Error:`` line on stderr: what was wrong, what was expected, what to try."""
    text = _one_line(error.message)
    if error.hint:
        text += f" [dim]({_one_line(error.hint)})[/dim]"
    err.print(f"[bold red]Error:[/bold red] {text}", highlight=False)


def report_interrupt() -> None:
    """The one line a Ctrl-C leaves (exit code 130)."""
    err.print("[yellow]Interrupted[/yellow] (Ctrl-C); stopped.", highlight=False)


def print_json(data: Any) -> None:
    """JSON to stdout, unstyled, so scripts can read it."""
    sys.stdout.write(scrub(json.dumps(data, indent=2, default=str)) + "\n")
    sys.stdout.flush()
