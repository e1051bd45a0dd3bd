"""Winners on real defect images against the hand designs, at the issue's operating points.

For each operating point and seed this runs the default ``gensynth explore`` (its budget
planner, search, finalists and selection rule, nothing tuned) on a real folder. The
explore trains the hand design (``plain``; for segmentation ``anet``) scaled into the same
band, with the same final recipe, as its reference finalist; this script reads both model
folders, times winner, hand design and the large baseline (ResNet-50; U-Net for
segmentation) side by side in one run at batch 1 and 64 with the deployment method, and
records for each:

- test accuracy, macro F1 and per-class recall (segmentation: per-class IoU, mIoU, Dice and
  the defect/no-defect decision sweep);
- parameters and MACs;
- ONNX Runtime CPU latency at batch 1 and 64, the speed-up over the large baseline and the
  MAC/s efficiency ratio against it;
- the wall time of the search and of the finishing stage (finalists, timing, export).

    python benchmarks/real_data.py --cls-data ../shared/data/x-sdd \\
        --seg-data ../shared/data/magnetic-tile --seeds 0,1,2
    python benchmarks/real_data.py --cls-data DIR --points cls-25M --seeds 1   # one piece
    python benchmarks/real_data.py --cls-data DIR --seg-data DIR --quick       # minutes
    python benchmarks/real_data.py --retime KEEP/cls-25M-seed1 --rounds 3      # timing only

``--retime`` times the winner and hand design of run folders kept with ``--keep`` again,
``--rounds`` times (on a quieter machine, say), and writes
``results/real_data_retime-<machine>.json``: a check of the latency figures of a run.

Runs are appended to ``results/real_data-<machine>.json`` (a rerun of the same point, seed,
data and code replaces its entry), so the points can be run in pieces; the table is printed
from everything in the file. Any folder ``gensynth data check`` accepts will do.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, machine_tag, write_results

from gensynth import provenance

#: name -> (task, MAC target). The issue's operating points.
POINTS = {"cls-100M": ("classify", "100M"), "cls-25M": ("classify", "25M"),
          "seg-440M": ("segment", "440M")}  # fmt: skip
BATCHES = (1, 64)
#: --quick: a few minutes per point on 2 cores, to check the script, not to measure.
QUICK = {"trials": 3, "epochs": 1, "final_epochs": 2, "finalists": 1, "proxy_samples": 240}


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cls-data", help="a classification folder")
    parser.add_argument("--seg-data", help="a segmentation folder (with masks)")
    parser.add_argument("--points", default=",".join(POINTS), help="e.g. cls-100M,seg-440M")
    parser.add_argument("--seeds", default="0", help="e.g. 0,1,2")
    parser.add_argument("--budget", default=None, help="explore --budget (default: planned)")
    parser.add_argument("--quick", action="store_true", help="tiny budgets: a smoke run")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--keep", default=None, help="keep the run folders here")
    parser.add_argument(
        "--retime",
        nargs="+",
        default=None,
        metavar="FOLDER",
        help="only time again the winner and hand design of kept run folders",
    )
    parser.add_argument("--rounds", type=int, default=3, help="--retime: timings per folder")
    return parser.parse_args()


def run_point(point: str, seed: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from gensynth.exploration import explore
    from gensynth.search.study_spec import ExploreOptions, resolve_options

    task, flops = POINTS[point]
    data = args.cls_data if task == "classify" else args.seg_data
    name = f"{point}-seed{seed}"
    extra = dict(QUICK) if args.quick else {}
    spec = resolve_options(
        ExploreOptions(
            task=task, data=data, flops=flops, seed=seed, threads=args.threads,
            study=name, storage=f"journal:///{work}/{name}.log", out=str(work / name),
            budget=args.budget, **extra,
        )
    )  # fmt: skip
    load_before = os.getloadavg()
    started = time.perf_counter()
    result = explore(spec, baseline=False)
    wall = time.perf_counter() - started
    assert result.final is not None
    out = Path(spec.out)
    row = {
        "point": point, "task": task, "flops": flops, "seed": seed, "data": data,
        "fingerprint": result.session.data.fingerprint,
        "plan": result.session.plan.to_json(),
        "wall_s": wall, "search_s": _search_seconds(result.session.study),
        "loadavg_before": list(load_before), "loadavg_after": list(os.getloadavg()),
        "winner": _model_row(out / "best", result.final.winner.origin),
        "hand": _model_row(out / "reference", "reference"),
        "winner_is_hand": result.final.winner.origin == "reference",
        "selection": result.final.metrics.get("selection"),
        "git_sha": provenance.git_sha(),
    }  # fmt: skip
    row["finish_s"] = wall - row["search_s"]
    row["latency"] = _latency(out, task, args.threads)
    return row


def _search_seconds(study: Any) -> float:
    trials = [t for t in study.get_trials(deepcopy=False) if t.datetime_complete]
    if not trials:
        return 0.0
    start = min(t.datetime_start for t in trials if t.datetime_start)
    return (max(t.datetime_complete for t in trials) - start).total_seconds()


def _model_row(folder: Path, origin: str) -> dict[str, Any]:
    metrics = json.loads((folder / "metrics.json").read_text())
    test = metrics["test"]
    row = {"origin": origin, "spec": metrics["spec"], "params": metrics["params"],
           "macs": metrics["macs"], "val": metrics["val"].get(metrics["metric"])}  # fmt: skip
    if metrics["task"] == "classify":
        row.update(accuracy=test["accuracy"], macro_f1=test["macro_f1"],
                   recall={k: v["recall"] for k, v in test["per_class"].items()})  # fmt: skip
    else:
        row.update(miou=test["miou"], dice=test.get("dice"),
                   iou={k: v.get("iou") for k, v in test["per_class"].items()},
                   decision=test.get("decision"))  # fmt: skip
    return row


def _latency(out: Path, task: str, threads: int | None) -> dict[str, Any]:
    """Winner, hand design and the large baseline side by side, at each batch size."""
    from gensynth.backends import compare_latency
    from gensynth.bench_targets import baseline_model, load_bench_model

    winner, hand = load_bench_model(out / "best"), load_bench_model(out / "reference")
    large = baseline_model("resnet50" if task == "classify" else "unet", winner.spec)
    models = [winner, hand, large]
    figures: dict[str, Any] = {}
    for batch in BATCHES:
        from gensynth.backends import TimedModel

        items = [TimedModel(m.module, m.spec.input_shape, m.macs, m.label) for m in models]
        run = compare_latency(items, batch=batch, threads=threads)
        figures[str(batch)] = {
            "winner_ms": run.results[0].median_ms,
            "hand_ms": run.results[1].median_ms,
            "large_ms": run.results[2].median_ms,
            "large": large.label,
            "speedup_vs_hand": run.speedups[0].speedup,
            "speedup_vs_large": run.speedups[1].speedup,
            "hand_speedup_vs_large": run.results[2].median_ms / run.results[1].median_ms,
            "efficiency_vs_large": _efficiency(run.results[0], run.results[2]),
            "hand_efficiency_vs_large": _efficiency(run.results[1], run.results[2]),
            "winner_gmacs": run.results[0].gmacs_per_s,
            "hand_gmacs": run.results[1].gmacs_per_s,
            "loaded": run.loaded,
            "spreads": [r.block_spread for r in run.results],
            "detail": run.to_dict(),
        }
    return figures


def _efficiency(mine: Any, theirs: Any) -> float | None:
    if mine.macs_per_s is None or theirs.macs_per_s is None:
        return None
    return mine.macs_per_s / theirs.macs_per_s


def _merge(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Earlier runs from the results file, with the same point, seed and data replaced."""
    path = RESULTS / f"real_data-{machine_tag()}.json"
    earlier = json.loads(path.read_text()).get("runs", []) if path.exists() else []
    key = lambda r: (r["point"], r["seed"], r["fingerprint"])  # noqa: E731
    fresh = {key(r) for r in runs}
    return [r for r in earlier if key(r) not in fresh] + runs


