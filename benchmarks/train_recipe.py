"""The full-training recipe before and after: old (30/40 epochs, no EMA, no crops) vs new.

Trains a plain four-stage classifier (widths 12-24-48-96, 89 M MACs at 200 px) on a
classification folder and the A-Net reference on a segmentation folder, once per variant
and seed, with ``gensynth.training.train_to_dir``, and reports test and validation figures
per seed, mean ± spread per variant, and the change against ``old`` on the same seeds (a
seed fixes the split and the init, so the comparison is paired). Each run's model folder
is kept under ``--work``; a rerun reads finished runs back instead of training them again.
Writes ``benchmarks/results/train_recipe-<machine>.json``. The CPU may be shared: the load
average is recorded beside every timing.

    python benchmarks/train_recipe.py --classify ../shared/data/x-sdd \\
        --segment ../shared/data/magnetic-tile --seeds 0 1
    python benchmarks/train_recipe.py --classify DIR --variants old,ema,new --seeds 0 1 2
    python benchmarks/train_recipe.py --classify DIR --custom 'long={"epochs": 60}'
    python benchmarks/train_recipe.py --classify DIR --variants kd --teacher 'models/t-s{seed}'
    python benchmarks/train_recipe.py --classify DIR --variants new --rank  # proxy ranking
    python benchmarks/train_recipe.py --classify DIR --segment DIR --quick   # smoke test
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

from _common import write_results

from gensynth.data import load_dataset
from gensynth.prototypes import ArchSpec, get_reference, spec_from_dict
from gensynth.training import TrainConfig, train_to_dir

#: The recipe before this benchmark's changes: fixed epochs, no EMA, no crops.
OLD_EPOCHS = {"classify": 30, "segment": 40}
OLD = {"epochs": OLD_EPOCHS, "ema_window": None, "crop_scale": (1.0, 1.0), "time_budget": None}
#: Variants as overrides of TrainConfig.full(task); "old" is the previous recipe exactly.
#: The time budget is left out so that figures do not depend on how busy the machine is:
#: "new" is the default recipe at its full FULL_EPOCHS.
VARIANTS: dict[str, dict[str, Any]] = {
    "old": OLD,
    "ema": {**OLD, "ema_window": 0.1, "ema_min_steps": 0},  # EMA even on a short run
    "new": {"time_budget": None},
    "kd": {"time_budget": None},  # the new recipe distilled from --teacher (so is any kd*)
}
PLAIN = {
    "prototype": "residual",
    "in_channels": 1,
    "input_size": 200,
    "stem": {"width": 12, "kernel": 3, "stride": 2, "pool": False},
    "stages": [
        {"block": "basic", "width": w, "depth": 1, "stride": s, "kernel": 3}
        | {"expansion": 1.0, "se": False}
        for w, s in ((12, 1), (24, 2), (48, 2), (96, 2))
    ],
    "act": "relu",
}
#: Quite different designs for the proxy-ranking check: (widths, stem max-pool).
RANK_SPECS: dict[str, tuple[tuple[int, ...], bool]] = {
    "tiny": ((8, 8, 16, 32), False),  # 24 M MACs, 21 K params
    "plain": ((12, 24, 48, 96), False),  # 89 M MACs, 174 K params
    "pooled-wide": ((24, 48, 96, 192), True),  # 89 M MACs, 689 K params
}
#: The search's proxy budget (gensynth.search's defaults for classification).
PROXY = {"epochs": 4, "input_size": 96}
REPORTED = {
    "classify": ("accuracy", "macro_f1"),
    "segment": ("miou", "dice", "iou_all_pixels"),
}


def _spec(task: str, num_classes: int, seg_size: int) -> ArchSpec:
    if task == "classify":
        return spec_from_dict({**PLAIN, "num_classes": num_classes})
    return get_reference("anet").spec(input_size=seg_size)


def _rank_spec(name: str, num_classes: int) -> ArchSpec:
    widths, pool = RANK_SPECS[name]
    stages = [dict(stage, width=w) for stage, w in zip(PLAIN["stages"], widths, strict=True)]
    stem = {**PLAIN["stem"], "pool": pool}
    return spec_from_dict({**PLAIN, "stem": stem, "stages": stages, "num_classes": num_classes})


def _config(task: str, overrides: dict[str, Any], seed: int, quick: bool) -> TrainConfig:
    """The variant's recipe: overrides of TrainConfig.full; a dict value is per task."""
    changes = {k: v[task] if isinstance(v, dict) else v for k, v in overrides.items()}
    if "crop_scale" in changes:
        changes["crop_scale"] = tuple(changes["crop_scale"])
    if quick:
        changes |= {"epochs": 1, "time_budget": None, "max_train_samples": 64}
    return TrainConfig.full(task, seed=seed, **changes)


