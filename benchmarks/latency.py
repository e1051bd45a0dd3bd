"""Latency benchmark: the block method against independent timers, and speed-ups over ResNet-50.

Run: python benchmarks/latency.py [--quick] [--threads 2] [--batch 1,64] [--rounds 3]

Models (200x200x1, 6 classes): the plain 89M-MAC basic-block net of REFERENCE.md, the
residual prototype's default repaired to 100M MACs, and ResNet-50. Per thread count and batch:

1. the method: each small net against ResNet-50 with ``compare_latency`` (own sessions,
   alternating blocks), and each model alone with ``measure_latency``;
2. an independent timer: a plain loop over ``session.run`` in a fresh process per model and
   round (``benchmarks/_plain_timer.py``, no gensynth code), rounds A, B, C, A, B, C, ...;
3. ONNX Runtime's own profiler (``SessionOptions.enable_profiling``, ``model_run`` events)
   in a fresh process per model (``onnxruntime_perf_test`` is not shipped in the wheel);
4. for contrast, the distortion the method avoids: two live sessions taking turns call by
   call in one process, with intra-op spinning on (the default) and off.

The method's figure must agree with the plain loop and the profiler within 10% on a quiet
machine; both figures, their ratio and the verdict are written, with the load average before
and after and each figure's load flags. Results: ``benchmarks/results/latency-<machine>.json``
(``latency-quick-`` with ``--quick``). Full run (2 threads, batch 1 and 64): about 5 minutes
on 2 cores; ``--quick`` (batch 1, one round, short timing): under a minute.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import write_results
from _latency_specs import plain_89m, reference, residual_default

from gensynth.backends import (
    TimedModel,
    Timing,
    compare_latency,
    export_onnx,
    measure_latency,
)
from gensynth.constraints import count_costs
from gensynth.prototypes import ArchSpec

TIMER = Path(__file__).parent / "_plain_timer.py"
AGREEMENT = 0.10
BASELINE = "resnet50"
#: The method's budget per batch; slow calls (ResNet-50 at batch 64) get one call a block.
TIMING = {
    1: Timing(warmup=3, blocks=5, repeats=20, min_time_s=1.0, max_time_s=20.0),
    64: Timing(warmup=2, blocks=5, repeats=5, min_time_s=2.0, max_time_s=15.0),
}
QUICK_TIMING = Timing(warmup=2, blocks=3, repeats=10, min_time_s=0.2, max_time_s=3.0)
#: The independent timer's budget per batch: (warm-up calls, runs at least, seconds at least).
LOOP = {1: (5, 20, 1.0), 64: (2, 5, 2.0)}
QUICK_LOOP = (3, 10, 0.2)


def main() -> None:
    args = _parse()
    started, before = time.time(), os.getloadavg()
    print(f"load average before: {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}")
    specs = {"plain-89M": plain_89m(), BASELINE: reference(BASELINE)}
    if not args.quick:
        specs = {"plain-89M": specs["plain-89M"], "residual-100M": residual_default(), **specs}
    for name, spec in specs.items():
        print(f"{name:14} {count_costs(spec).macs / 1e6:8.1f}M MACs  {spec.describe()}")
    cases = []
    with tempfile.TemporaryDirectory(prefix="gensynth-latency-") as folder:
        paths = {
            name: _export(spec, Path(folder) / f"{name}.onnx") for name, spec in specs.items()
        }
        for threads in args.threads:
            for batch in args.batch:
                cases.append(run_case(specs, paths, threads, batch, args))
    after = os.getloadavg()
    payload = {
        "quick": args.quick,
        "agreement_limit": AGREEMENT,
        "models": {
            n: {"describe": s.describe(), "macs": count_costs(s).macs} for n, s in specs.items()
        },
        "cases": cases,
        "load_avg_before": list(before),
        "load_avg_after": list(after),
        "seconds": time.time() - started,
    }
    path = write_results("latency-quick" if args.quick else "latency", payload)
    loaded = any(case["loaded"] for case in cases)
    print(
        f"\nload average before {before[0]:.2f}, after {after[0]:.2f}"
        f"{'; MEASURED UNDER LOAD: agreement is not meaningful' if loaded else ''}. "
        f"{time.time() - started:.0f} s. Wrote {path}"
    )


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="batch 1, one round, short timing")
    parser.add_argument("--threads", default="2", help="comma-separated thread counts")
    parser.add_argument("--batch", default=None, help="comma-separated batches [1,64; quick: 1]")
    parser.add_argument("--rounds", type=int, default=None, help="fresh processes per model")
    args = parser.parse_args()
    args.threads = [int(t) for t in args.threads.split(",")]
    args.batch = [int(b) for b in (args.batch or ("1" if args.quick else "1,64")).split(",")]
    args.rounds = args.rounds or (1 if args.quick else 3)
    return args


def _export(spec: ArchSpec, path: Path) -> Path:
    export_onnx(spec.build().eval(), spec.input_shape, path)
    return path


def run_case(
    specs: dict[str, ArchSpec],
    paths: dict[str, Path],
    threads: int,
    batch: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Every timer for one thread count and batch; the agreement table and speed-ups."""
    print(f"\n== {threads} thread(s), batch {batch} ==", flush=True)
    timing = QUICK_TIMING if args.quick else TIMING.get(batch, TIMING[64])
    loop = QUICK_LOOP if args.quick else LOOP.get(batch, LOOP[64])
    method = method_figures(specs, threads, batch, timing)
    plain = plain_loops(paths, threads, batch, args.rounds, loop)
    profiled = {
        name: _child(path, threads, batch, loop, profile=True) for name, path in paths.items()
    }
    naive = {
        spinning: naive_alternating(paths, threads, batch, spinning, loop) for spinning in (1, 0)
    }
    rows = agreement_rows(method, plain, profiled)
    speedups = speedup_rows(method, plain, naive)
    _print_case(rows, speedups)
    return {
        "threads": threads,
        "batch": batch,
        "timing": dataclasses.asdict(timing),
        "independent_loop": dict(zip(("warmup", "runs", "seconds"), loop, strict=True)),
        "rows": rows,
        "speedups": speedups,
        "method": {k: v for k, v in method.items() if k != "figures"},
        "naive_alternating": {"spinning_on": naive[1], "spinning_off": naive[0]},
        "loaded": any(r["loaded"] for r in rows),
    }


