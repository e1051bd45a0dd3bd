"""Colour against grey on the same real set, same budget: does ``--channels 3`` pay?

For each seed this scales the ``plain`` hand design into the same MAC band twice, once for
one input channel and once for three (the three-channel stem costs a little more, so each
is repaired into the band on its own, as ``explore`` would), and runs ``gensynth train`` on
each with the same data, epochs, seed and threads, differing only in ``--channels``. It
records test accuracy, macro F1, parameters, MACs, the wall time of each ``gensynth train``
process and the load average around it, and what ``gensynth data check`` finds about the
folder's colour content (a folder of RGB files whose planes are equal is grey).

    python benchmarks/rgb_vs_gray.py --data ../shared/data/x-sdd --epochs 30 --seeds 0

Results go to ``results/rgb_vs_gray-<machine>.json``; the table is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_results


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a classification folder of colour images")
    parser.add_argument("--flops", default="25M", help="MAC budget of both nets (25M)")
    parser.add_argument(
        "--tolerance", type=float, default=0.02, help="band around --flops (0.02: ±2%%)"
    )
    parser.add_argument("--input-size", type=int, default=200, help="input side (200)")
    parser.add_argument("--epochs", type=int, default=30, help="epochs of each training (30)")
    parser.add_argument("--seeds", default="0", help="e.g. 0,1")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--keep", default=None, help="keep the model folders here")
    return parser.parse_args()


def _spec(channels: int, args: argparse.Namespace, classes: int, folder: Path) -> dict[str, Any]:
    """The plain design for ``channels`` repaired into ``--flops`` ± ``--tolerance`` (2%
    by default: explore's 5% band let the two nets land 9% apart), written as YAML."""
    flops, size = args.flops, args.input_size
    from gensynth.constraints import FlopsBand, count_costs, parse_count, repair
    from gensynth.prototypes import dump_spec, reference_spec

    design = reference_spec("plain", in_channels=channels, input_size=size, num_classes=classes)
    result = repair(design, FlopsBand(parse_count(flops), args.tolerance))
    if not result.feasible:
        raise SystemExit(f"plain cannot be scaled to {flops} for {channels} channel(s)")
    path = folder / f"plain-{channels}ch.yaml"
    dump_spec(result.spec, path)
    costs = count_costs(result.spec)
    return {"path": path, "macs": int(costs.macs), "params": int(costs.params)}


def _colour(data: str) -> dict[str, Any]:
    from gensynth.data import check_dataset

    report = check_dataset(Path(data))
    return {"classes": list(report.class_names), "colour": report.colour, "total": report.total}


def _train(spec: Path, channels: int, seed: int, out: Path, args: argparse.Namespace) -> dict:
    command = [
        sys.executable, "-m", "gensynth.cli.main", "train", "--spec", str(spec),
        "--data", args.data, "--channels", str(channels), "--epochs", str(args.epochs),
        "--seed", str(seed), "--out", str(out), "--overwrite", "--device", "cpu",
    ]  # fmt: skip
    if args.threads:
        command += ["--threads", str(args.threads)]
    before = os.getloadavg()
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    metrics = json.loads((out / "metrics.json").read_text())
    test = metrics["test"]
    return {
        "channels": channels,
        "seed": seed,
        "test_accuracy": test["accuracy"],
        "test_macro_f1": test["macro_f1"],
        "val_accuracy": metrics["val"]["accuracy"],
        "best_epoch": metrics["best_epoch"],
        "epochs": args.epochs,
        "macs": metrics["macs"],
        "params": metrics["params"],
        "train_seconds": metrics["timings"]["train_seconds"],
        "wall_s": wall,
        "loadavg_before": list(before),
        "loadavg_after": list(os.getloadavg()),
        "preprocessing": metrics["preprocessing"],
        "fingerprint": metrics["data"]["fingerprint"],
        "device": metrics["device"],
    }


def main() -> None:
    args = _args()
    colour = _colour(args.data)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep or tmp)
        work.mkdir(parents=True, exist_ok=True)
        classes = len(colour["classes"])
        specs = {c: _spec(c, args, classes, work) for c in (1, 3)}
        for seed in seeds:
            for channels in (1, 3):
                out = work / f"plain-{channels}ch-seed{seed}"
                row = _train(specs[channels]["path"], channels, seed, out, args)
                rows.append(row)
                print(
                    f"seed {seed} {channels}ch: test acc {row['test_accuracy']:.2f}% "
                    f"F1 {row['test_macro_f1']:.2f}% {row['wall_s']:.0f} s "
                    f"(load {row['loadavg_before'][0]:.2f})",
                    flush=True,
                )
    summary = {
        str(c): {
            key: statistics.fmean(r[key] for r in rows if r["channels"] == c)
            for key in ("test_accuracy", "test_macro_f1", "wall_s", "train_seconds")
        }
        for c in (1, 3)
    }
    path = write_results(
        "rgb_vs_gray",
        {
            "data": args.data,
            "flops": args.flops,
            "tolerance": args.tolerance,
            "input_size": args.input_size,
            "epochs": args.epochs,
            "seeds": seeds,
            "data_colour": colour["colour"],
            "runs": rows,
            "mean": summary,
            "note": "colour counts images whose R, G and B planes differ (gensynth data check)",
        },
    )
    print(f"colour content: {colour['colour']}")
    for c in (1, 3):
        m = summary[str(c)]
        print(
            f"{c} channel(s): test accuracy {m['test_accuracy']:.2f}%, macro F1 "
            f"{m['test_macro_f1']:.2f}%, wall {m['wall_s']:.0f} s"
        )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
