"""`gensynth studies`: list, inspect, export and plot shared study storages; fetch a trial."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gensynth.cli._common import JsonOpt, StorageOpt, err, out, print_json
from gensynth.cli._tables import print_leaderboard
from gensynth.vocabulary import DEFAULT_STORAGE

if TYPE_CHECKING:
    from gensynth.studies.summary import StudySummary

__all__ = ["app"]

app = typer.Typer(
    help="Shared studies: list them, show a leaderboard, export trials, plot the Pareto front.\n\n"
    "Example: gensynth studies list --storage sqlite:///gensynth.db",
    no_args_is_help=True,
)

NameArg = Annotated[str, typer.Argument(help="Study name (gensynth studies list).")]
ArtifactsOpt = Annotated[
    Path | None,
    typer.Option("--artifacts", help="The study's artifact folder, if not the recorded one."),
]


@app.command("list")
def list_cmd(storage: StorageOpt = DEFAULT_STORAGE, json_out: JsonOpt = False) -> None:
    """Every study in a storage: task, limits, trial counts and the best trial.

    Example: gensynth studies list --storage postgresql://me@db.example/gensynth
    """
    from gensynth.studies.storage import redact
    from gensynth.studies.summary import list_studies

    summaries = list_studies(storage)
    if json_out:
        print_json({"storage": redact(storage), "studies": [s.to_dict() for s in summaries]})
        return
    if not summaries:
        err.print(f"No studies in {redact(storage)} yet (gensynth explore --storage ...).")
        return
    _print_summaries(summaries)


def _best_text(s: StudySummary) -> str:
    if s.best_trial is None:
        return "-"
    score = f"NetScore {s.best_netscore:.2f}" if s.best_netscore is not None else ""
    metric = "" if s.best_metric is None else f" · {s.best_metric:.1f}%"
    return f"#{s.best_trial} {score}{metric}"


def _print_summaries(summaries: list[StudySummary]) -> None:
    """Two lines per study, readable at any terminal width."""
    for s in summaries:
        head = (
            f"{s.task or '?'} · {s.prototype or '?'} · limits {s.limits}"
            if s.gensynth
            else "not a gensynth study"
        )
        out.print(f"[bold]{s.name}[/bold]  {head}", highlight=False)
        out.print(
            f"  {s.complete} complete ({s.feasible} feasible, {s.infeasible} infeasible) · "
            f"{s.failed} failed · {s.running} running · {s.waiting} waiting · "
            f"best {_best_text(s)}",
            highlight=False,
        )


@app.command("show")
def show_cmd(
    name: NameArg,
    storage: StorageOpt = DEFAULT_STORAGE,
    limit: Annotated[int, typer.Option("--limit", help="Rows to show.", min=1)] = 20,
    json_out: JsonOpt = False,
) -> None:
    """The leaderboard of a study's feasible trials, best first.

    Example: gensynth studies show classify-100M --storage sqlite:///gensynth.db --limit 5
    """
    from gensynth.studies.leaderboard import leaderboard
    from gensynth.studies.study import load_existing_study
    from gensynth.studies.summary import summarize

    study = load_existing_study(name, storage)
    rows = leaderboard(study, limit=limit)
    summary = summarize(study)
    if json_out:
        print_json({"study": summary.to_dict(), "leaderboard": [r.to_dict() for r in rows]})
        return
    err.print(
        f"Study {name!r}: {summary.task or '?'} · {summary.prototype or '?'} · limits "
        f"{summary.limits} · {summary.complete} complete ({summary.feasible} feasible, "
        f"{summary.infeasible} infeasible), {summary.failed} failed, "
        f"{summary.running} running",
        highlight=False,
    )
    if not rows:
        err.print("No feasible trained trial yet.")
        return
    metric = "mIoU" if summary.task == "segment" else "accuracy"
    print_leaderboard(rows, metric)


@app.command("export")
def export_cmd(
    name: NameArg,
    storage: StorageOpt = DEFAULT_STORAGE,
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write to this file instead of stdout.")
    ] = None,
) -> None:
    """Every trial with its spec, costs, metrics, constraints, state and reasons.

    Example: gensynth studies export classify-100M --storage sqlite:///gensynth.db
    --format json --out trials.json
    """
    from gensynth.studies.export import export_study, write_export
    from gensynth.studies.study import load_existing_study

    study = load_existing_study(name, storage)
    text = export_study(study, storage, fmt)
    write_export(text, out_file)
    if out_file is not None:
        err.print(f"Wrote {len(study.trials)} trials of {name!r} to {out_file}")


@app.command("pareto")
def pareto_cmd(
    name: NameArg,
    out_file: Annotated[Path, typer.Option("--out", help="PNG file to write.")],
    storage: StorageOpt = DEFAULT_STORAGE,
    x: Annotated[str, typer.Option("--x", help="Cost axis: macs, params or latency.")] = "macs",
    y: Annotated[str, typer.Option("--y", help="Quality axis: metric or netscore.")] = "metric",
    json_out: JsonOpt = False,
) -> None:
    """Plot the metric against a cost; the Pareto front highlighted, infeasible trials grey.

    Example: gensynth studies pareto classify-100M --storage sqlite:///gensynth.db
    --out pareto.png --x latency
    """
    from gensynth.studies.pareto import plot_pareto
    from gensynth.studies.study import load_existing_study

    study = load_existing_study(name, storage)
    plot = plot_pareto(study, out_file, x=x, y=y)
    if json_out:
        print_json(plot.to_dict())
        return
    front = ", ".join(f"#{n}" for n in plot.front) or "none"
    err.print(
        f"Wrote {plot.path}: {plot.feasible} trained feasible trials (front: {front}), "
        f"{plot.infeasible} infeasible shown as grey crosses",
        highlight=False,
    )


@app.command("fetch")
def fetch_cmd(
    name: NameArg,
    trial: Annotated[int, typer.Option("--trial", help="Trial number.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for spec.yaml and weights.")],
    storage: StorageOpt = DEFAULT_STORAGE,
    artifacts: ArtifactsOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Copy a trial's spec.yaml and proxy-trained weights out of a shared study.

    Example: gensynth studies fetch classify-100M --storage sqlite:///gensynth.db
    --trial 7 --out trial7/
    """
    from gensynth.studies.trials import fetch_trial

    files = fetch_trial(storage, name, trial, out_dir, artifacts)
    if json_out:
        print_json(files)
        return
    err.print(f"Wrote {files['spec']}", highlight=False)
    if "weights" in files:
        err.print(f"Wrote {files['weights']}", highlight=False)
    else:
        err.print(f"[yellow]No weights:[/yellow] {files['weights_missing']}", highlight=False)
