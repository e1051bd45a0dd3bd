"""`gensynth explain`: the explainability audit of a trained model, as a static HTML report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import typer

from gensynth.cli._common import JsonOpt, OverwriteOpt, SeedOpt, SkipBadOpt, err, out, print_json
from gensynth.errors import ConfigError, DataError

if TYPE_CHECKING:
    from gensynth.data.dataset import DefectDataset
    from gensynth.explain import Gate
    from gensynth.modeldir import LoadedModel

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


def _parse_methods(text: str) -> tuple[str, ...]:
    """Method names from ``gradcam,ig``; unknown ones list the valid ones and the closest."""
    from gensynth.explain import EXPLAINERS

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        valid = ", ".join(EXPLAINERS.names())
        raise ConfigError(f"--methods: expected one or more of {valid}, got {text!r}")
    for name in names:
        try:
            EXPLAINERS.get(name)
        except ConfigError as error:
            raise ConfigError(f"--methods: {error.message}", hint=error.hint) from None
    if len(set(names)) != len(names):
        raise ConfigError(f"--methods: expected each method once, got {text!r}")
    return names


def _check_options(samples: int, tau: float, ig_steps: int, threads: int | None) -> None:
    if samples < 1:
        raise ConfigError(
            f"--samples: expected a positive integer, got {samples}",
            hint="e.g. --samples 24 (stratified by class)",
        )
    if not 0 < tau < 1:
        raise ConfigError(f"--tau: expected a number between 0 and 1 (exclusive), got {tau:g}")
    if ig_steps < 1:
        raise ConfigError(f"--ig-steps: expected a positive integer, got {ig_steps}")
    if threads is not None and threads < 1:
        raise ConfigError(f"--threads: expected a positive integer, got {threads}")


def _check_data(loaded: LoadedModel, data: DefectDataset) -> list[str]:
    """Raise DataError when ``data`` cannot feed the model; warnings when it may mislead."""
    spec = loaded.spec
    channels = 1 if data.images.ndim == 3 else int(data.images.shape[1])
    if spec.in_channels != channels:
        raise DataError(
            f"the model expects {spec.in_channels} input channel(s) (spec in_channels), "
            f"the data has {channels} (images are loaded as grayscale)",
            hint="explain the model with data of the kind it was trained on",
        )
    if spec.task == "classify" and spec.num_classes != data.num_classes:
        raise DataError(
            f"the model has {spec.num_classes} classes, the data has {data.num_classes} "
            f"({', '.join(data.class_names)})",
            hint="use the data set the model was trained on (see metrics.json: data)",
        )
    trained = loaded.metrics.get("data", {}) if isinstance(loaded.metrics, dict) else {}
    warnings = []
    names = trained.get("class_names")
    if names and list(names) != list(data.class_names):
        warnings.append(
            f"class names differ from training: model {names}, data {list(data.class_names)}"
        )
    if trained.get("fingerprint") and trained["fingerprint"] != data.fingerprint:
        warnings.append(
            f"the data (fingerprint {data.fingerprint}) is not the data the model was trained "
            f"on ({trained['fingerprint']}): its test split may hold training images"
        )
    return warnings


def _check_gates(gates: list[Gate], data: DefectDataset, task: str) -> None:
    """Gates on metrics this data cannot measure are usage errors, before any work."""
    from gensynth.explain import injectable
    from gensynth.explain._gates import MASK_METRICS

    for gate in gates:
        if gate.metric in MASK_METRICS and data.masks is None:
            raise ConfigError(
                f"--fail-under {gate}: the data {data.root!r} has no defect masks",
                hint="gate on impact_score or coverage, or use data with masks",
            )
        usable = any(injectable(name) for name in data.class_names)
        if gate.metric == "coverage" and task == "classify" and not usable:
            raise ConfigError(
                f"--fail-under {gate}: coverage needs synthetic defect classes "
                f"(e.g. scratches), the data has {', '.join(data.class_names)}",
                hint="gate on impact_score or the mask metrics instead",
            )


def _load_data(
    loaded: LoadedModel, data: str | None, data_format: str | None, seed: int, skip_bad: bool
):
    """The data set at the model's input size, split with the seed the model was trained on."""
    from gensynth.data import load_dataset

    trained = loaded.metrics.get("data", {}) if isinstance(loaded.metrics, dict) else {}
    source = data or trained.get("source") or "synthetic"
    split_seed = loaded.metrics.get("seed", seed) if isinstance(loaded.metrics, dict) else seed
    if not isinstance(split_seed, int) or isinstance(split_seed, bool):
        split_seed = seed
    with err.status(f"Loading data {source} at {loaded.spec.input_size} px..."):
        dataset = load_dataset(
            source,
            task=loaded.spec.task,
            input_size=loaded.spec.input_size,
            format=data_format,
            seed=split_seed,
            skip_bad=skip_bad,
        )
    return source, split_seed, dataset


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


def _describe(loaded: LoadedModel, source: str, split_seed: int, data: DefectDataset,
              warnings: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:  # fmt: skip
    model = {
        "name": loaded.path.resolve().name,
        "path": str(loaded.path),
        "spec": loaded.spec.describe(),
        "spec_hash": loaded.spec.spec_hash,
        "task": loaded.spec.task,
        "input_size": loaded.spec.input_size,
    }
    described = {
        "source": source,
        "format": data.format,
        "fingerprint": data.fingerprint,
        "split_seed": split_seed,
        "test_samples": int((data.split == 2).sum()),
        "has_masks": data.masks is not None,
        "warnings": warnings,
    }
    return model, described


def _run(loaded: LoadedModel, dataset: DefectDataset, config: Any, threads: int | None):
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from gensynth.cli._common import Progress
    from gensynth.explain import Subject, run_audit
    from gensynth.training import num_threads

    spec = loaded.spec
    available = int((dataset.split == 2).sum())
    if config.samples > available:
        err.print(f"Note: the test split holds {available} samples; explaining all of them.")
    subject = Subject(loaded.model, spec.task, spec.input_size, in_channels=spec.in_channels)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with num_threads(threads), Progress(*columns, console=err, transient=True) as bar:
        return run_audit(subject, dataset, config, progress=_Bars(bar))


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
            help="Exit 1 when METRIC (or METHOD.METRIC) is below VALUE; repeatable. Metrics: "
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
    from gensynth.explain import AuditConfig, evaluate_gates, parse_gate, summarize, write_report
    from gensynth.modeldir import load_model_dir, prepare_out_dir

    names = _parse_methods(methods)
    _check_options(samples, tau, ig_steps, threads)
    gates = [parse_gate(text, names) for text in fail_under or []]
    config = AuditConfig(methods=names, samples=samples, tau=tau, seed=seed, ig_steps=ig_steps)
    loaded = load_model_dir(model_dir)
    prepare_out_dir(out_dir, overwrite=overwrite, what="report folder")
    source, split_seed, dataset = _load_data(loaded, data, data_format, seed, skip_bad)
    warnings = _check_data(loaded, dataset)
    _check_gates(gates, dataset, loaded.spec.task)
    for warning in warnings:
        err.print(f"[yellow]Warning:[/yellow] {_escape(warning)}")
    result = _run(loaded, dataset, config, threads)
    model_info, data_info = _describe(loaded, source, split_seed, dataset, warnings)
    summary = summarize(result, model=model_info, data=data_info)
    summary["gates"] = evaluate_gates(summary, gates)
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
        raise typer.Exit(1)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


#: Top-level commands this module adds to the main app, by name.
COMMANDS: dict[str, Callable[..., Any]] = {"explain": explain_cmd}
