"""`gensynth explain`: the explainability audit of a trained model, as a static HTML report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import typer

from gensynth.cli._common import (
    EXIT_NEGATIVE,
    JsonOpt,
    OverwriteOpt,
    SeedOpt,
    SkipBadOpt,
    err,
    out,
    print_json,
)

if TYPE_CHECKING:
    from gensynth.explain import AuditPlan

__all__ = ["COMMANDS", "explain_cmd"]

DEFAULT_METHODS = "gradcam,ig,occlusion,critical"
TABLE_COLUMNS = (
    ("impact_score", "impact\n@τ"),
    ("critical_area", "crit.\narea"),
    ("coverage", "cover-\nage"),
    ("mask_energy", "mask\nenergy"),
    ("pointing_game", "point-\ning"),
    ("sanity_correlation", "sanity\nρ"),
)


class _Bars:
    """One Rich progress bar per audit stage, on stderr."""

    LABELS: ClassVar[dict[str, str]] = {
        "explain": "explaining",
        "sanity": "sanity check (random weights)",
        "coverage": "coverage (injected defects)",
    }

    def __init__(self, progress: Any) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            label = self.LABELS.get(stage, stage)
            self.tasks[stage] = self.progress.add_task(label, total=total)
        self.progress.update(self.tasks[stage], completed=done, total=total)


def _fmt(value: Any) -> str:
    return "-" if value is None else f"{value:.3f}"


def _print_table(summary: dict[str, Any], folder: Path) -> None:
    from rich import box
    from rich.table import Table

    settings = summary["settings"]
    name = _escape(str(summary["model"].get("name", "")))
    table = Table(
        title=f"Explanation audit of {name} (τ = {settings['tau']:g})",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("method", no_wrap=True)
    for _, title in TABLE_COLUMNS:
        table.add_column(title, justify="right", min_width=5, no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for method, numbers in summary["overall"].items():
        verdict = numbers["verdict"]
        colour = "green" if verdict == "pass" else "red"
        cells = [_fmt(numbers.get(key)) for key, _ in TABLE_COLUMNS]
        table.add_row(_escape(method), *cells, f"[{colour}]{verdict}[/{colour}]")
    table.caption = _escape(
        f"{settings['samples']} test samples · {len(summary['flagged'])} flagged · "
        f"report {folder / 'index.html'}"
    )
    out.print(table)


def _run(plan: AuditPlan) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from gensynth.cli._common import Progress

    if plan.config.samples > plan.available:
        err.print(f"Note: the test split holds {plan.available} samples; explaining all of them.")
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        return plan.run(progress=_Bars(bar))


def explain_cmd(
    model_dir: Annotated[
        Path, typer.Argument(help="Model directory (spec.yaml, weights.safetensors).")
    ],
    out_dir: Annotated[Path, typer.Option("--out", help="Report folder to write.")],
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            help="'synthetic' or a folder; default: the data the model was trained on.",
        ),
    ] = None,
    data_format: Annotated[
        str | None, typer.Option("--format", help="Data format name; detected when left out.")
    ] = None,
    methods: Annotated[
        str, typer.Option("--methods", help="Comma-separated explanation methods.")
    ] = DEFAULT_METHODS,
    samples: Annotated[
        int, typer.Option("--samples", help="Test samples to explain, stratified by class.")
    ] = 24,
    tau: Annotated[
        float,
        typer.Option("--tau", help="A removal has impact when confidence falls to <= tau x."),
    ] = 0.5,
    fail_under: Annotated[
        list[str] | None,
        typer.Option(
            "--fail-under",
            help="Exit 3 when METRIC (or METHOD.METRIC) is below VALUE; repeatable. Metrics: "
            "impact_score, coverage, mask_energy, pointing_game.",
            metavar="METRIC=VALUE",
        ),
    ] = None,
    ig_steps: Annotated[int, typer.Option("--ig-steps", help="Integrated Gradients steps.")] = 16,
    threads: Annotated[
        int | None, typer.Option("--threads", help="Torch CPU threads (default: all cores).")
    ] = None,
    seed: SeedOpt = 0,
    overwrite: OverwriteOpt = False,
    skip_bad: SkipBadOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Audit what a trained model looks at: heat maps, critical factors, metrics, a report.

    Example: gensynth explain models/tiny --samples 24 --out reports/tiny
    --fail-under impact_score=0.6 --fail-under mask_energy=0.3
    """
    from gensynth.explain import evaluate_gates, open_audit, summarize, write_report
    from gensynth.paths import prepare_out_dir

    with err.status(f"Loading {model_dir} and its data..."):
        plan = open_audit(
            model_dir, methods=methods, samples=samples, tau=tau, ig_steps=ig_steps, seed=seed,
            fail_under=fail_under, data=data, data_format=data_format, threads=threads,
            skip_bad=skip_bad,
        )  # fmt: skip
    prepare_out_dir(out_dir, overwrite=overwrite, what="report folder")
    for warning in plan.warnings:
        err.print(f"[yellow]Warning:[/yellow] {_escape(warning)}")
    result = _run(plan)
    model_info, data_info = plan.describe()
    summary = summarize(result, model=model_info, data=data_info)
    summary["gates"] = evaluate_gates(summary, plan.gates)
    write_report(out_dir, result, summary)
    if json_output:
        print_json(summary)
    else:
        _print_table(summary, out_dir)
    err.print(f"Wrote {out_dir / 'index.html'} and summary.json.")
    failed = [gate for gate in summary["gates"] if not gate["passed"]]
    for gate in failed:
        err.print(f"[bold red]Gate failed:[/bold red] {_escape(gate['reason'])} "
                  f"(--fail-under {_escape(gate['gate'])})")  # fmt: skip
    if failed:
        raise typer.Exit(EXIT_NEGATIVE)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


#: Top-level commands this module adds to the main app, by name.
COMMANDS: dict[str, Callable[..., Any]] = {"explain": explain_cmd}
