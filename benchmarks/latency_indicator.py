"""The search's latency indicator against the full method, on a handful of specs.

Run: python benchmarks/latency_indicator.py [--quick] [--threads 2] [--repeats 3]

For each spec (the plain 89M net, the residual default at 100M and 25M MACs, four designs
sampled from the residual space and repaired to 100M, ResNet-18), alternately ``--repeats``
times: the indicator's own measurement (``LatencyIndicator.measure(spec, fresh=True)``:
the block method on ``LOOP_TIMING``, no cache) and the full method (``measure_latency`` with
``FULL_TIMING``). Reported per spec: the median of each, their ratio, the spread of the
in-loop figure across repeats, and the wall time of one in-loop measurement (export
included). On a quiet machine the two must agree within 10%. Results:
``benchmarks/results/latency_indicator-<machine>.json`` (``-quick-`` with ``--quick``).
Full run: about 2 minutes on 2 cores; ``--quick`` (two specs, one repeat): about 10 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time
from typing import Any

from _common import write_results
from _latency_specs import handful

from gensynth.backends import FULL_TIMING, LatencyResult, measure_latency
from gensynth.constraints import count_costs
from gensynth.constraints.latency import LOOP_TIMING, LatencyIndicator
from gensynth.prototypes import ArchSpec

AGREEMENT = 0.10


def measure_spec(spec: ArchSpec, threads: int, repeats: int) -> dict[str, Any]:
    """The in-loop and the full figure of ``spec``, alternately, ``repeats`` times each."""
    indicator = LatencyIndicator(1e9, threads=threads, use_cache=False)
    loop: list[LatencyResult] = []
    full: list[LatencyResult] = []
    walls = []
    for _ in range(repeats):
        tick = time.perf_counter()
        loop.append(indicator.measure(spec, fresh=True))
        walls.append(time.perf_counter() - tick)
        full.append(measure_latency(spec.build().eval(), spec.input_shape, threads=threads))
    loop_ms = [r.median_ms for r in loop]
    full_ms = [r.median_ms for r in full]
    ratio = statistics.median(loop_ms) / statistics.median(full_ms)
    return {
        "describe": spec.describe(),
        "macs": count_costs(spec).macs,
        "loop_ms": loop_ms,
        "full_ms": full_ms,
        "loop_over_full": ratio,
        "loop_spread": (max(loop_ms) - min(loop_ms)) / statistics.median(loop_ms),
        "loop_wall_s": walls,
        "agree": abs(ratio - 1) <= AGREEMENT,
        "loaded": any(r.loaded for r in loop + full),
        "loop_results": [r.to_dict() for r in loop],
        "full_results": [r.to_dict() for r in full],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two specs, one repeat")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=None)
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.quick else 3)
    started, before = time.time(), os.getloadavg()
    print(f"load average before: {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}")
    print(
        f"{'spec':16} {'in-loop ms':>10} {'full ms':>9} {'ratio':>6} {'spread':>6} {'wall s':>6}"
    )
    rows = {}
    for name, spec in handful(args.quick).items():
        row = rows[name] = measure_spec(spec, args.threads, repeats)
        verdict = ("agree" if row["agree"] else "DISAGREE") + (" (busy)" if row["loaded"] else "")
        print(
            f"{name:16} {statistics.median(row['loop_ms']):10.3f} "
            f"{statistics.median(row['full_ms']):9.3f} {row['loop_over_full']:6.3f} "
            f"{row['loop_spread']:6.0%} {max(row['loop_wall_s']):6.2f}  {verdict}",
            flush=True,
        )
    after = os.getloadavg()
    worst = max(abs(row["loop_over_full"] - 1) for row in rows.values())
    loaded = any(row["loaded"] for row in rows.values())
    path = write_results(
        "latency_indicator-quick" if args.quick else "latency_indicator",
        {
            "threads": args.threads,
            "repeats": repeats,
            "loop_timing": LOOP_TIMING,
            "full_timing": dataclasses.asdict(FULL_TIMING),
            "agreement_limit": AGREEMENT,
            "worst_relative_difference": worst,
            "specs": rows,
            "load_avg_before": list(before),
            "load_avg_after": list(after),
            "loaded": loaded,
            "seconds": time.time() - started,
        },
    )
    print(
        f"\nworst |in-loop / full - 1| = {worst:.1%}; load average before {before[0]:.2f}, after "
        f"{after[0]:.2f}{'; MEASURED UNDER LOAD' if loaded else ''}. Wrote {path}"
    )


if __name__ == "__main__":
    main()
