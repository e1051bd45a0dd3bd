"""Explanation speed and quality: seconds per 100 samples per method, trained vs random.

1. Speed: the residual prototype's default spec (about 99M MACs at 200x200, 6 classes),
   trained briefly on the synthetic set, explains 100 stratified test samples with each
   method (attribution + the critical-factor search on its map) on ``--threads`` cores.
   The baseline, measured in the same run, is plain inference on the same 100 samples.
2. Quality: the same prototype at a reduced input size (``--quality-size``, default 96 px),
   trained for a few epochs on the synthetic set, audited as ``gensynth explain`` does:
   impact score and defect-mask energy share of the trained model against its
   randomised-weights twin, the sanity rank correlation, pointing game and coverage.

Writes ``benchmarks/results/explain_speed-<machine>.json`` with the machine, versions and the
load average (the CPU may be shared with other work).

    python benchmarks/explain_speed.py            # about 40 minutes on 2 cores at load ~5
    python benchmarks/explain_speed.py --quick    # fewer samples and epochs
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import torch

from gensynth import provenance
from gensynth.data import load_dataset
from gensynth.explain import (
    AuditConfig,
    Subject,
    attribute_batched,
    critical_factors,
    make_explainer,
    run_audit,
    select_samples,
    summarize,
)
from gensynth.prototypes import get_prototype
from gensynth.training import TrainConfig, evaluate, fit, to_input

RESULTS = Path(__file__).parent / "results"
METHODS = ("gradcam", "ig", "occlusion", "critical")


def _load() -> list[float]:
    return [round(v, 2) for v in os.getloadavg()]


def _train(size: int, epochs: int, max_samples: int | None, threads: int, seed: int):
    """The default residual spec at ``size`` px, trained on the synthetic set."""
    spec = get_prototype("residual").default_spec(input_size=size)
    data = load_dataset("synthetic", task="classify", input_size=size, seed=seed)
    torch.manual_seed(seed)
    model = spec.build()
    config = TrainConfig.for_task(
        "classify",
        epochs=epochs,
        max_train_samples=max_samples,
        threads=threads,
        channels_last=True,
        seed=seed,
    )
    started = time.perf_counter()
    fit(model, data, config, task="classify")
    seconds = time.perf_counter() - started
    test = evaluate(model, data, split="test", task="classify", seed=seed)
    trained = {
        "epochs": epochs,
        "train_samples": max_samples or int((data.split == 0).sum()),
        "train_seconds": round(seconds, 1),
        "test_accuracy": test.get("accuracy"),
    }
    return spec, model.eval(), data, trained


def _time_methods(spec: Any, model: Any, data: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Seconds for 100 samples: inference baseline, then each method (+ critical search)."""
    config = AuditConfig(ig_steps=args.ig_steps, samples=args.samples)
    subject = Subject(model, "classify", spec.input_size)
    test = data.subset("test")
    index = select_samples(test.labels, args.samples, args.seed)
    x = to_input(torch.from_numpy(test.images[index][:, None]))
    started, load = time.perf_counter(), _load()
    prediction = subject.predict(x)
    baseline = time.perf_counter() - started
    rows: dict[str, Any] = {
        "inference": {"seconds": round(baseline, 2), "loadavg": [load, _load()]}
    }
    for name in METHODS:
        explainer = make_explainer(name, config)
        load, started = _load(), time.perf_counter()
        maps = attribute_batched(explainer, subject, x, prediction, config.batch_size)
        attributed = time.perf_counter() - started
        found = critical_factors(subject, x, prediction, maps, config.tau, config.ladder)
        total = time.perf_counter() - started
        rows[name] = {
            "seconds": round(total, 2),
            "attribution_seconds": round(attributed, 2),
            "critical_search_seconds": round(total - attributed, 2),
            "vs_inference": round(total / baseline, 1),
            "impact_score": round(float(found.found.mean()), 3),
            "settings": explainer.settings(subject),
            "loadavg": [load, _load()],
        }
        print(f"  {name:<10} {total:8.1f} s  ({total / baseline:6.1f}x inference)", flush=True)
    per = 100 / len(index)
    for row in rows.values():
        row["seconds_per_100"] = round(row["seconds"] * per, 1)
    return rows


