"""The winner: finalists trained in full, chosen by the rule, exported and timed.

``out/finalists/<trial-N | reference>/`` holds every finalist's model folder, ``out/best/``
the winner's (with ``model.onnx``), ``out/reference/`` the reference net's beside it, and
``out/leaderboard.csv`` the search's ranking. See :mod:`gensynth.search.selection` for the
rule. With ``final_epochs == 0`` the proxy-trained weights of the leaderboard's first trial
are tested as they are (no finalists).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.errors import GensynthError, RequirementUnmet
from gensynth.modeldir import write_metrics
from gensynth.search.events import ExploreEvents
from gensynth.search.screen import SCREEN_FACTOR, SpeedScreen, screen_candidates
from gensynth.search.selection import (
    BASELINE,
    Finalist,
    Selection,
    pick_finalists,
    select_winner,
)
from gensynth.search.stop import StopSignal
from gensynth.studies.records import Attr, TrialRecord, records_of
from gensynth.vocabulary import ONNX_FILE, WEIGHTS_FILE

if TYPE_CHECKING:
    from gensynth.backends import FreshModel, LatencyComparison, LatencyResult, SpeedupStats
    from gensynth.prototypes import ArchSpec
    from gensynth.search.budget import BudgetPlan
    from gensynth.search.session import ExploreSession
    from gensynth.studies.leaderboard import LeaderboardRow

__all__ = ["FINALIST_SLACK", "FinalLatency", "FinalResult", "finalist_time_budget", "finalize",
           "winner"]  # fmt: skip
#: A finalist may train this much longer than the plan's estimate for the reference.
FINALIST_SLACK = 1.2


@dataclasses.dataclass(frozen=True)
class FinalLatency:
    """Every finalist and the large baseline, timed side by side in one run (one method).

    ``labels`` name the models in timing order (``trial-N``, ``reference``, the baseline's
    name); the speed-ups are the winner's over the others, from the same alternating blocks.
    """

    comparison: LatencyComparison
    labels: tuple[str, ...]
    winner: str
    baseline: str | None

    def result(self, label: str) -> LatencyResult | None:
        if label not in self.labels:
            return None
        return self.comparison.results[self.labels.index(label)]

    def speedup(self, label: str) -> SpeedupStats | None:
        """How many times faster the winner is than ``label``, round by round."""
        from gensynth.backends import speedup_stats

        mine, theirs = self.result(self.winner), self.result(label)
        if mine is None or theirs is None or label == self.winner:
            return None
        return speedup_stats(mine, theirs, self.labels.index(label))

    def to_json(self) -> dict[str, Any]:
        """``model``, ``reference`` and ``baseline`` (each with its name) and the speed-ups."""
        data: dict[str, Any] = {
            "method": self.comparison.to_dict()["method"],
            "process": self.comparison.process,
        }
        roles = {"model": self.winner, "reference": "reference", "baseline": self.baseline}
        for role, label in roles.items():
            result = None if label is None else self.result(label)
            if label is None or result is None or (role == "reference" and label == self.winner):
                continue
            data[role] = {"name": label, **result.to_dict()}
            stats = None if role == "model" else self.speedup(label)
            if stats is not None:
                data[f"{role}_speedup"] = stats.to_dict()
        if "baseline_speedup" in data:
            data["speedup"] = data["baseline_speedup"]["speedup"]
        return data


@dataclasses.dataclass
class FinalResult:
    winner: TrialRecord
    model_dir: Path
    metrics: dict[str, Any]
    leaderboard: list[LeaderboardRow]
    latency: FinalLatency | None = None
    selection: Selection | None = None


def winner(session: ExploreSession) -> tuple[TrialRecord, list[LeaderboardRow]]:
    """The best feasible trial by the search (first on the leaderboard) and the leaderboard."""
    from gensynth.studies.leaderboard import leaderboard

    rows = leaderboard(session.study)
    if not rows:
        raise GensynthError(
            f"study {session.spec.study_name!r} has no feasible trained trial yet",
            hint="run more trials (--trials), or loosen the limits",
        )
    by_number = {r.number: r for r in records_of(session.study.get_trials(deepcopy=False))}
    return by_number[rows[0].trial], rows


def finalize(
    session: ExploreSession,
    out: Path,
    events: ExploreEvents,
    stop: StopSignal,
    *,
    baseline: bool = True,
) -> FinalResult:
    """Train the finalists in full, choose the winner, export it and time it (see module)."""
    best, rows = winner(session)
    _write_leaderboard(out, rows)
    if session.spec.final_epochs == 0:
        return _proxy_winner(session, best, rows, out, events, baseline)
    chosen_records, screen = _finalists(session, best, events)
    finalists = _train_finalists(session, chosen_records, out, events, stop)
    events.stage("latency")
    comparison, labels, base = _time(session, finalists, baseline)
    runs = _settle(session, finalists, events)
    selection = select_winner(
        finalists, session.spec.utility, accuracy_min=session.spec.accuracy_min,
        accuracy_slack=session.spec.accuracy_slack, latency_budget_ms=session.spec.latency_ms,
        timing_runs=runs, fastest=session.spec.fastest or None,
        reference_floor=not session.spec.fastest,
    )  # fmt: skip
    if selection.winner is None:
        raise _unmet(session, selection)
    chosen = selection.winner
    latency = FinalLatency(comparison, labels, _label(chosen), base)
    model_dir = _publish(chosen, out / "best")
    if selection.reference is not None:
        _publish(selection.reference, out / "reference")
    events.stage("export")
    metrics = dict(chosen.metrics)
    metrics["export"] = _export(model_dir)
    metrics["latency"] = latency.to_json()
    metrics["search"] = _search_part(session, chosen.record)
    metrics["selection"] = selection.to_json()
    if screen is not None:
        metrics["selection"]["screen"] = screen.to_json()
    metrics["reference"] = _reference_part(selection.reference)
    metrics["netscore_test"] = _netscore_test(session, metrics)
    write_metrics(model_dir, metrics)
    return FinalResult(chosen.record, model_dir, metrics, rows, latency, selection)


def _finalists(
    session: ExploreSession, best: TrialRecord, events: ExploreEvents
) -> tuple[list[TrialRecord], SpeedScreen | None]:
    """The reference and the candidates to train in full, and the speed screen if one ran.

    Multi-objective studies promote the first leaderboard row. Otherwise the finalist rule
    orders the candidates, and the speed screen keeps the first ones not slower than the
    reference (:mod:`gensynth.search.screen`).
    """
    records = records_of(session.study.get_trials(deepcopy=False))
    reference = next((r for r in records if r.trained and r.origin == "reference"), None)
    if session.spec.objectives != ("netscore",):
        chosen = [best] if reference is None or reference is best else [reference, best]
        return chosen, None
    count = session.spec.finalists
    pool = pick_finalists(records, SCREEN_FACTOR * count, reference)
    if reference is None or len(pool) < 2:
        return pool[: count + (reference is not None)], None
    candidates, promotion = pool[1:], None
    if session.spec.promote:  # the best few trained longer on the proxy first
        from gensynth.search.promote import promote_session

        events.stage("promote", min(session.spec.promote, len(candidates)))
        candidates, promotion = promote_session(session, reference, candidates,
                                                session.spec.promote)  # fmt: skip
    events.stage("screen", len(pool) - 1)
    kept, screen = screen_candidates(session, reference, candidates, count)
    screen = dataclasses.replace(screen, promotion=promotion)
    events.screened(screen)
    return [reference, *kept], screen


def finalist_time_budget(plan: BudgetPlan) -> float | None:
    """Seconds each finalist may train: the planner's estimate with some slack, or no bound.

    The plan times the reference; a finalist that trains slower per image (a net of thin,
    high-resolution stages) would overrun the budget. Its epochs are lowered to fit instead,
    so every finalist gets about the same training time.
    """
    if plan.finalist_s is None:
        return None
    return FINALIST_SLACK * plan.finalist_s


def _train_finalists(
    session: ExploreSession,
    records: list[TrialRecord],
    out: Path,
    events: ExploreEvents,
    stop: StopSignal,
) -> list[Finalist]:
    from gensynth.prototypes import spec_from_dict
    from gensynth.training import TrainConfig, train_to_dir

    spec = session.spec
    config = TrainConfig.full(
        spec.task, epochs=spec.final_epochs, seed=spec.seed, threads=spec.threads,
        time_budget=finalist_time_budget(session.plan), device=spec.device,
    )  # fmt: skip
    finalists = []
    for index, record in enumerate(records):
        role = "reference" if record.origin == "reference" else "candidate"
        label = "reference" if role == "reference" else f"trial-{record.number}"
        events.finalist(index + 1, len(records), record, spec.final_epochs)
        folder = out / "finalists" / label
        if folder.exists():  # an earlier finalisation of this run: trained again from scratch
            shutil.rmtree(folder)
        folder.mkdir(parents=True, exist_ok=True)
        metrics = train_to_dir(
            spec_from_dict(record.spec or {}), session.data, config, folder,
            data_source=spec.data, progress=events.training, should_stop=stop,
        )  # fmt: skip
        finalists.append(Finalist(record, role, folder, metrics))
    return finalists


def _time(
    session: ExploreSession, finalists: list[Finalist], baseline: bool
) -> tuple[LatencyComparison, tuple[str, ...], str | None]:
    """Every finalist and the large baseline in one side-by-side run (alternating blocks),
    in a fresh process: as deployed, not in the process that trained them."""
    from gensynth.backends import FreshModel, compare_latency_fresh
    from gensynth.prototypes import spec_from_dict

    items = [
        FreshModel(spec_from_dict(f.record.spec or {}), f.model_dir / WEIGHTS_FILE, f.macs,
                   _label(f))
        for f in finalists
    ]  # fmt: skip
    if baseline:
        items.append(_baseline_item(session, items[0].spec))
    spec = session.spec
    comparison = compare_latency_fresh(
        items, backend=spec.backend, batch=spec.batch, threads=spec.threads
    )
    for finalist, result in zip(finalists, comparison.results, strict=False):
        finalist.latency_ms = result.median_ms
        finalist.latency_spread = result.block_spread
        finalist.latency_blocks = tuple(result.block_medians_ms)
    labels = tuple(item.label for item in items)
    return comparison, labels, labels[-1] if baseline else None


def _settle(session: ExploreSession, finalists: list[Finalist], events: ExploreEvents) -> int:
    """Time the finalists again while a latency verdict is within the noise (see
    :mod:`gensynth.search.noise`); the number of timing runs."""
    from gensynth.backends import FreshModel, compare_latency_fresh
    from gensynth.prototypes import spec_from_dict
    from gensynth.search.noise import settle

    spec = session.spec

    def again() -> tuple[LatencyResult, ...]:
        events.message("  a latency verdict is within the noise: timing the finalists again")
        items = [FreshModel(spec_from_dict(f.record.spec or {}), f.model_dir / WEIGHTS_FILE,
                            f.macs, _label(f)) for f in finalists]  # fmt: skip
        return compare_latency_fresh(
            items, backend=spec.backend, batch=spec.batch, threads=spec.threads
        ).results

    return settle(finalists, again, spec.latency_ms)


def _label(finalist: Finalist) -> str:
    return "reference" if finalist.role == "reference" else f"trial-{finalist.record.number}"


def _baseline_item(session: ExploreSession, like: ArchSpec) -> FreshModel:
    """The task's large baseline net, shaped like the spec ``like`` (untrained)."""
    from gensynth.backends import FreshModel
    from gensynth.constraints import count_costs
    from gensynth.prototypes import reference_spec

    name = BASELINE[session.spec.task]
    ref = reference_spec(
        name, in_channels=like.in_channels, input_size=like.input_size,
        num_classes=like.num_classes,
    )  # fmt: skip
    return FreshModel(ref, None, int(count_costs(ref).macs), name)