def _mean(values: list[float]) -> str:
    if not values:
        return "-"
    spread = f" ± {statistics.stdev(values):.2f}" if len(values) > 1 else ""
    return f"{statistics.mean(values):.2f}{spread}"


def print_table(runs: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Real data: the default explore winner against the hand design")
    for column in ("point", "data", "seeds", "winner metric", "hand metric", "winner = hand",
                   "params w/h", "b1 ms w/h/large", "b64 ms w/h/large", "× large b1/b64",
                   "effic. b1/b64", "wall min"):  # fmt: skip
        table.add_column(column)
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["point"], run["fingerprint"]), []).append(run)
    for (point, _), group in sorted(groups.items()):
        metric = "accuracy" if group[0]["task"] == "classify" else "miou"
        b1 = [r["latency"]["1"] for r in group]
        b64 = [r["latency"]["64"] for r in group]
        table.add_row(
            point, Path(str(group[0]["data"])).name, ",".join(str(r["seed"]) for r in group),
            _mean([r["winner"][metric] for r in group]), _mean([r["hand"][metric] for r in group]),
            f"{sum(r['winner_is_hand'] for r in group)}/{len(group)}",
            f"{_mean([r['winner']['params'] / 1e3 for r in group])}K / "
            f"{_mean([r['hand']['params'] / 1e3 for r in group])}K",
            "/".join(_mean([b[k] for b in b1]) for k in ("winner_ms", "hand_ms", "large_ms")),
            "/".join(_mean([b[k] for b in b64]) for k in ("winner_ms", "hand_ms", "large_ms")),
            f"{_mean([b['speedup_vs_large'] for b in b1])} / "
            f"{_mean([b['speedup_vs_large'] for b in b64])}",
            f"{_mean([b['efficiency_vs_large'] for b in b1])} / "
            f"{_mean([b['efficiency_vs_large'] for b in b64])}",
            _mean([r["wall_s"] / 60 for r in group]),
        )  # fmt: skip
    Console(width=220).print(table)


