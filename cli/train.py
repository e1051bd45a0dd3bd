"""`gensynth train`: full training of one spec into a model directory, tested once."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gensynth.cli._common import (
    DataOpt,
    JsonOpt,
    OverwriteOpt,
    SeedOpt,
    SkipBadOpt,
    err,
    out,
    print_json,
)
from gensynth.errors import ConfigError

if TYPE_CHECKING:
    from gensynth.cli._common import Progress
    from gensynth.prototypes import ArchSpec

__all__ = ["COMMANDS", "train_cmd"]


def _spec_from_study(name: str, trial: int, storage: str) -> ArchSpec:
    """The spec of trial ``trial`` of study ``name`` in ``storage``."""
    from gensynth.studies.trials import spec_of_trial

    return spec_of_trial(storage, name, trial)


def _resolve_spec(spec: Path | None, study: str | None, trial: int | None, storage: str | None):
    """The spec named by exactly one of --spec or --study/--trial/--storage."""
    from gensynth.prototypes import load_spec

    if spec is not None and study is not None:
        raise ConfigError("expected either --spec or --study, got both")
    if spec is not None:
        if trial is not None or storage is not None:
            raise ConfigError("--trial and --storage go with --study, not with --spec")
        return load_spec(spec)
    if study is None:
        raise ConfigError(
            "expected --spec SPEC.yaml or --study NAME --trial N --storage URL, got neither",
            hint="e.g. gensynth train --spec spec.yaml --out models/m1",
        )
    if trial is None or storage is None:
        raise ConfigError("--study needs --trial N and --storage URL as well")
    return _spec_from_study(study, trial, storage)


@contextlib.contextmanager
def _stop_on_interrupt() -> Iterator[Callable[[], bool]]:
    """A should_stop flag raised by the first Ctrl-C; a second Ctrl-C interrupts at once."""
    stop = {"asked": False}

    def handler(signum: int, frame: Any) -> None:
        if stop["asked"]:
            raise KeyboardInterrupt
        stop["asked"] = True
        err.print("[yellow]Stopping after this step; Ctrl-C again to abort.[/yellow]")

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: leave Ctrl-C alone
        yield lambda: False
        return
    try:
        yield lambda: stop["asked"]
    finally:
        signal.signal(signal.SIGINT, previous)


class _TrainingBar:
    """Drives a Rich progress bar on stderr from fit's progress dicts."""

    def __init__(self, progress: Progress, metric: str) -> None:
        self.progress = progress
        self.metric = metric
        self.task = progress.add_task("training", total=None)
        self.last = ""

    def __call__(self, event: dict[str, Any]) -> None:
        epoch, epochs = event["epoch"], event["epochs"]
        if event["event"] == "epoch":
            self.last = f" · val {self.metric} {event[f'val_{self.metric}']:.1f}%"
            return
        self.progress.update(
            self.task,
            total=epochs * event["steps"],
            completed=(epoch - 1) * event["steps"] + event["step"],
            description=f"epoch {epoch}/{epochs} · loss {event['loss']:.4f}{self.last}",
        )


def _print_summary(metrics: dict[str, Any], folder: Path) -> None:
    from rich.table import Table

    from gensynth.constraints import format_count

    metric = metrics["metric"]
    stopped = ", stopped early" if metrics.get("stopped_early") else ""
    title = f"{folder} ({metrics['task']}, best epoch {metrics['best_epoch']}{stopped})"
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("val", justify="right")
    table.add_column("test", justify="right")
    rows = ["accuracy", "macro_f1"] if metric == "accuracy" else ["miou", "dice", "pixel_accuracy"]
    for key in rows:
        table.add_row(f"{key} (%)", _fmt(metrics["val"].get(key)), _fmt(metrics["test"].get(key)))
    if metric == "miou":
        for key in ("precision", "recall", "false_alarm"):
            label = f"defect {key.replace('_', ' ')} @ p≥0.5 (%)"
            table.add_row(label, _decision(metrics["val"], key), _decision(metrics["test"], key))
    macs = metrics.get("macs")
    table.caption = (
        f"params {format_count(metrics['params'])}"
        + (f" · MACs {format_count(macs)}" if macs is not None else "")
        + f" · {metrics['timings']['train_seconds']:.0f} s training"
        + _on_device(metrics.get("device"))
    )
    out.print(table)


