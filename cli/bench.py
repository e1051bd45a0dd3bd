"""`gensynth bench`: latency on real backends, side by side with a reference net.

Each model runs in its own session, alone, timed in alternating blocks; every figure carries
its runtime settings and load, and a figure measured under load is marked.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gensynth.cli._common import JsonOpt, err, out, print_json

if TYPE_CHECKING:
    from gensynth.backends import BenchReport

DEFAULT_BACKENDS = "torch-cpu,onnxruntime-cpu"


def bench_cmd(
    target: Annotated[
        Path, typer.Argument(help="A model folder (its weights) or a SPEC.yaml (fresh weights).")
    ],
    backends: Annotated[
        str | None,
        typer.Option(
            "--backends",
            help=f"Comma-separated backend names \\[default: {DEFAULT_BACKENDS}; "
            "onnxruntime-cpu with --int8, which also takes openvino].",
        ),
    ] = None,
    batch: Annotated[str, typer.Option("--batch", help="Comma-separated batch sizes.")] = "1",
    threads: Annotated[
        str | None,
        typer.Option(
            "--threads",
            help=r"Comma-separated CPU thread counts, each timed, e.g. 1,2 \[default: all "
            "usable cores].",
        ),
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            "--baseline",
            help="Reference nets timed in the same run, e.g. resnet50 or plain,resnet50 "
            "(plain and anet are scaled to the model's MACs).",
        ),
    ] = None,
    repeats: Annotated[
        str | None, typer.Option("--repeats", help="Timed runs at least (default 20, min 5).")
    ] = None,
    int8: Annotated[
        bool,
        typer.Option(
            "--int8",
            help="Also time MODEL_DIR/model.int8.onnx (gensynth export --int8) and each "
            "baseline's INT8 model (random calibration: timing only), on onnxruntime-cpu "
            "(or openvino); the INT8 model comes first, and every other row says how many "
            "times faster it is.",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Median and p90 latency, throughput and compute efficiency per backend, threads, batch.

    Each model is timed alone in its own session, in alternating blocks with the baseline;
    the median is the median of the block medians, "spread" how far the blocks disagree.

    Example: gensynth bench runs/best --batch 1,64 --threads 1,2 --baseline resnet50 [--int8]
    """
    from rich.markup import escape

    from gensynth.backends import run_bench
    from gensynth.bench_targets import baseline_model, load_bench_model
    from gensynth.constraints.quantities import parse_int_list

    names = _backend_names(backends or ("onnxruntime-cpu" if int8 else DEFAULT_BACKENDS))
    if int8:
        from gensynth.deploy.int8_bench import check_int8_backends

        check_int8_backends(names)
    batches = parse_int_list(batch, what="--batch")
    n_threads = None if threads is None else parse_int_list(threads, what="--threads")
    timing = _timing(repeats)
    models = [load_bench_model(target)]
    for name in _baseline_names(baseline):
        base = baseline_model(name, models[0].spec)
        if base.label == models[0].label:
            base.label = f"{base.label} (baseline)"
        models.append(base)
    if int8:
        from gensynth.deploy.int8_bench import int8_bench_models

        with err.status("Quantizing the INT8 models"):
            models = int8_bench_models(models, target)
    report = _run_with_progress(run_bench, models, names, batches, n_threads, timing)
    for name, reason in report.skipped.items():
        err.print(f"[yellow]Skipped[/yellow] {name}: {escape(reason)}", highlight=False)
    if json_out:
        print_json(report.to_dict())
    else:
        _print_table(report)
        if int8:
            err.print(
                f"INT8: '{models[0].label}' is the model compared; each other row says how "
                "many times faster it is than that row. Baselines' INT8 models are calibrated "
                "on random inputs (timing only).",
                highlight=False,
            )


