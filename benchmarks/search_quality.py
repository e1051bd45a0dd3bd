"""Search quality: generator–inquisitor vs random sampling vs plain TPE, same trial budget.

For each strategy and seed, an exploration on the synthetic NEU-like data at 100M MACs ± 5%
(all three repair every proposal into the band; only ``generative`` mutates elites guided by
the inquisitor's insights). Reports the best validation NetScore after N trials, its mean over
seeds, the loop overhead (everything but training and probing) as a share of trial time, and
the share of feasible trials.

    python benchmarks/search_quality.py --trials 12 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, machine_tag, write_results

from gensynth import provenance
from gensynth.data import load_dataset
from gensynth.explore import explore
from gensynth.search.study_spec import ExploreOptions, resolve_options
from gensynth.studies.records import records_of

STRATEGIES = ("generative", "tpe", "random")


def run_one(strategy: str, seed: int, args: argparse.Namespace, data: Any, tmp: Path) -> dict:
    spec = resolve_options(
        ExploreOptions(
            flops=args.flops, trials=args.trials, epochs=args.epochs, proxy_size=args.proxy_size,
            proxy_samples=args.proxy_samples, strategy=strategy, seed=seed, timeout="off",
            study=f"{strategy}-{seed}", storage=f"sqlite:///{tmp}/{strategy}-{seed}.db",
            final_epochs=0, threads=args.threads,
        )
    )  # fmt: skip
    started = time.perf_counter()
    result = explore(spec, data=data, finalize_winner=False, baseline=False)
    records = records_of(result.session.study.get_trials(deepcopy=False))
    complete = [r for r in records if r.state == "COMPLETE"]
    feasible = [r for r in complete if r.feasible]
    trained = [r for r in feasible if r.origin != "reuse"]
    timings = [r.user_attrs.get("timings", {}) for r in trained]
    total = sum(t.get("total_s", 0.0) for t in timings)
    overhead = sum(t.get("overhead_s", 0.0) for t in timings)
    best_curve, best = [], float("-inf")
    for r in complete:
        if r.feasible and r.netscore is not None:
            best = max(best, r.netscore)
        best_curve.append(best)
    return {
        "strategy": strategy,
        "seed": seed,
        "best_netscore": best,
        "best_metric": max((r.metric or 0.0) for r in feasible) if feasible else None,
        "best_curve": best_curve,
        "feasible_share": len(feasible) / max(1, len(complete)),
        "overhead_share": overhead / total if total else None,
        "origins": {o: sum(r.origin == o for r in complete) for o in {r.origin for r in complete}},
        "seconds": time.perf_counter() - started,
        "git_sha": provenance.git_sha(),
    }


def _merge_earlier(runs: list[dict], args: argparse.Namespace) -> list[dict]:
    """Keep earlier runs of strategies not rerun now, when they used the same settings."""
    path = RESULTS / f"search_quality-{machine_tag()}.json"
    if not path.exists():
        return runs
    earlier = json.loads(path.read_text())
    same = {k: v for k, v in earlier.get("settings", {}).items() if k != "strategies"}
    mine = {k: v for k, v in vars(args).items() if k != "strategies"}
    if same != mine:
        return runs
    kept = [r for r in earlier.get("runs", []) if r["strategy"] not in args.strategies]
    for run in kept:
        run.setdefault("git_sha", earlier.get("git_sha"))
    return kept + runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--proxy-size", type=int, default=64)
    parser.add_argument("--proxy-samples", type=int, default=None)
    parser.add_argument("--flops", default="100M")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES))
    args = parser.parse_args()
    data = load_dataset("synthetic", task="classify", input_size=200)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for strategy in args.strategies:
                run = run_one(strategy, seed, args, data, Path(tmp))
                runs.append(run)
                print(
                    f"{strategy:<10} seed {seed}: best NetScore {run['best_netscore']:.2f} "
                    f"feasible {run['feasible_share']:.0%} overhead "
                    f"{(run['overhead_share'] or 0):.1%} ({run['seconds']:.0f} s)",
                    flush=True,
                )
    runs = _merge_earlier(runs, args)
    strategies = list(dict.fromkeys(r["strategy"] for r in runs))
    summary = {}
    for strategy in strategies:
        scores = [r["best_netscore"] for r in runs if r["strategy"] == strategy]
        summary[strategy] = {
            "mean_best_netscore": statistics.mean(scores),
            "stdev": statistics.stdev(scores) if len(scores) > 1 else 0.0,
            "per_seed": scores,
        }
    reference = summary.get("random", {}).get("mean_best_netscore")
    for strategy, row in summary.items():
        mean, spread = row["mean_best_netscore"], row["stdev"]
        delta = "" if reference is None else f" ({mean - reference:+.2f} vs random)"
        print(f"{strategy:<10} mean best NetScore {mean:.2f} ± {spread:.2f}{delta}")
    path = write_results(
        "search_quality", {"settings": vars(args), "summary": summary, "runs": runs}
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
