"""Latency benchmark: ResNet-50 against a 100M-MAC residual net, and efficiency per block type.

Run: python benchmarks/latency.py [--threads 2] [--quick]

Everything is measured in this one run and reported as ratios against the ResNet-50 measured
alongside it: speed-up per backend and batch, achieved GMAC/s per model and its ratio to
ResNet-50's (the efficiency ratio), the same for 100M-MAC nets of one block type each on
onnxruntime-cpu, and the time and run-to-run spread of one in-loop latency measurement.
Models compared with each other are timed in alternating rounds (``measure_interleaved``),
so that drifting load on a shared CPU hits them alike; the load average before and after is
recorded. Results go to ``benchmarks/results/latency-<machine>.json`` with machine and versions.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from pathlib import Path
from typing import Any

from gensynth.backends import (
    LatencyResult,
    TimedModel,
    measure_interleaved,
    measure_latency,
    spec_macs,
)
from gensynth.constraints import FlopsBand, repair
from gensynth.constraints.latency import LOOP_TIMING
from gensynth.prototypes import ArchSpec, get_prototype, reference_spec
from gensynth.prototypes.residual import DEFAULT_EXPANSION, ResidualSpec, StageSpec, StemSpec
from gensynth.provenance import git_sha, machine, versions

RESULTS = Path(__file__).parent / "results"
SHAPE = {"in_channels": 1, "input_size": 200, "num_classes": 6}
BAND = FlopsBand(100_000_000, 0.05)
BACKENDS = ("torch-cpu", "onnxruntime-cpu")
#: Per batch: many runs for a stable median at batch 1; few (but >= 5) at the slow batch 64.
TIMING = {
    1: {"warmup": 5, "repeats": 30, "min_time_s": 2.0, "max_time_s": 20.0},
    64: {"warmup": 2, "repeats": 5, "min_time_s": 0.0, "max_time_s": 0.0},
}
#: Block variants whose efficiency the search should know: (label, block, kernel, se).
BLOCK_VARIANTS = (
    ("basic k3", "basic", 3, False),
    ("basic k3 + SE", "basic", 3, True),
    ("basic k5", "basic", 5, False),
    ("bottleneck k3", "bottleneck", 3, False),
    ("wide k3 (kx1,1xk)", "wide", 3, False),
    ("inverted k3 (depthwise)", "inverted", 3, False),
    ("inverted k3 + SE", "inverted", 3, True),
    ("light k3 (depthwise)", "light", 3, False),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="batch 1 only")
    args = parser.parse_args()
    batches = (1,) if args.quick else (1, 64)
    started, load_before = time.time(), os.getloadavg()
    models = {"resnet50": reference_spec("resnet50", **SHAPE), "residual-100M": small_spec()}
    blocks = {label: block_spec(b, k, se) for label, b, k, se in BLOCK_VARIANTS}
    for name, spec in {**models, **blocks}.items():
        print(f"{name:26} {spec_macs(spec) / 1e6:6.1f}M MACs  {spec.describe()}")
    measured = measure_all(models, blocks, batches, args.threads)
    rows = compare(measured, batches)
    block_rows = block_table(measured, blocks, batches)
    loop = loop_measurement(models["residual-100M"], args.threads)
    write(
        {
            "machine": machine(),
            "versions": versions(),
            "git_sha": git_sha(),
            "threads": args.threads,
            "timing": TIMING,
            "load_avg_before": load_before,
            "load_avg_after": os.getloadavg(),
            "seconds": time.time() - started,
            "models": {
                k: {"spec": s.to_dict(), "describe": s.describe(), "macs": spec_macs(s)}
                for k, s in {**models, **blocks}.items()
            },
            "comparison": rows,
            "block_efficiency": block_rows,
            "loop_measurement": loop,
        }
    )


def small_spec() -> ArchSpec:
    """The residual prototype's default repaired into 100M ± 5% MACs."""
    result = repair(get_prototype("residual").default_spec(**SHAPE), BAND)
    if not result.feasible:
        raise SystemExit(f"repair failed: {result.reason}")
    return result.spec


def block_spec(block: str, kernel: int, se: bool) -> ArchSpec:
    """A plain 4-stage net of one block type (every stage stride 2), repaired to 100M."""
    stages = tuple(
        StageSpec(block, width, depth, 2, kernel, DEFAULT_EXPANSION[block], se)
        for width, depth in ((32, 1), (64, 2), (128, 2), (256, 2))
    )
    return repair(ResidualSpec(**SHAPE, stem=StemSpec(32, 3, 2, False), stages=stages), BAND).spec


def measure_all(
    models: dict[str, ArchSpec],
    blocks: dict[str, ArchSpec],
    batches: tuple[int, ...],
    threads: int,
) -> dict[tuple[str, int], dict[str, LatencyResult]]:
    """Per backend and batch, every model timed in alternating rounds with ResNet-50."""
    measured = {}
    for backend in BACKENDS:
        for batch in batches:
            specs = {**models, **(blocks if backend == "onnxruntime-cpu" else {})}
            print(f"timing {len(specs)} models on {backend}, batch {batch} ...", flush=True)
            items = [
                TimedModel(s.build().eval(), s.input_shape, spec_macs(s)) for s in specs.values()
            ]
            results = measure_interleaved(
                items, backend=backend, batch=batch, threads=threads, **TIMING[batch]
            )
            measured[backend, batch] = dict(zip(specs, results, strict=True))
    return measured


