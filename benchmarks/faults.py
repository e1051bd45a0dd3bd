"""Faults a shared study must survive: trials lost, duplicated, left RUNNING, and recovery time.

Three scenarios, each on real ``gensynth explore`` processes with tiny budgets (a 2M-MAC
band at 32 px, 3 proxy epochs, 30 images, no final training), the same ones the marked
tests in ``tests/engines/test_faults.py`` assert on (see ``tests/fault_scenarios.py`` for
the exact definitions of the counts):

- ``kill-explore``: ``kill -9`` of a local ``explore`` mid-trial, then the same command again;
- ``kill-worker``: ``kill -9`` of one of 4 worker processes mid-trial (the run goes on);
- ``disk-full``: the artifact store, a 4 MiB tmpfs, is filled while a trial trains; the run
  stops; space is freed and the command rerun. Needs root to mount the tmpfs.

Recovery is timed from the fault: ``requeue`` until the trial it hit is recorded as failed
(and re-queued; for ``disk-full``, until the run recorded the failed upload), ``redone``
until its retry is COMPLETE (for ``disk-full``, from the rerun's start: freeing space is the
user's move). ``redone`` is also given as a ratio to the median trained trial of the same
study, i.e. how many trials' worth of time the fault cost.

    python benchmarks/faults.py                                   # journal file, all three
    python benchmarks/faults.py --storage journal,postgresql \\
        --pg-url postgresql://user:pw@127.0.0.1/db                 # or GENSYNTH_TEST_POSTGRES_URL
    python benchmarks/faults.py --scenarios kill-worker --workers 4
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import write_results
from fault_scenarios import (
    Outcome,
    disk_full_mid_run,
    kill_explore_then_rerun,
    kill_one_worker,
    mount_tmpfs,
    unmount,
)
from studies_builders import write_class_folder

SCENARIOS = ("kill-explore", "kill-worker", "disk-full")
COUNTS = ("lost", "duplicated", "left_running", "left_waiting")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated")
    parser.add_argument("--storage", default="journal", help="journal, postgresql or both")
    parser.add_argument("--pg-url", default=os.environ.get("GENSYNTH_TEST_POSTGRES_URL", ""))
    parser.add_argument("--workers", type=int, default=4, help="workers of kill-worker")
    return parser.parse_args()


def _url(storage: str, root: Path, pg_url: str) -> str:
    if storage == "journal":
        return f"journal:///{root}/study.log"
    if not pg_url:
        raise SystemExit("--storage postgresql needs --pg-url or GENSYNTH_TEST_POSTGRES_URL")
    return pg_url


def _median_trial_s(outcome: Outcome) -> float | None:
    spans = [t.user_attrs["timings"]["total_s"] for t in outcome.trials
             if t.state.name == "COMPLETE" and "timings" in t.user_attrs]  # fmt: skip
    return statistics.median(spans) if spans else None


def _run(scenario: str, storage: str, args: argparse.Namespace) -> dict[str, Any]:
    """One scenario in a fresh folder, with the load average around it."""
    with tempfile.TemporaryDirectory(prefix=f"gensynth-faults-{scenario}-") as tmp:
        root = Path(tmp)
        data = write_class_folder(root / "data")
        url, study = _url(storage, root, args.pg_url), f"faults-{uuid.uuid4().hex[:8]}"
        store = root / "artifacts"
        if scenario == "disk-full" and (why := mount_tmpfs(store, "4m")) is not None:
            return {"scenario": scenario, "storage": storage, "skipped": why}
        strike: dict[str, Callable[[], Outcome]] = {
            "kill-explore": lambda: kill_explore_then_rerun(root, data, url, study),
            "kill-worker": lambda: kill_one_worker(root, data, url, study,
                                                   workers=args.workers),
            "disk-full": lambda: disk_full_mid_run(root, data, url, study, store),
        }  # fmt: skip
        load_before, started = os.getloadavg(), time.monotonic()
        try:
            outcome = strike[scenario]()
        finally:
            if scenario == "disk-full":
                unmount(store)
        row = outcome.row()
        median = _median_trial_s(outcome)
        row.update(
            median_trial_s=None if median is None else round(median, 2),
            redone_vs_trial=round(outcome.redone_s / median, 2)
            if median and outcome.redone_s is not None else None,
            wall_s=round(time.monotonic() - started, 1),
            loadavg_before=[round(x, 2) for x in load_before],
            loadavg_after=[round(x, 2) for x in os.getloadavg()],
        )  # fmt: skip
        return row


def _report(rows: list[dict[str, Any]]) -> None:
    print(f"\n{'scenario':<30}{'storage':<12}{'lost':>5}{'dup':>5}{'RUN':>5}{'WAIT':>5}"
          f"{'requeue s':>11}{'redone s':>10}{'x trial':>9}{'trials':>8}  load 1-min")  # fmt: skip
    for r in rows:
        if "skipped" in r:
            print(f"{r['scenario']:<30}{r['storage']:<12}skipped: {r['skipped']}")
            continue
        print(f"{r['scenario']:<30}{r['storage']:<12}"
              + "".join(f"{r[k]:>5}" for k in COUNTS)
              + f"{_num(r['requeue_s']):>11}{_num(r['redone_s']):>10}"
              f"{_num(r['redone_vs_trial']):>9}{r['complete']:>4}/{r['trials']:<3}"
              f"  {r['loadavg_before'][0]:.1f} → {r['loadavg_after'][0]:.1f}")  # fmt: skip


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def main() -> None:
    args = _args()
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    storages = [s.strip() for s in args.storage.split(",") if s.strip()]
    unknown = sorted(set(scenarios) - set(SCENARIOS))
    if unknown:
        raise SystemExit(f"unknown scenarios {unknown}; expected some of {list(SCENARIOS)}")
    rows = []
    for scenario in scenarios:
        for storage in storages if scenario != "disk-full" else storages[:1]:
            print(f"{scenario} on {storage} ...", flush=True)
            rows.append(_run(scenario, storage, args))
    _report(rows)
    failed = [r for r in rows if any(r.get(k) for k in COUNTS)]
    path = write_results("faults", {
        "settings": {"scenarios": scenarios, "storages": storages, "workers": args.workers,
                     "budget": "2M MACs at 32 px, 3 proxy epochs, 30 images, 3-6 trials"},
        "rows": rows,
        "all_zero": not failed,
    })  # fmt: skip
    print(f"\nwrote {path}")
    if failed:
        raise SystemExit(f"{len(failed)} scenario(s) lost, repeated or left trials behind")


if __name__ == "__main__":
    main()