def method_figures(
    specs: dict[str, ArchSpec], threads: int, batch: int, timing: Timing
) -> dict[str, Any]:
    """Each small net against ResNet-50 in alternating blocks, and each model alone."""
    items = {
        name: TimedModel(spec.build().eval(), spec.input_shape, count_costs(spec).macs, name)
        for name, spec in specs.items()
    }
    kwargs = {"threads": threads, "batch": batch, **dataclasses.asdict(timing)}
    pairs = {
        name: compare_latency([item, items[BASELINE]], **kwargs).to_dict()
        for name, item in items.items()
        if name != BASELINE
    }
    alone = {
        name: measure_latency(item.model, item.input_shape, macs=item.macs, **kwargs).to_dict()
        for name, item in items.items()
    }
    first = next(iter(pairs.values()))
    figures = {name: pair["results"][0] for name, pair in pairs.items()}
    figures[BASELINE] = first["results"][1]
    return {"pairs": pairs, "alone": alone, "figures": figures}


def _child(
    path: Path, threads: int, batch: int, loop: tuple[int, int, float], *, profile: bool = False
) -> float:
    """The median ms of one fresh process timing ``path`` (plain loop, or the profiler)."""
    warmup, runs, seconds = loop
    command = [sys.executable, str(TIMER), str(path), "--threads", str(threads)]
    command += ["--batch", str(batch), "--warmup", str(warmup), "--runs", str(runs)]
    command += ["--seconds", str(seconds)]
    with tempfile.TemporaryDirectory(prefix="gensynth-profile-") as folder:
        if profile:
            command += ["--profile", folder]
        done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=1800)
    return float(json.loads(done.stdout.strip().splitlines()[-1])["median_ms"])


def plain_loops(
    paths: dict[str, Path], threads: int, batch: int, rounds: int, loop: tuple[int, int, float]
) -> dict[str, list[float]]:
    """Per model, the median of a fresh-process plain loop in each round (A, B, C, A, ...)."""
    medians: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(rounds):
        for name, path in paths.items():
            medians[name].append(_child(path, threads, batch, loop))
    return medians