def _on_device(device: dict[str, str] | None) -> str:
    """`` on NVIDIA H100 (bfloat16)`` for a GPU run; nothing for the CPU, as before."""
    if not device or device.get("type") == "cpu":
        return ""
    return f" on {device.get('name')} ({device.get('precision')})"


def _decision(split_metrics: dict[str, Any], key: str) -> str:
    points = split_metrics["decision"]["points"]
    at_half = [p for p in points if abs(p["threshold"] - 0.5) < 1e-9]
    return _fmt(at_half[0][key]) if at_half else "-"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def train_cmd(
    out_dir: Annotated[Path, typer.Option("--out", help="Model directory to write.")],
    spec: Annotated[
        Path | None,
        typer.Option("--spec", help="Architecture spec YAML (e.g. OUT/best/spec.yaml)."),
    ] = None,
    study: Annotated[str | None, typer.Option("--study", help="Study holding the trial.")] = None,
    trial: Annotated[int | None, typer.Option("--trial", help="Trial number in --study.")] = None,
    storage: Annotated[
        str | None, typer.Option("--storage", help="Storage URL of --study.")
    ] = None,
    data: DataOpt = "synthetic",
    data_format: Annotated[
        str | None, typer.Option("--format", help="Data format name; detected when left out.")
    ] = None,
    epochs: Annotated[
        int | None,
        typer.Option(
            "--epochs",
            help="Epochs, exactly (default: gensynth.training.FULL_EPOCHS, fewer where they "
            "would not fit in FULL_TIME_BUDGET).",
        ),
    ] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Batch size.")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Peak learning rate.")] = None,
    seed: SeedOpt = 0,
    threads: Annotated[
        int | None, typer.Option("--threads", help="Torch CPU threads (default: all cores).")
    ] = None,
    channels: Annotated[
        int | None,
        typer.Option("--channels", help="1: grey; 3: RGB, colour kept (default: the spec's)."),
    ] = None,
    resize: Annotated[
        str, typer.Option("--resize", help="stretch (default), or keep the aspect: pad, crop.")
    ] = "stretch",
    split: Annotated[
        Path | None,
        typer.Option("--split", help="CSV of path,split rows: a fixed train/val/test split."),
    ] = None,
    device: Annotated[
        str, typer.Option("--device", help="auto (CUDA when torch sees it), cpu or cuda.")
    ] = "auto",
    overwrite: OverwriteOpt = False,
    skip_bad: SkipBadOpt = False,
    json_output: JsonOpt = False,
) -> None:
    """Train a spec with the full budget, test it once, and write a model directory.

    The val split picks the best epoch; the test split is scored once, at the end. Ctrl-C
    stops training after the current step and still tests and writes the model.

    Images are grey unless --channels 3 (or a spec with in_channels 3) keeps their colour;
    --resize pad or crop keeps their aspect ratio; --split FILE fixes the split. The
    preprocessing is recorded in metrics.json, for predict.

    Example: gensynth train --spec best/spec.yaml --data synthetic --out models/tiny
    """
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn

    from gensynth.cli._common import Progress
    from gensynth.training import primary_metric
    from gensynth.training.run import TrainRequest, run_training

    arch = _resolve_spec(spec, study, trial, storage)
    request = TrainRequest(
        arch, data=data, format=data_format, epochs=epochs, batch_size=batch_size, lr=lr,
        seed=seed, threads=threads, channels=channels, resize=resize, split=split,
        device=device, skip_bad=skip_bad,
    )  # fmt: skip
    request.check()  # before the progress bar: a bad option is one line, nothing written
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with (
        Progress(*columns, console=err, transient=True) as bar,
        _stop_on_interrupt() as should_stop,
    ):
        metrics = run_training(
            request,
            out_dir,
            overwrite=overwrite,
            progress=_TrainingBar(bar, primary_metric(arch.task)),
            should_stop=should_stop,
        )
    if json_output:
        print_json({"out": str(out_dir), **metrics})
    else:
        _print_summary(metrics, out_dir)
    err.print(
        f"Wrote {out_dir} (spec.yaml, weights.safetensors, metrics.json, MODEL_CARD.md, figures)."
    )


#: Top-level commands this module adds to the main app, by name.
COMMANDS: dict[str, Callable[..., Any]] = {"train": train_cmd}