def _decision_at(metrics: dict[str, Any], threshold: float = 0.5) -> dict[str, Any]:
    decision = metrics["decision"]
    point = next(p for p in decision["points"] if abs(p["threshold"] - threshold) < 1e-9)
    keep = ("precision", "recall", "false_alarm", "tp", "fp", "fn", "tn")
    return {
        "threshold": threshold,
        **{k: point[k] for k in keep},
        "negatives_source": decision["negatives_source"],
    }


def _summary(task: str, metrics: dict[str, Any], wall: float, load: list[float]) -> dict:
    row: dict[str, Any] = {
        split: {k: metrics[split].get(k) for k in REPORTED[task]} for split in ("test", "val")
    }
    if task == "segment":
        row["test"]["decision@0.5"] = _decision_at(metrics["test"])
    history = metrics["history"]
    row |= {
        "epochs_run": len(history),
        "best_epoch": metrics["best_epoch"],
        "epoch_plan": metrics.get("epoch_plan"),
        "stop_reason": metrics.get("stop_reason"),
        "train_seconds": metrics["timings"]["train_seconds"],
        "wall_seconds": wall,
        "loadavg_start": load,
        "loadavg_end": list(os.getloadavg()),
        "training": metrics["training"],
        "val_curve": [round(r[f"val_{metrics['metric']}"], 2) for r in history],
    }
    return row


def _run(job: dict[str, Any], data, args: argparse.Namespace) -> dict[str, Any] | None:
    """Train one (task, variant, seed), or read it back from its folder under --work (None:
    not there, and --reuse-only)."""
    folder = Path(args.work) / f"{job['task']}-{job['variant']}-s{job['seed']}"
    done = folder / "metrics.json"
    if done.is_file() and not args.quick:
        stored = json.loads(done.read_text())
        return {**stored["benchmark_row"], "reused": True}
    if args.reuse_only:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    spec = _spec(job["task"], data.num_classes, args.seg_size)
    config = _config(job["task"], job["overrides"], job["seed"], args.quick)
    teacher = None
    if job["variant"].startswith("kd"):
        teacher = Path(args.teacher.format(seed=job["seed"]))
    load, tick = list(os.getloadavg()), time.perf_counter()
    print(f"  {folder.name}: training (load {load[0]:.2f})", file=sys.stderr, flush=True)
    metrics = train_to_dir(spec, data, config, folder, data_source=job["root"], teacher=teacher)
    row = _summary(job["task"], metrics, time.perf_counter() - tick, load)
    done.write_text(json.dumps({**metrics, "benchmark_row": row}, indent=2, default=str))
    return {**row, "reused": False}