def _unmet(session: ExploreSession, selection: Selection) -> RequirementUnmet:
    closest = selection.closest
    return RequirementUnmet(
        f"no finalist reached --accuracy-min {session.spec.accuracy_min:g}%: the closest is "
        f"trial #{closest.record.number} at {closest.val_metric:.2f}% on validation "
        f"({closest.model_dir})",
        hint="the study is kept: rerun with more --trials, or a lower --accuracy-min",
    )


def _publish(finalist: Finalist, folder: Path) -> Path:
    """A copy of a finalist's model folder (replacing an earlier one of this run)."""
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(finalist.model_dir, folder)
    return folder


def _search_part(session: ExploreSession, record: TrialRecord) -> dict[str, Any]:
    return {
        "study": session.spec.study_name,
        "trial": record.number,
        "origin": record.origin,
        "proxy_metric": record.metric,
        "proxy_netscore": record.netscore,
        "limits": session.spec.describe_limits(),
    }


def _reference_part(reference: Finalist | None) -> dict[str, Any] | None:
    if reference is None:
        return None
    metrics = reference.metrics
    return {
        "trial": reference.record.number,
        "describe": reference.record.describe,
        "model_dir": str(reference.model_dir),
        "test": metrics.get("test"),
        "val": metrics.get("val"),
        "params": reference.params,
        "macs": reference.macs,
        "latency_ms": reference.latency_ms,
    }


