"""`gensynth explore`: search for a network that meets the limits, then train and ship it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from gensynth.cli._common import JsonOpt, OverwriteOpt, SkipBadOpt, TaskChoice, err, print_json

_EXAMPLES = """

Examples:

gensynth explore --flops 100M

gensynth explore --task segment --flops 440M --trials 20 --epochs 4

gensynth explore --latency 2ms --backend onnxruntime-cpu --data ./NEU-CLS

gensynth explore --config study.yaml --storage journal:///shared/studies.log --workers 2

MACs are multiply-accumulates: conv + linear, batch norm folded (gensynth constraints check -h).

Rerunning the same command resumes the study; finished trials are kept.
"""

Opt = typer.Option


def explore_cmd(
    task: Annotated[TaskChoice | None, Opt("--task", help="classify or segment.")] = None,
    data: Annotated[
        str | None, Opt("--data", help="'synthetic' (default) or a folder in any known format.")
    ] = None,
    data_format: Annotated[
        str | None, Opt("--format", help="Force the data layout (see gensynth data check).")
    ] = None,
    prototype: Annotated[
        str | None, Opt("--prototype", help="Design space (gensynth prototypes list).")
    ] = None,
    input_size: Annotated[int | None, Opt("--input-size", help="Input side in px (200).")] = None,
    channels: Annotated[
        int | None, Opt("--channels", help="1: grey (default); 3: RGB, colour kept.")
    ] = None,
    resize: Annotated[
        str | None, Opt("--resize", help="stretch (default), or keep the aspect: pad, crop.")
    ] = None,
    split: Annotated[
        str | None, Opt("--split", help="CSV of path,split rows: a fixed train/val/test split.")
    ] = None,
    device: Annotated[
        str | None, Opt("--device", help="Training device: auto (CUDA if seen), cpu, cuda.")
    ] = None,
    flops: Annotated[str | None, Opt("--flops", help="MAC target, e.g. 100M or 0.44G.")] = None,
    tolerance: Annotated[str | None, Opt("--tolerance", help="Band around --flops (5%).")] = None,
    params_max: Annotated[
        str | None, Opt("--params-max", help="Parameter cap, e.g. 500K.")
    ] = None,
    latency: Annotated[str | None, Opt("--latency", help="Latency budget, e.g. 2ms.")] = None,
    backend: Annotated[
        str | None, Opt("--backend", help="Backend the latency is measured on.")
    ] = None,
    batch: Annotated[int | None, Opt("--batch", help="Batch size for latency (1).")] = None,
    threads: Annotated[
        int | None, Opt("--threads", help="CPU threads for training/timing.")
    ] = None,
    objectives: Annotated[
        str | None,
        Opt("--objectives", help="netscore (default), or a Pareto pair: accuracy,macs."),
    ] = None,
    trials: Annotated[
        int | None, Opt("--trials", help="Completed trials to reach (10; seg 8).")
    ] = None,
    budget: Annotated[
        str | None,
        Opt("--budget", help="Planned time of the whole run, e.g. 60m; off: fixed defaults."),
    ] = None,
    timeout: Annotated[
        str | None,
        Opt("--timeout", help="Stop the search after, e.g. 30m (planned); off: no limit."),
    ] = None,
    epochs: Annotated[
        int | None, Opt("--epochs", help="Proxy epochs per candidate (4; seg 3).")
    ] = None,
    proxy_size: Annotated[
        int | None, Opt("--proxy-size", help="Proxy training resolution (96).")
    ] = None,
    proxy_samples: Annotated[
        int | None, Opt("--proxy-samples", help="Train candidates on a subset (all).")
    ] = None,
    final_epochs: Annotated[
        int | None, Opt("--final-epochs", help="Full training of each finalist (0: none).")
    ] = None,
    finalists: Annotated[
        int | None, Opt("--finalists", help="Best candidates trained in full (3; seg 2).")
    ] = None,
    accuracy_min: Annotated[
        str | None,
        Opt("--accuracy-min", help="Required validation accuracy (mIoU), e.g. 99%."),
    ] = None,
    promote: Annotated[
        int | None,
        Opt("--promote", help="Best candidates proxy-trained 3x longer before the finals (0)."),
    ] = None,
    accuracy_slack: Annotated[
        str | None,
        Opt(
            "--accuracy-slack",
            help="Accept a faster winner up to this far below the reference, e.g. 1pt (0).",
        ),
    ] = None,
    study: Annotated[str | None, Opt("--study", help="Study name (from task and limits).")] = None,
    storage: Annotated[
        str | None,
        Opt("--storage", help="sqlite:///gensynth.db (default), journal:///, postgresql://"),
    ] = None,
    artifacts: Annotated[
        str | None, Opt("--artifacts", help="Folder for weights (beside the study file).")
    ] = None,
    engine: Annotated[str | None, Opt("--engine", help="local (default), workers or ray.")] = None,
    workers: Annotated[int | None, Opt("--workers", help="Parallel trial workers (1).")] = None,
    ray_address: Annotated[str | None, Opt("--ray-address", help="Ray cluster address.")] = None,
    strategy: Annotated[
        str | None, Opt("--strategy", help="generative (default), tpe or random.")
    ] = None,
    seed: Annotated[int | None, Opt("--seed", help="The one seed (0).")] = None,
    out_dir: Annotated[str | None, Opt("--out", help="Output folder (gensynth-out).")] = None,
    config: Annotated[
        Path | None, Opt("--config", help="A study.yaml; flags override it.")
    ] = None,
    force_resume: Annotated[
        bool, Opt("--force-resume", help="Continue a study made with other settings.")
    ] = False,
    no_baseline: Annotated[
        bool, Opt("--no-baseline", help="Skip timing the ResNet-50/U-Net baseline.")
    ] = False,
    int8: Annotated[
        bool | None,
        Opt(
            "--int8",
            help="Also quantize the winner to INT8 (model.int8.onnx, calibrated on training "
            "images) and score it on the test split beside FP32.",
        ),
    ] = None,
    int8_max_drop: Annotated[
        float | None,
        Opt("--int8-max-drop", help="Test points INT8 may lose against FP32 (1.0)."),
    ] = None,
    skip_bad: SkipBadOpt = False,
    overwrite: OverwriteOpt = False,
    json_out: JsonOpt = False,
) -> None:
    """Search for a network within the limits, then train, export and time the winner."""
    from gensynth.exploration import explore
    from gensynth.search.study_spec import ExploreOptions, resolve_options

    given = ExploreOptions(
        task=task.value if task else None, data=data, format=data_format, prototype=prototype,
        input_size=input_size, channels=channels, resize=resize, split=split, device=device,
        flops=flops, tolerance=tolerance, params_max=params_max,
        latency=latency, backend=backend, batch=batch, threads=threads, objectives=objectives,
        trials=trials, budget=budget, timeout=timeout, epochs=epochs, proxy_size=proxy_size,
        proxy_samples=proxy_samples,
        final_epochs=final_epochs, finalists=finalists, accuracy_min=accuracy_min,
        accuracy_slack=accuracy_slack, promote=promote,
        study=study, storage=storage, artifacts=artifacts,
        engine=engine, workers=workers, ray_address=ray_address,
        strategy=strategy, seed=seed, out=out_dir, skip_bad=skip_bad or None,
        int8=int8, int8_max_drop=int8_max_drop,
    )  # fmt: skip
    base = ExploreOptions.from_file(config) if config is not None else ExploreOptions()
    spec = resolve_options(base.merged(given))
    from gensynth.cli._explore_view import RichExploreView, print_result

    try:
        with RichExploreView(baseline=not no_baseline) as view:
            result = explore(
                spec, view, force_resume=force_resume, overwrite=overwrite,
                baseline=not no_baseline,
            )  # fmt: skip
    except KeyboardInterrupt:
        err.print(
            "[yellow]Interrupted.[/yellow] Finished trials are saved in the study; rerun the "
            "same command to resume."
        )
        raise typer.Exit(130) from None
    if json_out:
        print_json(_summary(result))
    else:
        print_result(result)
    _int8_verdict(result, quiet=json_out)


def _int8_verdict(result: Any, *, quiet: bool) -> None:
    """With --int8: the INT8 line, and exit 3 when INT8 lost more than the threshold."""
    from gensynth.deploy.int8 import Int8Rejected

    record = (result.final.metrics if result.final else {}).get("int8")
    if not record:
        return
    if not quiet:
        speed = record.get("latency")
        faster = (
            f"; {speed['speedup']:.2f}x faster than FP32 at batch {speed['batch']}, "
            f"{speed['threads']} thread(s), {speed['backend']}"
            if speed
            else ""
        )
        err.print(
            f"INT8 ({record['file']}): test {record['metric']} FP32 {record['fp32']:.2f}% -> "
            f"INT8 {record['int8']:.2f}%, {record['verdict']}{faster}",
            highlight=False,
        )
    if not record["passed"]:
        raise Int8Rejected(
            f"INT8 rejected: the winner lost {record['drop_points']:.2f} test points "
            f"(FP32 {record['fp32']:.2f}% -> INT8 {record['int8']:.2f}%), over the "
            f"{record['max_drop_points']:g}-point threshold; {record['file']} is kept but "
            "marked failed in metrics.json",
            hint="deploy model.onnx (FP32), or raise --int8-max-drop if the drop is acceptable",
        )


def _summary(result: Any) -> dict[str, Any]:
    final = result.final
    return {
        "study": result.session.spec.study_name,
        "completed": result.completed,
        "seconds": round(result.seconds, 1),
        "spec": result.session.spec.to_dict(),
        "leaderboard": [row.to_dict() for row in (final.leaderboard if final else [])],
        "winner": None
        if final is None
        else {"trial": final.winner.number, "model_dir": str(final.model_dir), **final.metrics},
    }


explore_cmd.__doc__ = (explore_cmd.__doc__ or "") + _EXAMPLES

#: Top-level commands this module adds to the main app, by name.
COMMANDS: dict[str, Callable[..., Any]] = {"explore": explore_cmd}