def _spread(values: list[float]) -> dict[str, float]:
    return {
        "mean": statistics.fmean(values),
        "min": min(values),
        "max": max(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
    }


def _aggregate(task: str, runs: dict[str, dict[int, dict]]) -> dict[str, Any]:
    """Mean ± spread per variant, and the paired change against ``old`` (or the first
    variant named old*) on the seeds both ran."""
    out: dict[str, Any] = {}
    base_name = "old" if "old" in runs else next((n for n in runs if n.startswith("old")), "")
    base = runs.get(base_name, {})
    for variant, by_seed in runs.items():
        row: dict[str, Any] = {"seeds": sorted(by_seed)}
        for split in ("test", "val"):
            for key in REPORTED[task]:
                values = [r[split][key] for r in by_seed.values() if r[split][key] is not None]
                if values:
                    row[f"{split}_{key}"] = _spread(values)
                paired = [
                    r[split][key] - base[s][split][key]
                    for s, r in by_seed.items()
                    if s in base and variant != base_name
                ]
                if paired:
                    row[f"{split}_{key}_vs_old"] = _spread(paired)
        row["train_seconds"] = _spread([r["train_seconds"] for r in by_seed.values()])
        row["epochs_run"] = [r["epochs_run"] for r in by_seed.values()]
        out[variant] = row
    return out


def _print(task: str, summary: dict[str, Any]) -> None:
    key = REPORTED[task][0]
    print(f"\n{task}: {key} (%), mean [min, max] over seeds; change vs old on the same seeds")
    print(f"{'variant':<12}{'test':>22}{'val':>22}{'test vs old':>14}{'train s':>10}")
    for variant, row in summary.items():
        cells = []
        for split in ("test", "val"):
            s = row.get(f"{split}_{key}")
            cells.append(f"{s['mean']:6.2f} [{s['min']:.2f}, {s['max']:.2f}]" if s else "-")
        delta = row.get(f"test_{key}_vs_old")
        change = f"{delta['mean']:+.2f}" if delta else "-"
        seconds = row["train_seconds"]["mean"]
        print(f"{variant:<12}{cells[0]:>22}{cells[1]:>22}{change:>14}{seconds:>10.0f}")


def _train_rank(name: str, budget: str, data, args: argparse.Namespace) -> dict[str, Any]:
    """One spec of the ranking check on the proxy budget or the full recipe (seed 0)."""
    folder = Path(args.work) / f"rank-{name}-{budget}-s0"
    done = folder / "metrics.json"
    if done.is_file():
        return {**json.loads(done.read_text())["benchmark_row"], "reused": True}
    if args.reuse_only:
        raise SystemExit(f"--reuse-only: {folder} has not been trained")
    folder.mkdir(parents=True, exist_ok=True)
    changes: dict[str, Any] = {"time_budget": None, "seed": 0}
    if budget == "proxy":
        config = TrainConfig.for_task("classify", **changes, **PROXY)
    else:
        config = TrainConfig.full("classify", **changes, epochs=args.rank_full_epochs)
    load, tick = list(os.getloadavg()), time.perf_counter()
    print(f"  {folder.name}: training (load {load[0]:.2f})", file=sys.stderr, flush=True)
    spec = _rank_spec(name, data.num_classes)
    metrics = train_to_dir(spec, data, config, folder, data_source=args.classify)
    row = _summary("classify", metrics, time.perf_counter() - tick, load)
    done.write_text(json.dumps({**metrics, "benchmark_row": row}, indent=2, default=str))
    return {**row, "reused": False}


def _kendall(a: list[float], b: list[float]) -> float:
    """Kendall's tau (tau-b, ties counted) of two score lists: scipy.stats.kendalltau."""
    from scipy.stats import kendalltau

    return float(kendalltau(a, b).statistic)


def rank_check(args: argparse.Namespace) -> dict[str, Any]:
    """Does the proxy budget (new recipe) order quite different designs as full training?"""
    data = load_dataset(args.classify, task="classify", input_size=PLAIN["input_size"], seed=0)
    rows = {n: {b: _train_rank(n, b, data, args) for b in ("proxy", "full")} for n in RANK_SPECS}
    proxy = [rows[n]["proxy"]["val"]["accuracy"] for n in RANK_SPECS]
    full_val = [rows[n]["full"]["val"]["accuracy"] for n in RANK_SPECS]
    full_test = [rows[n]["full"]["test"]["accuracy"] for n in RANK_SPECS]
    print("\nproxy ranking: val accuracy (%) after the proxy budget and after full training")
    for name, p, v, t in zip(RANK_SPECS, proxy, full_val, full_test, strict=True):
        print(f"{name:<14}{p:>8.2f}{v:>8.2f}{t:>8.2f} (test)")
    result = {
        "proxy": PROXY,
        "full_epochs": args.rank_full_epochs,
        "runs": rows,
        "kendall_tau_proxy_vs_full_val": _kendall(proxy, full_val),
        "kendall_tau_proxy_vs_full_test": _kendall(proxy, full_test),
    }
    tau_val, tau_test = (result[f"kendall_tau_proxy_vs_full_{s}"] for s in ("val", "test"))
    print(f"Kendall tau proxy vs full: val {tau_val:.2f}, test {tau_test:.2f}")
    return result


def _variants(names: str, custom: list[str], teacher: str) -> dict[str, dict[str, Any]]:
    chosen = {name: VARIANTS[name] for name in names.split(",") if name}
    for item in custom:
        name, _, body = item.partition("=")
        chosen[name] = json.loads(body)
    if any(name.startswith("kd") for name in chosen) and not teacher:
        raise SystemExit("kd variants need --teacher MODEL_DIR (may contain {seed})")
    return chosen


def _task(task: str, root: str, args: argparse.Namespace) -> dict[str, Any]:
    """Every variant and seed of one task: the runs, their summary, and the table."""
    segment = task == "segment"
    names = args.seg_variants if segment and args.seg_variants is not None else args.variants
    custom = args.seg_custom if segment and args.seg_custom else args.custom
    variants = _variants(names, custom, args.teacher)
    seeds = args.seg_seeds if segment and args.seg_seeds else args.seeds
    spec = _spec(task, 1, args.seg_size)
    runs: dict[str, dict[int, dict]] = {name: {} for name in variants}
    for seed in seeds:
        data = load_dataset(root, task=task, input_size=spec.input_size, seed=seed)
        for name, overrides in variants.items():
            if segment and name.startswith("kd"):
                continue  # distillation is for classifiers
            job = {"task": task, "root": root, "variant": name, "seed": seed}
            row = _run({**job, "overrides": overrides}, data, args)
            if row is not None:
                runs[name][seed] = row
    runs = {name: by_seed for name, by_seed in runs.items() if by_seed}
    summary = _aggregate(task, runs)
    _print(task, summary)
    return {"data": root, "spec": spec.describe(), "runs": runs, "summary": summary}


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    payload: dict[str, Any] = {"args": vars(args), "notes": args.note, "tasks": {}}
    for task, root in (("classify", args.classify), ("segment", args.segment)):
        if root:
            payload["tasks"][task] = _task(task, root, args)
    if args.rank and args.classify and not args.quick:
        payload["proxy_ranking"] = rank_check(args)
    if not args.quick:
        print(f"\nwrote {write_results('train_recipe', payload)}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--classify", help="a classification data folder (e.g. x-sdd)")
    parser.add_argument("--segment", help="a segmentation data folder (e.g. magnetic-tile)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--variants", default="old,new", help=f"of {', '.join(VARIANTS)}")
    parser.add_argument(
        "--custom", action="append", default=[], help="NAME=JSON overrides of the new recipe"
    )
    parser.add_argument("--teacher", default="", help="teacher model folder for kd* ({seed})")
    parser.add_argument("--seg-size", type=int, default=256, help="A-Net input size")
    parser.add_argument("--seg-variants", help="variants for --segment (default: --variants)")
    parser.add_argument("--seg-custom", action="append", default=[], help="as --custom")
    parser.add_argument("--seg-seeds", type=int, nargs="+", help="default: --seeds")
    parser.add_argument("--work", default="/tmp/gensynth-train-recipe", help="model folders")
    parser.add_argument("--quick", action="store_true", help="1 epoch on 64 images, no file")
    parser.add_argument(
        "--rank", action="store_true", help="also check the proxy ranking of 4 designs"
    )
    parser.add_argument("--rank-full-epochs", type=int, default=30)
    parser.add_argument(
        "--reuse-only", action="store_true", help="train nothing: summarise the finished runs"
    )
    parser.add_argument("--note", action="append", default=[], help="recorded in the results")
    return parser


if __name__ == "__main__":
    main()
