"""How well the proxy ranks candidates: Kendall's tau of proxy against full training.

A short search on a real folder proposes candidates; ``--candidates`` of them, spread over
the search's ranking (and the reference), are trained in full with the final recipe. Each is
also proxy-trained under every setting in ``--proxies`` (``SIZE:EPOCHS``, e.g. the old
default ``96:4``), and Kendall's tau (``scipy.stats.kendalltau``) between each proxy's
validation metric and the fully trained validation (and test) metric says which proxy
ranks like the real thing. The full trainings do not depend on the proxy, so they are done
once.

The search's decision is made at the top, between the best few and the reference, so tau is
also reported among the ``--top`` best candidates by full validation (``tau_top``), and
``--pick top`` trains the search's best candidates instead of ones spread over its ranking.

    python benchmarks/proxy_ranking.py --data ../shared/data/x-sdd --candidates 10 \\
        --proxies 96:4,128:4,200:3
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_results


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="a classification (or --task) folder")
    parser.add_argument("--task", default="classify")
    parser.add_argument("--flops", default="100M")
    parser.add_argument("--trials", type=int, default=16, help="search trials proposing them")
    parser.add_argument("--candidates", type=int, default=10, help="at least 8")
    parser.add_argument("--proxies", default="96:4,128:4", help="SIZE:EPOCHS,...")
    parser.add_argument("--final-epochs", type=int, default=None, help="default: the recipe's")
    parser.add_argument(
        "--final-budget", type=float, default=None,
        help="seconds each full training may take (default: the recipe's time budget)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--pick", default="spread", choices=("spread", "top"),
                        help="spread over the search's ranking, or its best")  # fmt: skip
    parser.add_argument("--top", type=int, default=10, help="tau among this many best")
    parser.add_argument("--quick", action="store_true", help="tiny budgets: a smoke run")
    return parser.parse_args()


def _candidates(args: argparse.Namespace, work: Path) -> tuple[Any, list[Any]]:
    """Specs spread over a short search's ranking (the reference first), and the session."""
    from gensynth.exploration import explore
    from gensynth.prototypes import spec_from_dict
    from gensynth.search.study_spec import ExploreOptions, resolve_options
    from gensynth.studies.records import records_of

    spec = resolve_options(
        ExploreOptions(
            task=args.task, data=args.data, flops=args.flops, trials=args.trials,
            seed=args.seed, storage=f"journal:///{work}/rank.log", study="rank",
            final_epochs=0, timeout="off", budget="off", epochs=1 if args.quick else None,
        )
    )  # fmt: skip
    session = explore(spec, finalize_winner=False).session
    trained = [r for r in records_of(session.study.get_trials()) if r.trained]
    trained.sort(key=lambda r: -(r.netscore or 0.0))
    count = min(args.candidates, len(trained))
    step = (len(trained) - 1) / max(1, count - 1)
    picked = {round(i * step) for i in range(count)}
    if args.pick == "top":
        picked = set(range(count))
    chosen = [r for i, r in enumerate(trained) if i in picked]
    return session, [(r.number, spec_from_dict(r.spec)) for r in chosen]


def _full(
    session: Any, spec: Any, epochs: int | None, budget: float | None, work: Path, number: int
) -> dict:
    from gensynth.training import TrainConfig, train_to_dir

    overrides: dict[str, Any] = {} if epochs is None else {"epochs": epochs}
    if budget is not None:
        overrides["time_budget"] = budget
    config = TrainConfig.full(session.spec.task, seed=session.spec.seed, **overrides)
    started = time.perf_counter()
    metrics = train_to_dir(spec, session.data, config, work / f"full-{number}",
                           data_source=session.spec.data)  # fmt: skip
    name = metrics["metric"]
    return {"val": metrics["val"][name], "test": metrics["test"][name],
            "epochs": len(metrics["history"]),
            "seconds": time.perf_counter() - started}  # fmt: skip


def _proxy(session: Any, spec: Any, size: int, epochs: int) -> float:
    from gensynth.search.inquisitor import Inquisitor
    from gensynth.training import TrainConfig

    data = session.data
    config = TrainConfig.for_task(
        session.spec.task, epochs=epochs, seed=session.spec.seed,
        input_size=None if size >= data.input_size else size,
    )  # fmt: skip
    inquisitor = Inquisitor(data, config, task=session.spec.task, probe_samples=8)
    return inquisitor.evaluate(spec, seed=session.spec.seed).metric


def _taus(rows: list[dict[str, Any]], top: int = 10) -> dict[str, dict[str, float]]:
    """Kendall's tau of each proxy against the fully trained validation and test metric,
    over every candidate and among the ``top`` best by full validation (``tau_top``)."""
    from scipy.stats import kendalltau

    best = sorted(rows, key=lambda r: -r["full"]["val"])[:top]
    taus = {}
    for key in rows[0]["proxy"]:
        proxy = [r["proxy"][key] for r in rows]
        val = kendalltau(proxy, [r["full"]["val"] for r in rows])
        test = kendalltau(proxy, [r["full"]["test"] for r in rows])
        at_top = kendalltau([r["proxy"][key] for r in best], [r["full"]["val"] for r in best])
        taus[key] = {"tau_val": float(val.statistic), "p_val": float(val.pvalue),
                     "tau_test": float(test.statistic), "tau_top": float(at_top.statistic),
                     "p_top": float(at_top.pvalue), "top": len(best)}  # fmt: skip
    return taus


def main() -> None:
    args = _args()
    proxies = [tuple(int(x) for x in item.split(":")) for item in args.proxies.split(",")]
    name = "proxy_ranking-quick" if args.quick else "proxy_ranking"
    rows: list[dict[str, Any]] = []
    taus: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        session, candidates = _candidates(args, work)
        epochs = 2 if args.quick else args.final_epochs
        for number, spec in candidates:
            row = {"trial": number, "describe": spec.describe(),
                   "full": _full(session, spec, epochs, args.final_budget, work, number),
                   "proxy": {}}  # fmt: skip
            for size, proxy_epochs in proxies:
                row["proxy"][f"{size}:{proxy_epochs}"] = _proxy(session, spec, size, proxy_epochs)
            rows.append(row)
            print(f"#{number}: full val {row['full']['val']:.2f} proxy {row['proxy']}", flush=True)
            taus = _taus(rows, args.top) if len(rows) > 1 else {}
            write_results(name, {"settings": vars(args), "candidates": rows, "tau": taus,
                                 "loadavg": list(os.getloadavg())})  # fmt: skip
    for key, tau in taus.items():
        print(f"proxy {key} (px:epochs): Kendall tau {tau['tau_val']:.2f} vs full validation "
              f"(p {tau['p_val']:.3f}), {tau['tau_test']:.2f} vs full test; among the "
              f"{tau['top']} best: {tau['tau_top']:.2f} (p {tau['p_top']:.3f})")  # fmt: skip
    payload = {"settings": vars(args), "candidates": rows, "tau": taus,
               "loadavg": list(os.getloadavg())}  # fmt: skip
    print(f"wrote {write_results(name, payload)}")


if __name__ == "__main__":
    main()