def naive_alternating(
    paths: dict[str, Path], threads: int, batch: int, spinning: int, loop: tuple[int, int, float]
) -> dict[str, float]:
    """Each small net and ResNet-50 as two live sessions taking turns call by call."""
    import numpy as np
    import onnxruntime as ort

    def session(path: Path) -> Any:
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
        options.add_session_config_entry("session.intra_op.allow_spinning", str(spinning))
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    base = session(paths[BASELINE])
    shape = [batch if not isinstance(d, int) else d for d in base.get_inputs()[0].shape]
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    out = {}
    for name, path in paths.items():
        if name == BASELINE:
            continue
        small = session(path)
        times: dict[str, list[float]] = {name: [], BASELINE: []}
        for i in range(loop[0] + loop[1]):
            for label, sess in ((name, small), (BASELINE, base)):
                tick = time.perf_counter()
                sess.run(None, {sess.get_inputs()[0].name: x})
                if i >= loop[0]:
                    times[label].append(time.perf_counter() - tick)
        out[name] = statistics.median(times[name]) * 1e3
        out[f"{BASELINE} beside {name}"] = statistics.median(times[BASELINE]) * 1e3
    return out


def agreement_rows(
    method: dict[str, Any], plain: dict[str, list[float]], profiled: dict[str, float]
) -> list[dict[str, Any]]:
    """Per model: the method's figure against the plain loop's and the profiler's."""
    rows = []
    for name, figure in method["figures"].items():
        loop = statistics.median(plain[name])
        rows.append(
            {
                "model": name,
                "method_ms": figure["median_ms"],
                "method_block_spread": figure["block_spread"],
                "alone_ms": method["alone"][name]["median_ms"],
                "plain_loop_ms": loop,
                "plain_loop_rounds_ms": plain[name],
                "profiler_ms": profiled[name],
                "method_over_plain_loop": figure["median_ms"] / loop,
                "method_over_profiler": figure["median_ms"] / profiled[name],
                "agree": abs(figure["median_ms"] / loop - 1) <= AGREEMENT
                and abs(figure["median_ms"] / profiled[name] - 1) <= AGREEMENT,
                "loaded": figure["loaded"] or method["alone"][name]["loaded"],
                "load": figure["load"],
                "settings": figure["settings"],
            }
        )
    return rows


def speedup_rows(
    method: dict[str, Any], plain: dict[str, list[float]], naive: dict[int, dict[str, float]]
) -> list[dict[str, Any]]:
    """ResNet-50 / small net by the method, by fresh-process loops, and by naive turns."""
    rows = []
    base_loop = statistics.median(plain[BASELINE])
    for name, pair in method["pairs"].items():
        (stats,) = pair["speedups"]
        rows.append(
            {
                "model": name,
                "method": stats["speedup"],
                "method_block_speedups": stats["block_speedups"],
                "method_spread": stats["spread"],
                "plain_loops": base_loop / statistics.median(plain[name]),
                "naive_spinning_on": naive[1][f"{BASELINE} beside {name}"] / naive[1][name],
                "naive_spinning_off": naive[0][f"{BASELINE} beside {name}"] / naive[0][name],
                "loaded": pair["loaded"],
            }
        )
    return rows


def _print_case(rows: list[dict[str, Any]], speedups: list[dict[str, Any]]) -> None:
    print(
        f"{'model':14} {'method':>9} {'spread':>6} {'alone':>9} {'plain loop':>10} "
        f"{'profiler':>9} {'m/loop':>7} {'m/prof':>7}  verdict"
    )
    for r in rows:
        verdict = ("agree" if r["agree"] else "DISAGREE") + (" (busy)" if r["loaded"] else "")
        print(
            f"{r['model']:14} {r['method_ms']:9.3f} {r['method_block_spread']:6.0%} "
            f"{r['alone_ms']:9.3f} {r['plain_loop_ms']:10.3f} {r['profiler_ms']:9.3f} "
            f"{r['method_over_plain_loop']:7.3f} {r['method_over_profiler']:7.3f}  {verdict}"
        )
    header = f"{'method':>8} {'blocks':>13} {'loops':>8} {'naive':>8} {'no-spin':>8}"
    print(f"\n{'speed-up of':14} {header}")
    for s in speedups:
        blocks = s["method_block_speedups"]
        print(
            f"{s['model']:14} {s['method']:7.1f}x {min(blocks):6.1f}-{max(blocks):<6.1f}"
            f"{s['plain_loops']:7.1f}x {s['naive_spinning_on']:7.1f}x "
            f"{s['naive_spinning_off']:7.1f}x{'  (busy)' if s['loaded'] else ''}"
        )


if __name__ == "__main__":
    main()