def retime(folders: list[str], rounds: int, threads: int | None) -> None:
    """Time kept run folders again, ``rounds`` times each (see the module docstring)."""
    entries = []
    for folder in map(Path, folders):
        task = json.loads((folder / "best" / "metrics.json").read_text())["task"]
        for round_ in range(1, rounds + 1):
            load = os.getloadavg()
            figures = _latency(folder, task, threads)
            entries.append({"folder": str(folder), "round": round_, "loadavg_before": list(load),
                            "latency": figures})  # fmt: skip
            parts = [f"b{b} winner {f['winner_ms']:.3f} / hand {f['hand_ms']:.3f} ms"
                     + (" busy" if f["loaded"] else "") for b, f in figures.items()]  # fmt: skip
            print(f"{folder.name} round {round_} (load {load[0]:.2f}): {'; '.join(parts)}")
    print(f"wrote {write_results('real_data_retime', {'runs': entries})}")


def main() -> None:
    args = _args()
    if args.retime:
        retime(args.retime, args.rounds, args.threads)
        return
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        for point in [p.strip() for p in args.points.split(",") if p.strip()]:
            task, _ = POINTS[point]
            if (args.cls_data if task == "classify" else args.seg_data) is None:
                print(
                    f"{point}: skipped (no {'--cls-data' if task == 'classify' else '--seg-data'})"
                )
                continue
            for seed in [int(s) for s in args.seeds.split(",")]:
                run = run_point(point, seed, args, work)
                runs.append(run)
                metric = "accuracy" if task == "classify" else "miou"
                print(
                    f"{point} seed {seed}: winner {run['winner'][metric]:.2f} vs hand "
                    f"{run['hand'][metric]:.2f} in {run['wall_s'] / 60:.1f} min",
                    flush=True,
                )
                if not args.quick:  # keep what is done, even if a later point fails
                    write_results("real_data", {"runs": _merge(runs)})
    name = "real_data-quick" if args.quick else "real_data"
    merged = runs if args.quick else _merge(runs)
    print_table(merged)
    print(f"wrote {write_results(name, {'runs': merged, 'settings': vars(args)})}")


if __name__ == "__main__":
    main()
