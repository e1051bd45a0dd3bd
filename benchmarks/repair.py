"""Repair benchmark: how often random proposals land in a MAC band, before and after repair.

Run: python benchmarks/repair.py [--proposals 1000] [--seed 0]

For each case, ``--proposals`` designs are drawn with ``Prototype.sample`` from an Optuna
study with a seeded RandomSampler, then repaired with ``gensynth.constraints.repair``:

- ``residual`` at 100M ± 5% MACs (200x200x1, 6 classes);
- ``residual-unet`` at 0.44G ± 5% MACs (224x224x1, 1 output map).

Reported: the share inside the band before repair (the naive baseline) and after, the median
and p90 seconds per repaired proposal, cost evaluations per repair, which fallbacks were used,
and the reasons for proposals that stay infeasible. As a baseline measured in the same run,
one fvcore trace per proposal is timed on a few proposals: the analytic count's speed-up.
Results go to ``benchmarks/results/repair-<machine>.json`` with machine, versions and load.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from gensynth.constraints import FlopsBand, count_costs, count_module, repair
from gensynth.prototypes import get_prototype
from gensynth.provenance import git_sha, machine, versions

RESULTS = Path(__file__).parent / "results"
CASES = {
    "residual": {"band": FlopsBand(100_000_000, 0.05), "input_size": 200, "num_classes": 6},
    "residual-unet": {"band": FlopsBand(440_000_000, 0.05), "input_size": 224, "num_classes": 1},
}


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, 100.0 * q, method="nearest"))


def _fallback(detail: str) -> str:
    if not detail:
        return "none"
    kinds = set()
    for part in detail.split("; "):
        if "block" in part:
            kinds.add("shallower")
        elif "multiples of 4" in part:
            kinds.add("round-to-4")
        elif "nudged" in part:
            kinds.add("nudged")
    return "+".join(sorted(kinds))


def run_case(name: str, proposals: int, seed: int) -> dict[str, Any]:
    """Sample, count and repair ``proposals`` designs of prototype ``name``."""
    case = CASES[name]
    band: FlopsBand = case["band"]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    runs = [_one(name, case, study) for _ in range(proposals)]
    times = [run["repair_s"] for run in runs]
    steps = [float(run["steps"]) for run in runs]
    reasons = [run["reason"] for run in runs if run["reason"]]
    trace_s = _fvcore_seconds([run["spec"] for run in runs[:3]])
    return {
        "prototype": name,
        "band": band.describe(),
        "input": [1, case["input_size"], case["input_size"]],
        "proposals": proposals,
        "in_band_before": sum(run["before"] for run in runs) / proposals,
        "in_band_after": sum(run["after"] for run in runs) / proposals,
        "repair_s_median": statistics.median(times),
        "repair_s_p90": _percentile(times, 0.9),
        "repair_s_max": max(times),
        "sample_s_median": statistics.median(run["sample_s"] for run in runs),
        "cost_evaluations_median": statistics.median(steps),
        "cost_evaluations_p90": _percentile(steps, 0.9),
        "fallbacks": dict(Counter(run["fallback"] for run in runs if run["after"])),
        "infeasible": reasons[:20],
        "fvcore_trace_s_median": trace_s,
        "repair_with_fvcore_s_estimate": trace_s * statistics.median(steps),
    }


def _one(name: str, case: dict[str, Any], study: optuna.Study) -> dict[str, Any]:
    """One proposal: sample it, check it against the band, repair it, check again."""
    band: FlopsBand = case["band"]
    start = time.perf_counter()
    spec = get_prototype(name).sample(
        study.ask(),
        in_channels=1,
        input_size=case["input_size"],
        num_classes=case["num_classes"],
    )
    sample_s = time.perf_counter() - start
    before = band.contains(count_costs(spec).macs)
    start = time.perf_counter()
    result = repair(spec, band)
    repair_s = time.perf_counter() - start
    after = result.feasible and band.contains(count_costs(result.spec).macs)
    return {
        "spec": spec,
        "sample_s": sample_s,
        "repair_s": repair_s,
        "steps": result.steps,
        "before": before,
        "after": after,
        "fallback": _fallback(result.detail),
        "reason": None if after else f"{spec.describe()}: {result.reason}",
    }


def _fvcore_seconds(specs: list[Any]) -> float:
    """Seconds to count one proposal by building and tracing it: the baseline."""
    times = []
    for spec in specs:
        start = time.perf_counter()
        count_module(spec.build(), (1, *spec.input_shape))
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _print(result: dict[str, Any]) -> None:
    print(f"\n{result['prototype']} at {result['band']}, input {result['input']}:")
    before, after = result["in_band_before"], result["in_band_after"]
    print(f"  in band: {before:.1%} before repair -> {after:.1%} after")
    print(
        f"  repair: median {result['repair_s_median'] * 1e3:.2f} ms, "
        f"p90 {result['repair_s_p90'] * 1e3:.2f} ms, max {result['repair_s_max'] * 1e3:.1f} ms; "
        f"{result['cost_evaluations_median']:.0f} cost evaluations (median)"
    )
    speedup = result["repair_with_fvcore_s_estimate"] / max(result["repair_s_median"], 1e-9)
    print(
        f"  baseline: one fvcore trace takes {result['fvcore_trace_s_median']:.2f} s; "
        f"repair with it would take ~{result['repair_with_fvcore_s_estimate']:.1f} s "
        f"({speedup:.0f}x slower)"
    )
    print(f"  fallbacks used: {result['fallbacks']}")
    for reason in result["infeasible"][:5]:
        print(f"  infeasible: {reason}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    load_before = os.getloadavg()
    results = [run_case(name, args.proposals, args.seed) for name in CASES]
    for result in results:
        _print(result)
    info = machine()
    report = {
        "benchmark": "repair",
        "machine": info,
        "versions": versions(),
        "git_sha": git_sha(),
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
        "seed": args.seed,
        "results": results,
    }
    slug = re.sub(r"[^a-z0-9]+", "-", f"{info['cpu']}-{info['cores']}c".lower()).strip("-")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"repair-{slug}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nload average {load_before[0]:.2f} -> {report['load_average_after'][0]:.2f}")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