def _baseline_names(text: str | None) -> list[str]:
    from gensynth.errors import ConfigError

    if text is None:
        return []
    names = list(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise ConfigError(f"--baseline: expected names like resnet50 or plain, got {text!r}")
    return names


def _backend_names(text: str) -> list[str]:
    """The names in ``--backends``; unknown ones fail now, before anything is built."""
    from gensynth.backends import BACKENDS
    from gensynth.errors import ConfigError

    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ConfigError(f"--backends: expected names like {DEFAULT_BACKENDS}, got {text!r}")
    for name in names:
        BACKENDS.get(name)
    return names


def _timing(repeats: str | None) -> dict[str, Any]:
    from gensynth.backends import MIN_REPEATS
    from gensynth.constraints.quantities import parse_positive_int
    from gensynth.errors import ConfigError

    if repeats is None:
        return {}
    count = parse_positive_int(repeats, what="--repeats")
    if count < MIN_REPEATS:
        raise ConfigError(f"--repeats: expected at least {MIN_REPEATS}, got {repeats!r}")
    return {"repeats": count}


def _run_with_progress(
    run: Callable[..., BenchReport],
    models: list[Any],
    names: list[str],
    batches: list[int],
    threads: list[int] | None,
    timing: dict[str, Any],
) -> BenchReport:
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn

    from gensynth.cli._common import Progress

    total = len(names) * len(batches) * len(threads or [None])
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("Preparing", total=total)

        def step(label: str) -> None:
            if progress.tasks[task].description != "Preparing":
                progress.advance(task)
            progress.update(task, description=f"Timing {label}")

        return run(models, names, batches, threads=threads, timing=timing, on_step=step)


def _print_table(report: BenchReport) -> None:
    from rich import box
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table

    from gensynth.provenance import machine

    ratios = {(c.backend, c.threads, c.batch, c.baseline): c for c in report.comparisons}
    single = len(report.models) == 1
    what = f"{report.models[0].label}: latency" if single else "Latency"
    table = Table(
        title=f"{what} on {machine()['cpu']}; ms per batch, median of block medians",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    headers = (
        ([] if single else ["model"])
        + ["backend", "thr", "batch", "median", "p90", "spread", "ms/img", "img/s", "MACs"]
        + ["GMAC/s"]
        + (["model is", "blocks", "effic."] if ratios else [])
        + ["load"]
    )
    for header in headers:
        table.add_column(
            header, justify="left" if header in ("model", "backend") else "right", no_wrap=True
        )
    for row in report.rows:
        table.add_row(*_cells(row, report, ratios, single))
    # Never truncate figures: a narrow terminal wraps the lines instead.
    natural = Measurement.get(out, out.options.update_width(10_000), table).maximum
    Console(width=max(out.width, natural), soft_wrap=True).print(table)
    _print_notes(report)


def _print_notes(report: BenchReport) -> None:
    """The runtime settings of each backend, and why figures marked busy were under load."""
    from rich.markup import escape

    seen: dict[str, str] = {}
    for row in report.rows:
        if row.result.settings is not None:
            # The thread count has its own column; the rest is the same for every row.
            rest = row.result.settings.describe().split(", ")[1:]
            if rest:
                seen.setdefault(row.result.backend, ", ".join(rest))
    for backend, text in seen.items():
        err.print(f"Settings {backend}: {escape(text)}", highlight=False)
    busy = [row.result for row in report.rows if row.result.loaded]
    if busy:
        err.print(
            f"[yellow]Note:[/yellow] {len(busy)} of {len(report.rows)} figures (load 'busy') "
            f"were measured under load: {escape(_load_summary(busy))}. Rerun on a quiet "
            "machine before quoting them.",
            highlight=False,
        )


def _load_summary(results: list[Any]) -> str:
    """The worst of each load signal over ``results``, in a few words."""
    from gensynth.backends import SPREAD_LIMIT

    parts = []
    others = [r.load.others_cpu for r in results if r.load and r.load.others_cpu is not None]
    if others:
        parts.append(f"other processes used up to {max(others):.0%} of the CPU")
    spread = max(r.block_spread for r in results)
    if spread > SPREAD_LIMIT:
        parts.append(f"blocks spread up to {spread:.0%} (quiet: <= {SPREAD_LIMIT:.0%})")
    before = max(r.load.load_avg_before[0] for r in results if r.load)
    parts.append(f"load average up to {before:.2f} before timing")
    return "; ".join(parts)


def _cells(row: Any, report: BenchReport, ratios: dict[Any, Any], single: bool) -> list[str]:
    """One table row: the figures of one model on one backend, thread count and batch."""
    from gensynth.constraints.quantities import format_count

    r = row.result
    cells = ([] if single else [row.label]) + [
        r.backend,
        str(r.threads),
        str(r.batch),
        f"{r.median_ms:.3f}",
        f"{r.p90_ms:.3f}",
        f"{r.block_spread:.0%}",
        f"{r.per_image_ms:.3f}",
        f"{r.images_per_s:,.0f}",
        format_count(r.macs or 0),
        _num(r.gmacs_per_s, ".1f"),
    ]
    load = "busy" if r.loaded else "quiet"
    if not ratios:
        return [*cells, load]
    # Each baseline's row says how many times faster the first model is than it.
    ratio = ratios.get((r.backend, r.threads, r.batch, row.label))
    if ratio is None:
        return [*cells, "", "", "", load]
    low, high = min(ratio.block_speedups), max(ratio.block_speedups)
    return [
        *cells,
        f"{ratio.speedup:.2f}x faster"
        if ratio.speedup >= 1
        else f"{1 / ratio.speedup:.2f}x slower",
        f"{low:.2f}-{high:.2f}",
        _num(ratio.efficiency_ratio, ".2f"),
        load,
    ]


def _num(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


#: Top-level commands this module adds to the main app, by name.
COMMANDS: dict[str, Callable[..., Any]] = {"bench": bench_cmd}
