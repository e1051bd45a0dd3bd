"""Tables several commands print: the leaderboard of feasible trials."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gensynth.cli._common import out

if TYPE_CHECKING:
    from gensynth.search.selection import Selection
    from gensynth.studies.leaderboard import LeaderboardRow

__all__ = ["print_finalists", "print_leaderboard", "print_table"]


def print_table(title: str, columns: list[str], rows: list[list[str]], flexible: str) -> None:
    """A table whose short columns never collapse; only ``flexible`` wraps on narrow screens."""
    from rich.table import Table

    table = Table(title=title)
    for i, column in enumerate(columns):
        if column == flexible:
            table.add_column(column, overflow="fold", ratio=1, min_width=12)
            continue
        width = max([len(column), *(len(row[i]) for row in rows)])
        table.add_column(column, min_width=width, no_wrap=True)
    for row in rows:
        table.add_row(*row)
    out.print(table)


def _row_cells(r: LeaderboardRow) -> list[str]:
    from gensynth.constraints.quantities import format_count

    return [
        str(r.rank) + ("*" if r.on_front and len(r.values) > 1 else ""),
        str(r.trial),
        format_count(r.macs or 0),
        format_count(r.params or 0),
        "-" if r.latency_ms is None else f"{r.latency_ms:.2f} ms",
        "-" if r.metric is None else f"{r.metric:.1f}%",
        "-" if r.netscore is None else f"{r.netscore:.2f}",
        r.describe,
    ]


def print_leaderboard(rows: list[LeaderboardRow], metric: str, limit: int | None = None) -> None:
    """Feasible trials, best first (``*`` marks the Pareto front of a multi-objective study)."""
    columns = ["#", "trial", "MACs", "params", "latency", metric, "NetScore", "spec"]
    cells = [_row_cells(r) for r in (rows if limit is None else rows[:limit])]
    print_table(
        "Leaderboard (feasible trials, validation on the proxy budget)",
        columns,
        cells,
        flexible="spec",
    )


def print_finalists(selection: Selection, metric: str) -> None:
    """The finalists after full training, the rule's verdict on each, and the winner."""
    from gensynth.constraints.quantities import format_count

    rows = []
    for verdict in selection.verdicts:
        f = verdict.finalist
        chosen = selection.winner is f
        verdict_text = "qualifies" if verdict.qualified else "; ".join(verdict.reasons)
        rows.append([
            str(f.record.number),
            f.role,
            f"{f.val_metric:.2f}%",
            f"{verdict.netscore:.2f}",
            format_count(f.params),
            "-" if f.latency_ms is None else f"{f.latency_ms:.2f} ms",
            "winner" if chosen else verdict_text,
            f.record.describe,
        ])  # fmt: skip
    required = "-" if selection.required_metric is None else f"{selection.required_metric:.2f}%"
    print_table(
        f"Finalists (trained in full; they need validation {metric} ≥ {required} and no more "
        "latency than the reference; the best NetScore of those wins)",
        ["trial", "role", f"val {metric}", "NetScore", "params", "latency", "verdict", "spec"],
        rows,
        flexible="spec",
    )