def _netscore_test(session: ExploreSession, metrics: dict[str, Any]) -> float | None:
    value = metrics["test"].get(metrics["metric"])
    if value is None:
        return None
    return session.spec.utility(value, metrics["params"], metrics["macs"])


def _proxy_winner(
    session: ExploreSession,
    best: TrialRecord,
    rows: list[LeaderboardRow],
    out: Path,
    events: ExploreEvents,
    baseline: bool,
) -> FinalResult:
    """``--final-epochs 0``: the leaderboard's first trial with its proxy weights, tested."""
    model_dir = out / "best"
    model_dir.mkdir(parents=True, exist_ok=True)
    metrics = _proxy_weights(session, best, model_dir)
    finalist = Finalist(best, "candidate", model_dir, metrics)
    events.stage("export")
    metrics["export"] = _export(model_dir)
    events.stage("latency")
    comparison, labels, base = _time(session, [finalist], baseline)
    latency = FinalLatency(comparison, labels, labels[0], base)
    metrics["latency"] = latency.to_json()
    metrics["search"] = _search_part(session, best)
    metrics["netscore_test"] = _netscore_test(session, metrics)
    write_metrics(model_dir, metrics)
    return FinalResult(best, model_dir, metrics, rows, latency, None)


def _proxy_weights(session: ExploreSession, best: TrialRecord, model_dir: Path) -> dict[str, Any]:
    from optuna.artifacts import download_artifact

    from gensynth.modeldir import load_weights, save_model_dir
    from gensynth.prototypes import spec_from_dict
    from gensynth.training import costs_of, evaluate, preprocessing_of

    spec = spec_from_dict(best.spec or {})
    model = spec.build()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / WEIGHTS_FILE
        download_artifact(
            artifact_store=session.artifact_store,
            file_path=str(path),
            artifact_id=best.user_attrs[Attr.WEIGHTS],
        )
        load_weights(model, path)
    size = session.train_config.input_size
    evaluate_at = {"task": spec.task, "input_size": size}
    metrics = {
        "task": spec.task,
        "metric": best.user_attrs.get(Attr.METRIC_NAME),
        "spec_hash": spec.spec_hash,
        "spec": spec.describe(),
        "test": evaluate(model, session.data, split="test", **evaluate_at),
        "val": evaluate(model, session.data, split="val", **evaluate_at),
        "note": "proxy-trained weights from the search (--final-epochs 0), tested once",
        **costs_of(spec),
        "seed": best.user_attrs.get(Attr.SEED),
        "preprocessing": preprocessing_of(spec, session.data),
        # class names for the ONNX metadata (predict) and the model card
        "data": {
            "source": session.spec.data,
            "fingerprint": session.data.fingerprint,
            "class_names": list(session.data.class_names),
        },
    }
    save_model_dir(model_dir, spec, model, metrics)
    return metrics


def _export(model_dir: Path) -> dict[str, Any]:
    from gensynth.deploy import export_model_dir

    # With the gensynth metadata (classes, preprocessing, decision rule) that predict reads.
    report, _ = export_model_dir(model_dir, model_dir / ONNX_FILE)
    return {"path": str(report.path), "max_abs_diff": report.max_abs_diff, "opset": report.opset}


def _write_leaderboard(out: Path, rows: list[LeaderboardRow]) -> None:
    import csv

    with (out / "leaderboard.csv").open("w", newline="") as handle:
        fields = list(rows[0].to_dict()) if rows else ["rank"]
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow(row.to_dict())
