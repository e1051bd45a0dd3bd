"""The hand design's front: accuracy against measured latency, the line a search must beat.

For each MAC budget this scales the task's hand design (``plain``; for segmentation
``anet``) into the budget exactly as ``explore`` scales its reference (the generator's
``reference()``: the design repaired into the MACs band, ± the default tolerance), trains it
with the full recipe the finals use (``TrainConfig.full``: EMA, cosine schedule,
augmentation; ``--epochs``/``--time-budget`` lower the recipe's epochs or wall-clock bound
to fit the session, and the results say so), tests it once on the test split, and then
times every trained net beside the large baseline (ResNet-50; U-Net for segmentation) in
one side-by-side run per batch size (1 and 64), in a fresh process, with ONNX Runtime CPU
(``compare_latency_fresh``, the finals' method).

    python benchmarks/plain_front.py --data ../shared/data/x-sdd --seeds 0 \\
        --out ../notes/front/x-sdd
    python benchmarks/plain_front.py --task segment --data ../shared/data/magnetic-tile \\
        --budgets 110M,220M,440M --out ../notes/front/magnetic-tile
    python benchmarks/plain_front.py --plot-only        # the figure from the results file

Each model folder is ``OUT/<design>-<budget>`` (``-seed<N>`` for seeds other than 0) and is
reused when it already holds a model of the same spec, seed and recipe (``--retrain``
trains again). Results go to ``results/plain_front-<machine>.json`` (a rerun of the same
data, budget and seed replaces its entry) and the plot to ``docs/images/plain_front.png``:
test accuracy (mIoU) against batch-1 latency, one curve per data set, mean over seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, machine_tag, write_results

from gensynth import provenance

BUDGETS = {"classify": "100M,50M,25M,12M,6M", "segment": "440M,220M,110M"}
BATCHES = (1, 64)
PLOT = Path(__file__).resolve().parents[1] / "docs" / "images" / "plain_front.png"


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a classification or segmentation folder")
    parser.add_argument("--task", default="classify", choices=("classify", "segment"))
    parser.add_argument("--budgets", default=None, help="MAC budgets, e.g. 100M,25M,6M")
    parser.add_argument("--seeds", default="0", help="e.g. 0,1,2")
    parser.add_argument("--epochs", type=int, default=None, help="default: the full recipe's")
    parser.add_argument(
        "--time-budget", type=float, default=None, help="seconds per net (default: recipe's)"
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=None, help="keep the model folders here")
    parser.add_argument("--retrain", action="store_true", help="train again, even if kept")
    parser.add_argument("--no-time", action="store_true", help="skip the latency runs")
    parser.add_argument("--plot-only", action="store_true", help="only draw the figure")
    parser.add_argument("--quick", action="store_true", help="smoke run: no results file")
    return parser.parse_args()


def scaled_reference(task: str, data: Any, budget: str, source: str) -> tuple[Any, str | None]:
    """The hand design scaled into ``budget`` MACs the way ``explore`` scales its reference,
    and a note when that cannot reach the budget.

    ``explore``'s repair scales widths, strides stages earlier and drops blocks; below about
    24M MACs at 200 px ``plain`` is too costly even so (its stages are one block deep and at
    least 16 wide). Then the stem's 3x3 max-pool is switched on (the ResNet stem's
    downsampling) and the same repair runs again; the row says so.
    """
    import dataclasses

    from gensynth.constraints import repair
    from gensynth.errors import ConfigError
    from gensynth.prototypes import get_reference
    from gensynth.search.generator import Generator
    from gensynth.search.selection import REFERENCE
    from gensynth.search.study_spec import ExploreOptions, resolve_options

    spec = resolve_options(ExploreOptions(task=task, data=source, flops=budget, trials=1))
    io = {"in_channels": getattr(data, "channels", 1), "input_size": data.input_size,
          "num_classes": data.num_classes if task == "classify" else 1}  # fmt: skip
    proposal = Generator(spec, **io).reference()
    if proposal.feasible:
        return proposal.spec, None
    design = get_reference(REFERENCE[task]).spec(**io)
    stem = getattr(design, "stem", None)
    band = spec.limits.band
    if stem is not None and hasattr(stem, "pool") and not stem.pool and band is not None:
        pooled = dataclasses.replace(design, stem=dataclasses.replace(stem, pool=True))
        result = repair(pooled, band, params_max=spec.params_max)
        if result.feasible:
            note = "explore's repair cannot reach this budget; stem max-pool switched on"
            return result.spec, note
    raise ConfigError(f"the hand design cannot be scaled into {budget}: {proposal.reason}")


def train_one(
    task: str, data: Any, budget: str, seed: int, args: argparse.Namespace, out: Path
) -> dict[str, Any]:
    """Train (or reuse) the hand design at ``budget``; its row without latency."""
    from gensynth.search.selection import REFERENCE
    from gensynth.training import TrainConfig, train_to_dir

    name = REFERENCE[task]
    spec, scaling_note = scaled_reference(task, data, budget, args.data)
    overrides: dict[str, Any] = {"seed": seed, "threads": args.threads}
    if args.epochs is not None:
        overrides["epochs"] = args.epochs
    if args.time_budget is not None:
        overrides["time_budget"] = args.time_budget
    config = TrainConfig.full(task, **overrides)
    folder = out / (f"{name}-{budget}" + (f"-seed{seed}" if seed else ""))
    metrics_path = folder / "metrics.json"
    load_before = os.getloadavg()
    reused = False
    if metrics_path.exists() and not args.retrain:
        kept = json.loads(metrics_path.read_text())
        recipe = ("epochs", "time_budget", "seed", "lr", "batch_size", "ema_window")
        training = kept.get("training") or {}
        reused = kept.get("spec_hash") == spec.spec_hash and all(
            training.get(key) == getattr(config, key) for key in recipe
        )
    if reused:
        metrics = json.loads(metrics_path.read_text())
    else:
        folder.mkdir(parents=True, exist_ok=True)
        metrics = train_to_dir(spec, data, config, folder, data_source=args.data)
    test, val = metrics["test"], metrics["val"]
    row: dict[str, Any] = {
        "design": name, "budget": budget, "seed": seed, "task": task, "data": args.data,
        "data_name": Path(args.data).name, "fingerprint": data.fingerprint,
        "folder": str(folder), "spec": metrics["spec"], "spec_hash": spec.spec_hash,
        "scaling_note": scaling_note,
        "params": metrics["params"], "macs": metrics["macs"],
        "val": val.get(metrics["metric"]), "metric": metrics["metric"],
        "epochs_planned": config.epochs, "time_budget_s": config.time_budget,
        "epoch_plan": metrics.get("epoch_plan"), "best_epoch": metrics.get("best_epoch"),
        "epochs_run": len(metrics.get("history") or []),
        "train_s": metrics["timings"]["train_seconds"], "reused": reused,
        "loadavg_before": list(load_before), "loadavg_after": list(os.getloadavg()),
        "git_sha": provenance.git_sha(),
    }  # fmt: skip
    if task == "classify":
        row.update(accuracy=test["accuracy"], macro_f1=test["macro_f1"])
    else:
        row.update(miou=test["miou"], dice=test.get("dice"))
    return row


def time_front(rows: list[dict[str, Any]], task: str, threads: int | None) -> dict[str, Any]:
    """Every net of the front and the large baseline side by side, per batch, fresh process."""
    from gensynth.backends import FreshModel, compare_latency_fresh
    from gensynth.constraints import count_costs
    from gensynth.modeldir import load_model_dir
    from gensynth.prototypes import reference_spec
    from gensynth.search.selection import BASELINE
    from gensynth.vocabulary import WEIGHTS_FILE

    items = []
    for row in rows:
        spec = load_model_dir(Path(row["folder"])).spec
        items.append(FreshModel(spec, Path(row["folder"]) / WEIGHTS_FILE, row["macs"],
                                f"{row['design']}-{row['budget']}-s{row['seed']}"))  # fmt: skip
    like = items[0].spec
    large = reference_spec(
        BASELINE[task], in_channels=like.in_channels, input_size=like.input_size,
        num_classes=like.num_classes,
    )  # fmt: skip
    items.append(FreshModel(large, None, int(count_costs(large).macs), BASELINE[task]))
    runs: dict[str, Any] = {}
    for batch in BATCHES:
        load = os.getloadavg()
        comparison = compare_latency_fresh(items, backend="onnxruntime-cpu", batch=batch,
                                           threads=threads)  # fmt: skip
        large_ms = comparison.results[-1].median_ms
        for row, result in zip(rows, comparison.results, strict=False):
            row.setdefault("latency", {})[str(batch)] = {
                "ms": result.median_ms, "p90_ms": result.p90_ms,
                "spread": result.block_spread, "loaded": result.loaded,
                "large_ms": large_ms, "speedup_vs_large": large_ms / result.median_ms,
                "gmacs": result.gmacs_per_s,
            }  # fmt: skip
        runs[str(batch)] = {"loadavg_before": list(load), "large": BASELINE[task],
                            "large_ms": large_ms, "detail": comparison.to_dict()}  # fmt: skip
        print(f"batch {batch}: timed {len(items)} nets (load {load[0]:.2f}), "
              f"{BASELINE[task]} {large_ms:.2f} ms", flush=True)  # fmt: skip
    return runs


def _merge(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Earlier rows of the results file, with the same data, budget and seed replaced."""
    path = RESULTS / f"plain_front-{machine_tag()}.json"
    earlier = json.loads(path.read_text()).get("rows", []) if path.exists() else []
    key = lambda r: (r["fingerprint"], r["design"], r["budget"], r["seed"])  # noqa: E731
    fresh = {key(r) for r in rows}
    return [r for r in earlier if key(r) not in fresh] + rows


