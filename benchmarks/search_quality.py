"""Search quality on real data: the generator against its own earlier drafting, TPE and random.

For each strategy and seed, a search of the same trial budget on a real folder (100M MACs
± 5%; every strategy repairs every proposal into the band), then the ``--train-top`` best
candidates by proxy NetScore (``--pick finalists``: the reference and the ``--train-top`` first
in explore's finalist order) are trained in full with the default recipe and tested once.
The figure that matters is the best fully trained test accuracy (and its NetScore); the
best proxy NetScore is reported beside it. Strategies:

- ``generative``: the default (reference first, fresh designs drafted by the study's TPE on
  a copy of the study, mutations of elites guided by the inquisitor);
- ``generative-random``: the same, with fresh designs drafted from a seeded random sampler
  instead of the study's TPE (how the generator drafted before);
- ``tpe`` and ``random``: one draw of the study's sampler per trial, repaired the same way.

    python benchmarks/search_quality.py --data ../shared/data/x-sdd --seeds 0,1,2
    python benchmarks/search_quality.py --data ../shared/data/x-sdd --train-top 1 \
        --final-budget 240
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_results

STRATEGIES = ("generative", "generative-random", "tpe", "random")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="synthetic", help="a classification folder")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=None, help="proxy epochs (default)")
    parser.add_argument("--flops", default="100M")
    parser.add_argument("--train-top", type=int, default=2)
    parser.add_argument(
        "--pick", choices=("netscore", "finalists"), default="netscore",
        help="which candidates to train: best proxy NetScore, or explore's finalist order "
        "(those at least as accurate as the reference on the proxy first; the reference too)",
    )  # fmt: skip
    parser.add_argument("--final-epochs", type=int, default=30)
    parser.add_argument(
        "--final-budget", type=float, default=None,
        help="seconds each full training may take (epochs are lowered to fit; default: none)",
    )  # fmt: skip
    parser.add_argument("--threads", type=int, default=None)
    return parser.parse_args()


@contextlib.contextmanager
def _random_drafts() -> Iterator[None]:
    """The generator's fresh designs from a seeded random sampler, as before the change."""
    import optuna

    from gensynth.search.generator import Generator
    from gensynth.studies.samplers import trial_stream_seed

    real = Generator._draft

    def draft(self: Generator, trial: Any, count: int) -> list[Any]:
        sampler = optuna.samplers.RandomSampler(
            seed=trial_stream_seed(self.study_spec.seed, trial.number)
        )
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        copy = optuna.create_study(sampler=sampler)
        return [self.prototype.sample(copy.ask(), **self.io) for _ in range(count)]

    Generator._draft = draft  # type: ignore[method-assign]
    try:
        yield
    finally:
        Generator._draft = real  # type: ignore[method-assign]


