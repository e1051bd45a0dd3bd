"""The NEU table: gensynth's networks beside the published figures (REFERENCE.md).

Runs the whole pipeline (explore → full training → test once → ONNX export → latency on
onnxruntime-cpu beside the ``resnet50``/``unet`` reference specs) at 100M and 25M MACs for
classification and at 0.44 GMACs for segmentation, then prints one table with the published
TinyDefectNet, ResNet-50, A-Net and U-Net rows under ours.

    python benchmarks/neu_table.py --quick                         # minutes, synthetic data
    python benchmarks/neu_table.py --data NEU-CLS --seg-data NEU-Seg   # overnight on a CPU

``--data`` is any classification folder gensynth reads (NEU-CLS, NEU-DET), ``--seg-data`` any
segmentation folder (SD-saliency-900, NEU-Seg); both default to the synthetic NEU-like data.
The reference networks are timed, not trained, unless ``--train-baselines`` is given (a
ResNet-50 trains for hours on 2 cores); their metric column then says "not trained".
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_results

from gensynth.constraints import count_costs
from gensynth.constraints.quantities import format_count
from gensynth.explore import explore
from gensynth.prototypes import ArchSpec, reference_spec, spec_from_dict
from gensynth.search.finalize import BASELINE
from gensynth.search.study_spec import ExploreOptions, resolve_options

# (label, task, MAC budget): the operating points of the issue.
POINTS = (
    ("classify @ 100M", "classify", "100M"),
    ("classify @ 25M", "classify", "25M"),
    ("segment @ 0.44G", "segment", "440M"),
)

# REFERENCE.md "Published figures to compare with"; not measured here.
PUBLISHED = {
    "classify": [
        ("TinyDefectNet (seed 001)", "acc 98%", "0.43M", "97M", "2.5 ms (EPYC 7R32, TF)"),
        ("ResNet-50 (seed 001)", "acc 98%", "24M", "1.1G", "19 ms (TinyDefectNet 7.6×)"),
    ],
    "segment": [
        ("A-Net (seed 004, 224px)", "IoU 60.5/78.8/59.5", "0.39M", "0.44G", "-"),
        ("U-Net (seed 004)", "IoU 59.0/79.6/60.9", "31.39M", "42.75G", "-"),
    ],
}

# Budgets: --quick finishes in minutes on 2 cores; the full mode is an overnight CPU run.
QUICK = {"trials": 4, "epochs": 2, "proxy_size": 96, "proxy_samples": 480, "final_epochs": 4}
FULL = {"trials": 40, "epochs": 10, "proxy_size": None, "proxy_samples": None, "final_epochs": 60}


def _metric_text(task: str, test: dict[str, Any]) -> str:
    if task == "classify":
        return f"acc {test['accuracy']:.1f}%"
    ious = [row.get("iou") for row in test.get("per_class", {}).values()]
    per_class = "/".join("-" if v is None else f"{v:.1f}" for v in ious)
    return f"mIoU {test['miou']:.1f}% ({per_class})"


def run_point(label: str, task: str, flops: str, args: argparse.Namespace, tmp: Path) -> dict:
    budget = QUICK if args.quick else FULL
    data = args.data if task == "classify" else args.seg_data
    name = f"{task}-{flops}"
    spec = resolve_options(
        ExploreOptions(
            task=task, data=data, flops=flops, seed=args.seed, threads=args.threads,
            timeout="off", study=name, storage=f"sqlite:///{tmp}/{name}.db",
            out=str(tmp / name), **budget,
        )
    )  # fmt: skip
    started = time.perf_counter()
    result = explore(spec)
    assert result.final is not None
    metrics = result.final.metrics
    latency = metrics["latency"]
    row = {
        "label": label,
        "task": task,
        "model": f"gensynth (trial #{result.final.winner.number})",
        "spec": metrics["spec"],
        "metric": _metric_text(task, metrics["test"]),
        "test": metrics["test"],
        "params": metrics["params"],
        "macs": metrics["macs"],
        "latency_ms": latency["model"]["median_ms"],
        "latency_cv": latency["model"]["cv"],
        "baseline": latency["baseline"],
        "speedup": latency["speedup"],
        "seconds": time.perf_counter() - started,
    }
    ref = _reference(spec_from_dict(result.final.winner.spec))
    costs = count_costs(ref)
    row["baseline"].update({"params": costs.params, "macs": costs.macs})
    if args.train_baselines:
        row["baseline"]["metric"] = _train_baseline(ref, result.session, tmp / f"{name}-ref")
    return row


def _reference(winner: ArchSpec) -> ArchSpec:
    """The reference network (resnet50 / unet) shaped like the winner's input and output."""
    return reference_spec(
        BASELINE[winner.task],
        in_channels=winner.in_channels,
        input_size=winner.input_size,
        num_classes=winner.num_classes,
    )


def _train_baseline(ref: ArchSpec, session: Any, out: Path) -> str:
    from gensynth.training import TrainConfig, train_to_dir

    spec = session.spec
    config = TrainConfig.for_task(spec.task, epochs=spec.final_epochs, seed=spec.seed)
    trained = train_to_dir(ref, session.data, config, out, data_source=spec.data)
    return _metric_text(spec.task, trained["test"])


def print_table(rows: list[dict]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="NEU table (ours measured on this machine; published rows as printed)")
    for column in ("operating point", "model", "metric (test)", "params", "MACs",
                   "latency b1 ORT-CPU", "vs reference"):  # fmt: skip
        table.add_column(column, no_wrap=column != "model")
    for row in rows:
        base = row["baseline"]
        table.add_row(
            row["label"], row["model"], row["metric"], format_count(row["params"]),
            format_count(row["macs"]), f"{row['latency_ms']:.2f} ms",
            f"{row['speedup']:.1f}× faster than {base['name']}",
        )  # fmt: skip
        table.add_row(
            "", f"{base['name']} (reference spec)", base.get("metric", "not trained"),
            format_count(base["params"]), format_count(base["macs"]),
            f"{base['median_ms']:.2f} ms", "1.0×",
        )  # fmt: skip
    for task in dict.fromkeys(row["task"] for row in rows):
        for model, metric, params, macs, latency in PUBLISHED[task]:
            table.add_row("published", model, metric, params, macs, latency, "")
    Console(width=160).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="synthetic", help="classification folder (NEU-CLS)")
    parser.add_argument("--seg-data", default="synthetic", help="segmentation folder (NEU-Seg)")
    parser.add_argument("--quick", action="store_true", help="minutes, not hours")
    parser.add_argument("--points", nargs="+", default=[p[0] for p in POINTS],
                        choices=[p[0] for p in POINTS])  # fmt: skip
    parser.add_argument("--train-baselines", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, task, flops in POINTS:
            if label not in args.points:
                continue
            row = run_point(label, task, flops, args, Path(tmp))
            rows.append(row)
            print(f"{label}: {row['metric']} in {row['seconds']:.0f} s", flush=True)
    print_table(rows)
    settings = dict(vars(args))
    settings["budget"] = QUICK if args.quick else FULL
    name = "neu_table-quick" if args.quick else "neu_table"
    print(f"wrote {write_results(name, {'settings': settings, 'rows': rows})}")


if __name__ == "__main__":
    main()