def _quality(row: dict[str, Any]) -> float:
    return float(row["accuracy"] if row["task"] == "classify" else row["miou"])


def _mean(values: list[float]) -> str:
    if not values:
        return "-"
    spread = f" ± {statistics.stdev(values):.2f}" if len(values) > 1 else ""
    return f"{statistics.mean(values):.2f}{spread}"


def grouped(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Rows by (data set, design, budget), in order of MACs."""
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in sorted(rows, key=lambda r: (r["data_name"], r["macs"])):
        groups.setdefault((row["data_name"], row["design"], row["budget"]), []).append(row)
    return groups


def print_table(rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="The hand design's front (test split; ONNX Runtime CPU, fresh process)")
    for column in ("data", "net", "seeds", "MACs", "params", "test acc / mIoU", "macro F1",
                   "epochs", "b1 ms", "b64 ms", "× large b1", "× large b64"):  # fmt: skip
        table.add_column(column)
    for (data, design, budget), group in grouped(rows).items():
        lat = [r.get("latency", {}) for r in group]
        b1 = [x["1"] for x in lat if "1" in x]
        b64 = [x["64"] for x in lat if "64" in x]
        table.add_row(
            data, f"{design}-{budget}", ",".join(str(r["seed"]) for r in group),
            f"{group[0]['macs'] / 1e6:.1f}M", f"{group[0]['params'] / 1e3:.0f}K",
            _mean([_quality(r) for r in group]),
            _mean([r["macro_f1"] for r in group if r.get("macro_f1") is not None]),
            _mean([r["epochs_run"] for r in group]),
            _mean([b["ms"] for b in b1]), _mean([b["ms"] for b in b64]),
            _mean([b["speedup_vs_large"] for b in b1]),
            _mean([b["speedup_vs_large"] for b in b64]),
        )  # fmt: skip
    Console(width=200).print(table)


def plot(rows: list[dict[str, Any]], path: Path = PLOT) -> Path | None:
    """Test accuracy (mIoU) against batch-1 latency, one curve per data set and design."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves: dict[str, list[tuple[float, float, str]]] = {}
    for (data, design, budget), group in grouped(rows).items():
        timed = [r for r in group if "1" in r.get("latency", {})]
        if not timed:
            continue
        ms = statistics.mean(r["latency"]["1"]["ms"] for r in timed)
        quality = statistics.mean(_quality(r) for r in timed)
        curves.setdefault(f"{data} ({design})", []).append((ms, quality, budget))
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for label, points in curves.items():
        points.sort()
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
        for ms, quality, budget in points:
            ax.annotate(budget, (ms, quality), textcoords="offset points", xytext=(4, -10),
                        fontsize=8)  # fmt: skip
    ax.set_xscale("log")
    from matplotlib.ticker import FormatStrFormatter

    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(FormatStrFormatter("%g"))
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_xlabel("latency at batch 1, ms (ONNX Runtime CPU, log scale)")
    ax.set_ylabel("test accuracy / mIoU, %")
    seeds = sorted({r["seed"] for r in rows})
    ax.set_title(f"Hand design scaled to MAC budgets (test split, seeds {seeds})", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main() -> None:
    args = _args()
    results = RESULTS / f"plain_front-{machine_tag()}.json"
    if args.plot_only:
        rows = json.loads(results.read_text())["rows"]
        print_table(rows)
        print(f"wrote {plot(rows)}")
        return
    if not args.data:
        sys.exit("plain_front: expected --data FOLDER (a classification or segmentation set)")
    from gensynth.data import load_dataset

    data = load_dataset(args.data, task=args.task, input_size=200)
    out = Path(args.out or Path("plain_front-models") / Path(args.data).name)
    budgets = [b.strip() for b in (args.budgets or BUDGETS[args.task]).split(",") if b.strip()]
    started = time.perf_counter()
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for budget in budgets:
            row = train_one(args.task, data, budget, seed, args, out)
            rows.append(row)
            print(f"{row['design']}-{budget} seed {seed}: {row['macs'] / 1e6:.1f}M MACs, "
                  f"{row['params'] / 1e3:.0f}K params, test {_quality(row):.2f} "
                  f"({row['epochs_run']} epochs, {row['train_s']:.0f} s"
                  f"{', reused' if row['reused'] else ''})", flush=True)  # fmt: skip
    timing = None if args.no_time else time_front(rows, args.task, args.threads)
    print_table(rows)
    if args.quick:
        return
    merged = _merge(rows)
    settings = {**vars(args), "wall_s": time.perf_counter() - started, "timing": timing}
    print(f"wrote {write_results('plain_front', {'rows': merged, 'last_run': settings})}")
    print(f"wrote {plot(merged)}")


if __name__ == "__main__":
    main()