def run_one(strategy: str, seed: int, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    from gensynth.exploration import explore
    from gensynth.search.selection import accurate_pool, pick_finalists
    from gensynth.search.study_spec import ExploreOptions, resolve_options
    from gensynth.studies.records import records_of

    name = f"{strategy}-{seed}"
    options = ExploreOptions(
        data=args.data, flops=args.flops, trials=args.trials, epochs=args.epochs,
        strategy="generative" if strategy == "generative-random" else strategy, seed=seed,
        timeout="off", budget="off", final_epochs=0, threads=args.threads, study=name,
        storage=f"journal:///{work}/{name}.log",
    )  # fmt: skip
    started = time.perf_counter()
    patch = _random_drafts() if strategy == "generative-random" else contextlib.nullcontext()
    with patch:
        session = explore(resolve_options(options), finalize_winner=False).session
    search_s = time.perf_counter() - started
    records = records_of(session.study.get_trials(deepcopy=False))
    complete = [r for r in records if r.state == "COMPLETE"]
    trained = sorted((r for r in complete if r.trained), key=lambda r: -(r.netscore or -1e9))
    reference = next((r for r in trained if r.origin == "reference"), None)
    if args.pick == "finalists":
        chosen = pick_finalists(trained, args.train_top, reference)
    else:
        chosen = trained[: args.train_top]
    full = [_train(session, r, args, work / name) for r in chosen]
    searched = [f for f in full if f["origin"] != "reference"]
    best = max(searched, key=lambda f: f["test_metric"]) if searched else None
    hand = next((f for f in full if f["origin"] == "reference"), None)
    return {
        "strategy": strategy, "seed": seed, "pick": args.pick,
        "best_proxy_netscore": trained[0].netscore if trained else None,
        "reference_proxy_metric": None if reference is None else reference.metric,
        "as_accurate_as_reference": (
            sum(r.origin != "reference" for r in accurate_pool(complete)) if reference else None
        ),
        "reference_full_test": None if hand is None else hand["test_metric"],
        "best_full_test": best["test_metric"] if best else None,
        "best_full_netscore": best["netscore_test"] if best else None,
        "best_full_trial": best["trial"] if best else None, "full": full,
        "feasible_share": sum(r.feasible for r in complete) / max(1, len(complete)),
        "origins": {o: sum(r.origin == o for r in complete) for o in {r.origin for r in complete}},
        "search_s": search_s, "loadavg": list(os.getloadavg()),
    }  # fmt: skip


def _train(session: Any, record: Any, args: argparse.Namespace, folder: Path) -> dict:
    from gensynth.prototypes import spec_from_dict
    from gensynth.training import TrainConfig, train_to_dir

    spec = spec_from_dict(record.spec)
    config = TrainConfig.full(
        session.spec.task, epochs=args.final_epochs, time_budget=args.final_budget,
        seed=session.spec.seed, threads=args.threads,
    )  # fmt: skip
    out = folder / f"trial-{record.number}"
    out.mkdir(parents=True, exist_ok=True)
    metrics = train_to_dir(spec, session.data, config, out, data_source=session.spec.data)
    value = metrics["test"][metrics["metric"]]
    return {
        "trial": record.number, "origin": record.origin, "describe": record.describe,
        "proxy_metric": record.metric, "proxy_netscore": record.netscore,
        "val_metric": metrics["val"][metrics["metric"]], "test_metric": value,
        "netscore_test": session.spec.utility(value, metrics["params"], metrics["macs"]),
        "params": metrics["params"], "macs": metrics["macs"],
        "epochs": len(metrics["history"]), "train_s": metrics["timings"]["train_seconds"],
    }  # fmt: skip


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    summary = {}
    for strategy in dict.fromkeys(r["strategy"] for r in runs):
        mine = [r for r in runs if r["strategy"] == strategy]
        tests = [r["best_full_test"] for r in mine if r["best_full_test"] is not None]
        scores = [r["best_proxy_netscore"] for r in mine if r["best_proxy_netscore"] is not None]
        summary[strategy] = {
            "mean_best_full_test": statistics.mean(tests) if tests else None,
            "stdev_best_full_test": statistics.stdev(tests) if len(tests) > 1 else 0.0,
            "per_seed_full_test": tests,
            "mean_best_proxy_netscore": statistics.mean(scores) if scores else None,
            "per_seed_reference_full_test": [r.get("reference_full_test") for r in mine],
            "per_seed_as_accurate_as_reference": [r.get("as_accurate_as_reference") for r in mine],
        }
    return summary


def main() -> None:
    args = _args()
    name = "search_quality" if args.pick == "netscore" else f"search_quality-{args.pick}"
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in [int(s) for s in args.seeds.split(",")]:
            for strategy in args.strategies.split(","):
                run = run_one(strategy, seed, args, Path(tmp))
                runs.append(run)
                hand = run["reference_full_test"]
                print(f"{strategy:<18} seed {seed}: best fully trained test "
                      f"{run['best_full_test']:.2f}% (proxy NetScore "
                      f"{run['best_proxy_netscore']:.2f}) in {run['search_s']:.0f} s of search"
                      + ("" if hand is None else f"; the reference {hand:.2f}%"),
                      flush=True)  # fmt: skip
                write_results(name, {"settings": vars(args), "runs": runs,
                                     "summary": _summary(runs)})  # fmt: skip
    for strategy, row in _summary(runs).items():
        print(f"{strategy:<18} best fully trained test {row['mean_best_full_test']:.2f} ± "
              f"{row['stdev_best_full_test']:.2f} ({row['per_seed_full_test']})")  # fmt: skip


if __name__ == "__main__":
    main()
