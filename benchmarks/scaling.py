"""Trials per hour with 1 and N workers, for the local engine and for Ray, on this machine.

Each configuration is a real ``gensynth explore`` process on a fresh journal-file study: a
tiny on-disk data set, by default one proxy epoch at 32 px in a 2M-MAC band, no final
training.
Throughput is read back from the study (first trial start to last trial end), so process
start-up, Ray start-up and finalisation are not counted; the "steady" figure is the second
half of the trials by completion (each worker's torch warm-up falls in the first). Ratios
are against 1 worker of the same engine measured in the same run, with all cores and with one
thread. The CPU may be shared: the load average before and after each configuration is kept,
and ``--repeat`` interleaves passes and keeps the best of each configuration.

    python benchmarks/scaling.py                        # local and ray, 1, 2 and 4 workers
    python benchmarks/scaling.py --trials 6 --engines local
    python benchmarks/scaling.py --workers 1,4,8        # a machine with more cores
    python benchmarks/scaling.py --repeat 2             # a busy machine
    python benchmarks/scaling.py --input-size 64 --flops 8M --epochs 3 --trials 16  # heavier
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gensynth import provenance

RESULTS = Path(__file__).parent / "results"


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40, help="complete trials per config")
    parser.add_argument("--workers", default="1,2,4", help="worker counts, e.g. 1,2 or 1,4,8")
    parser.add_argument("--engines", default="local,ray", help="local, ray or both")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--input-size", type=int, default=32, help="px; larger: heavier trials")
    parser.add_argument("--flops", default="2M", help="MAC target; raise it with the size")
    parser.add_argument("--repeat", type=int, default=1, help="passes; the best is kept")
    return parser.parse_args()


Config = tuple[str, int, "int | None"]  # engine, workers, threads per worker (None: auto)


def _configs(engines: list[str], workers: list[int]) -> list[Config]:
    """Per engine: 1 worker with all cores, 1 worker with 1 thread, then N workers."""
    configs: list[Config] = []
    for engine in engines:
        configs += [(engine, 1, None), (engine, 1, 1)]
        configs += [(engine, n, None) for n in workers if n > 1]
    return configs


def _data(root: Path) -> Path:
    folder = root / "data"
    subprocess.run(
        [sys.executable, "-m", "gensynth.cli.main", "data", "synth", str(folder),
         "--per-class", "12", "--size", "48"],
        check=True, capture_output=True,
    )  # fmt: skip
    return folder


def _explore(root: Path, data: Path, config: Config, args: Any, run: int) -> dict[str, Any]:
    engine, workers, threads = config
    name = f"{engine}-{workers}-{threads or 'auto'}-{run}"
    url = f"journal:///{root / name}.log"
    command = [
        sys.executable, "-m", "gensynth.cli.main", "explore", "--data", str(data),
        "--input-size", str(args.input_size), "--flops", args.flops, "--tolerance", "10%",
        "--epochs", str(args.epochs), "--final-epochs", "0", "--no-baseline", "--budget", "off",
        "--trials", str(args.trials), "--timeout", "off", "--storage", url, "--study", name,
        "--engine", engine, "--workers", str(workers), "--out", str(root / f"out-{name}"),
        *(["--threads", str(threads)] if threads else []),
    ]  # fmt: skip
    load_before = os.getloadavg()
    started = time.monotonic()
    run_ = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if run_.returncode != 0:
        raise SystemExit(f"{name} failed:\n{run_.stdout[-2000:]}\n{run_.stderr[-3000:]}")
    return {
        "engine": engine, "workers": workers,
        "threads_per_worker": threads or max(1, (os.cpu_count() or 1) // workers),
        "wall_s": round(wall, 1),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        **_throughput(url, name),
    }  # fmt: skip


def _throughput(url: str, name: str) -> dict[str, Any]:
    """Trials per hour over the span of the trials, all and in the second half."""
    import optuna

    from gensynth.studies.storage import open_storage

    study = optuna.load_study(study_name=name, storage=open_storage(url))
    done = [t for t in study.trials if t.state.name == "COMPLETE"]
    times = sorted((t.datetime_start.timestamp(), t.datetime_complete.timestamp())
                   for t in done if t.datetime_start and t.datetime_complete)  # fmt: skip
    start, end = min(s for s, _ in times), max(e for _, e in times)
    ends = sorted(e for _, e in times)
    # Steady state: the second half of the trials by completion (warm-up is in the first).
    steady_start = ends[len(ends) // 2 - 1] if len(ends) >= 4 else start
    steady = sum(1 for e in ends if e > steady_start)
    busy = sum(e - s for s, e in times)
    trained = [t for t in done if t.user_attrs.get("feasible") and "timings" in t.user_attrs]
    return {
        "complete": len(done),
        "trained": len(trained),  # the rest were infeasible or reused: settled untrained
        "span_s": round(end - start, 1),
        "trials_per_hour": round(3600 * len(done) / (end - start), 1),
        "steady_trials": steady,
        "steady_trials_per_hour": round(3600 * steady / (end - steady_start), 1)
        if steady and end > steady_start else None,
        "mean_trial_s": round(busy / len(done), 2),
        "mean_train_s": round(sum(t.user_attrs["timings"]["train_s"] for t in trained)
                              / len(trained), 2) if trained else None,
        "concurrency": round(busy / (end - start), 2),
        "processes": len({t.user_attrs.get("worker") for t in done}),
    }  # fmt: skip


def _spin(iterations: int = 30_000_000) -> float:
    """Seconds of pure-Python arithmetic: the CPU-bound work no runtime can slow down."""
    started = time.perf_counter()
    total = 0
    for i in range(iterations):
        total += i * i
    return time.perf_counter() - started


def _cpu_ceiling(workers: list[int]) -> dict[str, float]:
    """How much N processes of pure CPU work speed up here: the best scaling can do."""
    import multiprocessing

    one = min(_spin() for _ in range(2))
    ceiling = {}
    with multiprocessing.get_context("spawn").Pool(max(workers)) as pool:
        pool.map(_spin, [1000] * max(workers))  # start-up paid before timing
        for n in (w for w in workers if w > 1):
            times = pool.map(_spin, [30_000_000] * n)
            ceiling[str(n)] = round(one / max(times) * n, 2)
    return ceiling


def _ratios(rows: list[dict[str, Any]]) -> None:
    """Each row against 1 worker of its engine: with all cores, and with one thread."""
    for row in rows:
        same = [r for r in rows if r["engine"] == row["engine"] and r["workers"] == 1]
        for key, base in (("vs_1_worker", same[0]), ("vs_1_worker_1_thread", same[-1])):
            row[key] = round(row["trials_per_hour"] / base["trials_per_hour"], 2)


def main() -> None:
    args = _args()
    workers = [int(w) for w in args.workers.split(",")]
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    configs = _configs(engines, workers)
    passes: list[list[dict[str, Any]]] = []
    ceiling = _cpu_ceiling(workers)
    print(f"pure-CPU ceiling (N processes vs 1): {ceiling}", flush=True)
    with tempfile.TemporaryDirectory(prefix="gensynth-scaling-") as tmp:
        root = Path(tmp)
        data = _data(root)
        for run in range(args.repeat):  # interleaved: a busy spell hits every config alike
            passes.append([])
            for config in configs:
                print(f"pass {run + 1}: {config[0]} × {config[1]} worker(s), "
                      f"{config[2] or 'auto'} thread(s) ...", flush=True)  # fmt: skip
                passes[-1].append(_explore(root, data, config, args, run))
    rows = [max(same, key=lambda r: r["trials_per_hour"]) | {"passes": len(same)}
            for same in zip(*passes, strict=True)]  # fmt: skip
    _ratios(rows)
    ceiling_after = _cpu_ceiling(workers)
    _report(rows, args, [row for one in passes for row in one], [ceiling, ceiling_after])


def _report(
    rows: list[dict[str, Any]], args: Any, every: list[dict[str, Any]], ceiling: list[Any]
) -> None:
    print(f"\n{'engine':<7}{'workers':>8}{'threads':>8}{'trials/h':>10}{'steady/h':>10}"
          f"{'vs 1w':>8}{'vs 1w1t':>9}{'trial s':>9}{'conc.':>7}  load 1-min")  # fmt: skip
    for r in rows:
        print(f"{r['engine']:<7}{r['workers']:>8}{r['threads_per_worker']:>8}"
              f"{r['trials_per_hour']:>10.0f}{r['steady_trials_per_hour'] or 0:>10.0f}"
              f"{r['vs_1_worker']:>7.2f}x{r['vs_1_worker_1_thread']:>8.2f}x"
              f"{r['mean_trial_s']:>9.2f}{r['concurrency']:>7.2f}  "
              f"{r['loadavg_before'][0]:.1f} → {r['loadavg_after'][0]:.1f}")  # fmt: skip
    info = provenance.machine()
    slug = re.sub(r"[^a-z0-9]+", "-", f"{info['cpu']}-{info['cores']}c".lower()).strip("-")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"scaling-{slug}.json"
    payload = {
        "benchmark": "scaling",
        "setup": f"gensynth explore on 72 synthetic images (6 classes, 48 px on disk), input "
        f"{args.input_size} px, {args.flops} MACs ± 10%, {args.epochs} proxy epoch(s), "
        f"{args.trials} trials per config, "
        "journal storage; threads per worker = cores // workers unless the row says 1",
        "figures": "trials per hour over the trials' span (start-up and finalisation "
        f"excluded), best of {args.repeat} interleaved pass(es); steady = the second half of "
        "the trials by completion; vs_1_worker and vs_1_worker_1_thread = ratios against 1 "
        "worker of the same engine in this run; concurrency = summed trial time / span; "
        "cpu_ceiling = speed-up of N pure-Python processes over 1 (the machine's limit)",
        "cpu_ceiling_before_after": ceiling,
        "rows": rows,
        "all_passes": every,
        "machine": info,
        "versions": {**provenance.versions(), **_ray_version()},
        "git_sha": provenance.git_sha(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    runs = [*_earlier_runs(path), payload]
    path.write_text(json.dumps({"benchmark": "scaling", "machine": info, "runs": runs},
                               indent=2) + "\n")  # fmt: skip
    print(f"pure-CPU ceiling before / after: {ceiling}")
    print(f"\nwrote {path} (run {len(runs)}; earlier runs kept: the CPU may have been busier)")


def _ray_version() -> dict[str, str]:
    from importlib import metadata

    try:
        return {"ray": metadata.version("ray")}
    except metadata.PackageNotFoundError:
        return {}


def _earlier_runs(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    try:
        document = json.loads(path.read_text())
    except json.JSONDecodeError:
        return []
    return list(document.get("runs", []))


if __name__ == "__main__":
    main()
