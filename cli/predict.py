"""`gensynth predict`: a model run on image files or folders, one row per image."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gensynth.cli._common import JsonOpt, OverwriteOpt, err, out, print_json

if TYPE_CHECKING:
    from gensynth.deploy import Prediction, Predictor

PREDICT_HELP = (
    "Run a trained model on images: one row per image, with the preprocessing, class names "
    "and decision rule read from the model (never typed again).\n\n"
    "Classification: the class and its probability. Segmentation: the verdict (defect or not, "
    "by the rule stored in the model), the defect area, and with --out DIR a mask PNG per image "
    "at the image's own size. A summary and the images per second follow on stderr. A model "
    "folder without model.onnx is refused unless --export is given.\n\n"
    "Example: gensynth predict runs/best images/ --out predictions/"
)


def predict_cmd(
    model: Annotated[
        Path, typer.Argument(help="A model folder (with model.onnx), or a gensynth ONNX file.")
    ],
    paths: Annotated[
        list[Path], typer.Argument(help="Image files, or folders searched recursively.")
    ],
    out_path: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="A .csv or .json file for the rows, or a folder: predictions.csv and "
            "(segmentation) masks/.",
        ),
    ] = None,
    backend: Annotated[
        str, typer.Option("--backend", help="onnxruntime-cpu, onnxruntime-cuda or tensorrt.")
    ] = "onnxruntime-cpu",
    int8: Annotated[
        bool, typer.Option("--int8", help="Run model.int8.onnx (gensynth export --int8).")
    ] = False,
    export: Annotated[
        bool,
        typer.Option("--export", help="Export model.onnx first if the model folder has none."),
    ] = False,
    batch: Annotated[int, typer.Option("--batch", help="Images per inference call.")] = 16,
    threads: Annotated[
        int | None, typer.Option("--threads", help="Inference threads (default: all cores).")
    ] = None,
    skip_bad: Annotated[
        bool,
        typer.Option(
            "--skip-bad", help="Name and leave out unreadable images instead of stopping."
        ),
    ] = False,
    overwrite: OverwriteOpt = False,
    json_out: JsonOpt = False,
) -> None:
    from gensynth.deploy import PredictionOutput, Predictor, summarize

    target = PredictionOutput(out_path, overwrite=overwrite)
    predictor = Predictor.from_model_dir(
        model, int8=int8, export=export, backend=backend, batch=batch, threads=threads
    )
    skipped: list[str] = []
    try:
        rows, seconds = _run(predictor, paths, target, skip_bad, skipped)
        summary = summarize(rows, seconds, len(skipped))
        document = _document(predictor, rows, summary, skipped, target.mask_dir)
        written = target.commit(rows, document)
    except BaseException:
        target.abort()
        raise
    if json_out:
        print_json(document)
    elif out_path is None or target.is_file:
        _print_table(rows)
    _print_summary(predictor, summary)
    for path in written:
        err.print(f"Wrote {path}", highlight=False)


def _run(
    predictor: Predictor,
    paths: list[Path],
    target: Any,
    skip_bad: bool,
    skipped: list[str],
) -> tuple[list[Prediction], float]:
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

    from gensynth.cli._common import Progress

    def warn(text: str) -> None:
        err.print(f"[yellow]Warning:[/yellow] {_escape(text)}", highlight=False)

    def skip(bad: Any) -> None:
        skipped.append(bad.path)
        err.print(f"[yellow]Skipped[/yellow] {_escape(bad.message)}", highlight=False)

    columns = (TextColumn("predicting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    rows = []
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("predicting", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        start = time.perf_counter()
        for row in predictor.predict(
            paths, skip_bad=skip_bad, on_skip=skip, on_warning=warn, on_image=advance
        ):
            target.add(row)
            rows.append(_without_mask(row))
        seconds = time.perf_counter() - start
    return rows, seconds


def _without_mask(row: Prediction) -> Prediction:
    """The row without its mask array once the mask is staged: 1000 large masks held until
    the end would take gigabytes."""
    import dataclasses

    import numpy as np

    from gensynth.deploy import SegmentPrediction

    if isinstance(row, SegmentPrediction):
        return dataclasses.replace(row, mask=np.zeros((0, 0), np.uint8))
    return row


def _escape(text: str) -> str:
    return text.replace("[", r"\[")


def _document(
    predictor: Predictor,
    rows: list[Prediction],
    summary: dict[str, Any],
    skipped: list[str],
    mask_dir: str | None,
) -> dict[str, Any]:
    meta = predictor.metadata
    model = {
        "onnx": str(predictor.onnx_path),
        "task": meta.task,
        "class_names": list(meta.class_names),
        "preprocessing": meta.preprocessing.to_dict(),
        "spec_hash": meta.spec_hash,
        "backend": predictor.backend,
        "threads": predictor.threads,
        "batch": predictor.batch,
    }
    if meta.task == "segment":
        model["decision_rule"] = meta.describe_rule()
        model["pixel_threshold"] = meta.pixel_threshold
        model["area_threshold"] = meta.area_threshold
    predictions = []
    for row in rows:
        data = row.to_dict()
        if "mask_name" in data:
            name = data.pop("mask_name")
            data["mask"] = f"{mask_dir}/{name}" if mask_dir else None
        predictions.append(data)
    return {"model": model, "summary": {**summary, "skipped_files": skipped},
            "predictions": predictions}  # fmt: skip


def _print_table(rows: list[Prediction]) -> None:
    from rich.table import Table

    from gensynth.deploy import ClassPrediction, SegmentPrediction

    table = Table(box=None, pad_edge=False)
    table.add_column("image", overflow="fold")
    if rows and isinstance(rows[0], ClassPrediction):
        table.add_column("class")
        table.add_column("confidence", justify="right")
    else:
        table.add_column("verdict")
        table.add_column("defect area", justify="right")
    for row in rows:
        if isinstance(row, ClassPrediction):
            table.add_row(row.path, row.label, f"{100 * row.confidence:.1f}%")
        elif isinstance(row, SegmentPrediction):
            verdict = "[red]defect[/red]" if row.defect else "no defect"
            area = f"{row.defect_pixels} px ({row.defect_percent:.2f}%)"
            table.add_row(row.path, verdict, area)
    out.print(table)


def _print_summary(predictor: Predictor, summary: dict[str, Any]) -> None:
    meta = predictor.metadata
    speed = summary["images_per_second"]
    rate = f"{speed:.1f} images/s" if speed else "no image timed"
    counts = summary.get("per_class") or {}
    if meta.task == "segment":
        counts = {"defect": summary.get("defect", 0), "no defect": summary.get("no_defect", 0)}
    parts = ", ".join(f"{name} {count}" for name, count in counts.items())
    skipped = f", {summary['skipped']} skipped" if summary["skipped"] else ""
    err.print(
        f"{summary['images']} images{skipped} in {summary['seconds']:.2f} s: {rate} "
        f"(decode, preprocess and {predictor.backend} at batch {predictor.batch}, "
        f"{predictor.threads} thread(s))" + (f" · {parts}" if parts else ""),
        highlight=False,
    )
    if meta.task == "segment":
        err.print(f"Verdict: {_escape(meta.describe_rule())}", highlight=False)


predict_cmd.__doc__ = PREDICT_HELP

#: Top-level commands this module adds to the main app, by name.
COMMANDS: dict[str, Callable[..., Any]] = {"predict": predict_cmd}