def _quality(args: argparse.Namespace) -> dict[str, Any]:
    """Trained vs randomised-weights audit of a model trained at a reduced size."""
    spec, model, data, trained = _train(
        args.quality_size, args.quality_epochs, None, args.threads, args.seed
    )
    print(f"quality model: {spec.describe()} at {spec.input_size} px, {trained}", flush=True)
    config = AuditConfig(
        samples=args.quality_samples,
        sanity_samples=args.quality_samples,
        ig_steps=args.ig_steps,
        seed=args.seed,
    )
    started = time.perf_counter()
    result = run_audit(Subject(model, "classify", spec.input_size), data, config)
    summary = summarize(result)
    keys = (
        "impact_score", "random_impact_score", "critical_area", "mask_energy",
        "random_mask_energy", "mask_energy_chance", "pointing_game", "random_pointing_game",
        "sanity_correlation", "sanity", "coverage", "coverage_chance", "coverage_flips",
        "coverage_attempts", "verdict",
    )  # fmt: skip
    return {
        "spec": spec.describe(),
        "input_size": spec.input_size,
        "training": trained,
        "samples": len(result.images),
        "audit_seconds": round(time.perf_counter() - started, 1),
        "flagged": len(summary["flagged"]),
        "methods": {m: {k: v.get(k) for k in keys} for m, v in summary["overall"].items()},
        "loadavg_after": _load(),
    }


def _print_quality(quality: dict[str, Any]) -> None:
    print(f"\n{'method':<10} {'impact':>7} {'random':>7} {'mask E':>7} {'random':>7} "
          f"{'chance':>7} {'point':>6} {'rho':>6} {'cover':>6} flips")  # fmt: skip
    for name, row in quality["methods"].items():
        cells = [row[k] for k in ("impact_score", "random_impact_score", "mask_energy",
                                  "random_mask_energy", "mask_energy_chance", "pointing_game",
                                  "sanity_correlation", "coverage")]  # fmt: skip
        text = " ".join(f"{'-' if c is None else f'{c:.3f}':>7}" for c in cells)
        print(f"{name:<10} {text} {row['coverage_flips']}/{row['coverage_attempts']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and epochs")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ig-steps", type=int, default=16)
    parser.add_argument("--train-epochs", type=int, default=2)
    parser.add_argument("--train-samples", type=int, default=480)
    parser.add_argument("--quality-size", type=int, default=96)
    parser.add_argument("--quality-epochs", type=int, default=10)
    parser.add_argument("--quality-samples", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.quick:
        args.samples, args.train_epochs, args.train_samples = 20, 1, 120
        args.quality_epochs, args.quality_samples, args.quality_size = 3, 18, 64
    torch.set_num_threads(args.threads)
    spec, model, data, trained = _train(
        200, args.train_epochs, args.train_samples, args.threads, args.seed
    )
    macs = _macs(spec)
    print(f"speed model: {spec.describe()}, {macs} MACs, {trained}", flush=True)
    speed = _time_methods(spec, model, data, args)
    quality = _quality(args)
    _print_quality(quality)
    _write(args, spec, macs, trained, speed, quality)


def _macs(spec: Any) -> int | None:
    try:
        from gensynth.constraints import count_costs
    except ImportError:
        return None
    return int(count_costs(spec).macs)


def _write(
    args: argparse.Namespace,
    spec: Any,
    macs: int | None,
    trained: dict[str, Any],
    speed: dict[str, Any],
    quality: dict[str, Any],
) -> None:
    info = provenance.machine()
    slug = re.sub(r"[^a-z0-9]+", "-", f"{info['cpu']}-{info['cores']}c".lower()).strip("-")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"explain_speed-{slug}.json"
    payload = {
        "benchmark": "explain_speed",
        "quick": args.quick,
        "threads": args.threads,
        "speed": {
            "spec": spec.describe(),
            "input_size": spec.input_size,
            "macs": macs,
            "training": trained,
            "samples": args.samples,
            "figures": "seconds to explain the samples (attribution + critical-factor search "
            "on its map, batches of 8), and per 100 samples; baseline = plain inference",
            "rows": speed,
        },
        "quality": quality,
        "machine": info,
        "versions": provenance.versions(),
        "git_sha": provenance.git_sha(),
        "loadavg_end": _load(),
    }
    path.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
