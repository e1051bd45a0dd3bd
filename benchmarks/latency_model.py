"""The fitted latency cost model against measured latency, on a handful of specs.

Run: python benchmarks/latency_model.py [--quick] [--threads 2] [--model PATH]

Reads the model ``benchmarks/block_throughput.py`` fitted (by default from its results file
for this machine; ``--model`` names another file), predicts each spec's latency with
``predict_latency_ms`` and measures it with the full method (``measure_latency``). Reported
per spec: predicted and measured ms, their ratio, and the predicted share of each section;
overall: the median and worst absolute error, and the rank correlation (Spearman) between
prediction and measurement, which is what a pre-filter needs. Results:
``benchmarks/results/latency_model-<machine>.json`` (``-quick-`` with ``--quick``, which
reads the quick throughput file). Full run: about 30 s on 2 cores; ``--quick``: about 5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from _common import RESULTS, machine_tag, write_results
from _latency_specs import handful

from gensynth.backends import load_latency_model, measure_latency, predict_latency_ms
from gensynth.errors import ConfigError


def spearman(a: list[float], b: list[float]) -> float | None:
    """Spearman's rank correlation (scipy.stats.spearmanr, ties averaged); None below 3."""
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic) if len(a) >= 3 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="two specs, the quick fit")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", type=Path, default=None)
    args = parser.parse_args()
    name = "block_throughput-quick" if args.quick else "block_throughput"
    source = args.model or RESULTS / f"{name}-{machine_tag()}.json"
    model = load_latency_model(source, threads=args.threads)
    started, before = time.time(), os.getloadavg()
    print(f"model: {source}\nload average before: {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}")
    print(f"{'spec':16} {'predicted':>9} {'measured':>9} {'ratio':>6}  largest predicted section")
    rows = {}
    for label, spec in handful(args.quick).items():
        try:
            predicted = predict_latency_ms(spec, threads=args.threads, model=model)
        except ConfigError as error:  # a block type the throughput run did not measure
            print(f"{label:16} skipped: {error.message}")
            continue
        measured = measure_latency(spec.build().eval(), spec.input_shape, threads=args.threads)
        sections = model.sections_ms(spec)
        top = max(sections, key=sections.__getitem__)
        rows[label] = {
            "describe": spec.describe(),
            "predicted_ms": predicted,
            "measured_ms": measured.median_ms,
            "ratio": predicted / measured.median_ms,
            "sections_ms": sections,
            "loaded": measured.loaded,
            "measured": measured.to_dict(),
        }
        print(
            f"{label:16} {predicted:9.3f} {measured.median_ms:9.3f} "
            f"{predicted / measured.median_ms:6.2f}  {top} {sections[top] / predicted:.0%}"
            f"{'  (busy)' if measured.loaded else ''}",
            flush=True,
        )
    errors = [abs(row["ratio"] - 1) for row in rows.values()]
    rho = spearman(
        [row["predicted_ms"] for row in rows.values()],
        [row["measured_ms"] for row in rows.values()],
    )
    after = os.getloadavg()
    loaded = any(row["loaded"] for row in rows.values())
    path = write_results(
        "latency_model-quick" if args.quick else "latency_model",
        {
            "model_file": str(source),
            "model": model.to_dict(),
            "threads": args.threads,
            "specs": rows,
            "median_abs_error": statistics.median(errors),
            "worst_abs_error": max(errors),
            "spearman": rho,
            "load_avg_before": list(before),
            "load_avg_after": list(after),
            "loaded": loaded,
            "seconds": time.time() - started,
        },
    )
    print(
        f"\nerror |predicted / measured - 1|: median {statistics.median(errors):.0%}, worst "
        f"{max(errors):.0%}; Spearman {'-' if rho is None else f'{rho:.2f}'}; load average "
        f"before {before[0]:.2f}, after {after[0]:.2f}{'; MEASURED UNDER LOAD' if loaded else ''}."
        f" Wrote {path}"
    )


if __name__ == "__main__":
    main()