def ratios(model: LatencyResult, base: LatencyResult) -> dict[str, float]:
    """Speed-up and efficiency ratio (achieved MAC/s over the baseline's), at the median.

    Ratios of minimum times are not given: under contention a long call rarely runs
    undisturbed while a short one often does, so they flatter the small net.
    """
    macs_ratio = (model.macs or 0) / (base.macs or 1)  # both set by measure_all
    return {
        "speedup": base.median_ms / model.median_ms,
        "efficiency_ratio": (base.median_ms / model.median_ms) * macs_ratio,
    }


def compare(measured: dict, batches: tuple[int, ...]) -> list[dict[str, Any]]:
    """ResNet-50 against the residual 100M net per backend and batch."""
    rows = []
    print(
        f"\n{'backend':16} {'batch':>5} {'R50 ms':>9} {'100M ms':>8} {'speed-up':>9} "
        f"{'R50 GMAC/s':>10} {'100M GMAC/s':>11} {'effic.':>6} {'CV R50/100M':>11}"
    )
    for backend in BACKENDS:
        for batch in batches:
            base, small = (measured[backend, batch][k] for k in ("resnet50", "residual-100M"))
            row = {
                "backend": backend,
                "batch": batch,
                "resnet50": base.to_dict(),
                "residual-100M": small.to_dict(),
                **ratios(small, base),
            }
            rows.append(row)
            print(
                f"{backend:16} {batch:5d} {base.median_ms:9.2f} {small.median_ms:8.2f} "
                f"{row['speedup']:8.1f}x {base.gmacs_per_s:10.1f} {small.gmacs_per_s:11.1f} "
                f"{row['efficiency_ratio']:6.2f} {base.cv:6.2f}/{small.cv:4.2f}"
            )
    return rows


def block_table(
    measured: dict, blocks: dict[str, ArchSpec], batches: tuple[int, ...]
) -> list[dict[str, Any]]:
    """Achieved GMAC/s, speed-up and efficiency vs ResNet-50 per block type (onnxruntime-cpu)."""
    rows = []
    print(
        f"\n{'onnxruntime-cpu: 100M net':26} "
        + " ".join(f"{'b' + str(b) + ': GMAC/s speed-up effic.':>31}" for b in batches)
    )
    for label in blocks:
        row: dict[str, Any] = {"block": label}
        for batch in batches:
            result = measured["onnxruntime-cpu", batch][label]
            base = measured["onnxruntime-cpu", batch]["resnet50"]
            row[f"b{batch}"] = {
                "gmacs_per_s": result.gmacs_per_s,
                "cv": result.cv,
                "median_ms": result.median_ms,
                **ratios(result, base),
            }
        rows.append(row)
        print(
            f"{label:26} "
            + " ".join(
                f"{row[f'b{b}']['gmacs_per_s']:17.1f} {row[f'b{b}']['speedup']:7.1f}x "
                f"{row[f'b{b}']['efficiency_ratio']:5.2f}"
                for b in batches
            )
        )
    return rows


def loop_measurement(spec: ArchSpec, threads: int, runs: int = 5) -> dict[str, Any]:
    """Wall time of one in-loop measurement (export + warm-up + timing) and its spread."""
    walls, medians = [], []
    for _ in range(runs):
        tick = time.perf_counter()
        result = measure_latency(
            spec.build(),
            spec.input_shape,
            backend="onnxruntime-cpu",
            batch=1,
            threads=threads,
            **LOOP_TIMING,
        )
        walls.append(time.perf_counter() - tick)
        medians.append(result.median_ms)
    mean = statistics.fmean(medians)
    summary = {
        "runs": runs,
        "timing": LOOP_TIMING,
        "wall_s": walls,
        "median_ms": medians,
        "wall_s_max": max(walls),
        "median_ms_cv": statistics.stdev(medians) / mean,
        "median_ms_range_rel": (max(medians) - min(medians)) / mean,
    }
    print(
        f"\nOne in-loop measurement (onnxruntime-cpu, batch 1): wall {min(walls):.2f}-"
        f"{max(walls):.2f} s; medians {min(medians):.3f}-{max(medians):.3f} ms "
        f"(CV {summary['median_ms_cv']:.1%} over {runs} runs)"
    )
    return summary


def write(results: dict[str, Any]) -> None:
    info = results["machine"]
    slug = re.sub(r"[^a-z0-9]+", "-", str(info["cpu"]).lower()).strip("-")
    path = RESULTS / f"latency-{slug}-{info['cores']}c.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    before, after = results["load_avg_before"], results["load_avg_after"]
    print(
        f"\nLoad average before {before[0]:.2f}, after {after[0]:.2f} on {info['cores']} "
        f"cores (shared CPU: figures are noisy). {results['seconds']:.0f} s. Wrote {path}"
    )


if __name__ == "__main__":
    main()
