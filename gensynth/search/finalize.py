"""The winner: trained in full, tested once on held-out data, exported, and latency-checked."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.errors import GensynthError
from gensynth.search.events import ExploreEvents
from gensynth.search.stop import StopSignal
from gensynth.studies.records import TrialRecord, records_of

if TYPE_CHECKING:
    from torch import nn

    from gensynth.prototypes import ArchSpec
    from gensynth.search.session import ExploreSession
    from gensynth.studies.leaderboard import LeaderboardRow

__all__ = ["FinalResult", "finalize", "winner"]

BASELINE = {"classify": "resnet50", "segment": "unet"}


@dataclasses.dataclass
class FinalResult:
    winner: TrialRecord
    model_dir: Path
    metrics: dict[str, Any]
    leaderboard: list[LeaderboardRow]


def winner(session: ExploreSession) -> tuple[TrialRecord, list[LeaderboardRow]]:
    """The best feasible trial (first on the leaderboard) and the leaderboard."""
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
    """Train the winner in full into ``out/best``, export it, and time it on the backend."""
    from gensynth.prototypes import spec_from_dict

    best, rows = winner(session)
    spec = spec_from_dict(best.spec)
    model_dir = out / "best"
    model_dir.mkdir(parents=True, exist_ok=True)
    events.stage("final-train", session.spec.final_epochs)
    metrics, model = _train(session, spec, best, model_dir, events, stop)
    events.stage("export")
    metrics["export"] = _export(model, spec, model_dir)
    events.stage("latency")
    metrics["latency"] = _latency(session, model, spec, baseline)
    metrics["search"] = {
        "study": session.spec.study_name,
        "trial": best.number,
        "proxy_metric": best.metric,
        "proxy_netscore": best.netscore,
        "limits": session.spec.describe_limits(),
    }
    metric = metrics["test"].get(metrics["metric"])
    if metric is not None:
        metrics["netscore_test"] = session.spec.utility(metric, metrics["params"], metrics["macs"])
    (model_dir / "metrics.json").write_text(json.dumps(metrics, indent=2, default=str) + "\n")
    _write_leaderboard(out, rows)
    return FinalResult(best, model_dir, metrics, rows)


def _train(
    session: ExploreSession,
    spec: ArchSpec,
    best: TrialRecord,
    model_dir: Path,
    events: ExploreEvents,
    stop: StopSignal,
) -> tuple[dict[str, Any], nn.Module]:
    """Full training when final_epochs > 0; else the proxy weights, tested as they are."""
    from gensynth.modeldir import load_model_dir
    from gensynth.training import TrainConfig, train_to_dir

    source = session.spec.data
    if session.spec.final_epochs > 0:
        config = TrainConfig.for_task(
            session.spec.task,
            epochs=session.spec.final_epochs,
            seed=session.spec.seed,
            threads=session.spec.threads,
        )
        metrics = train_to_dir(
            spec,
            session.data,
            config,
            model_dir,
            data_source=source,
            progress=events.training,
            should_stop=stop,
        )
        return metrics, load_model_dir(model_dir).model
    return _proxy_weights(session, spec, best, model_dir), load_model_dir(model_dir).model


def _proxy_weights(
    session: ExploreSession, spec: ArchSpec, best: TrialRecord, model_dir: Path
) -> dict[str, Any]:
    from optuna.artifacts import download_artifact

    from gensynth.modeldir import WEIGHTS_FILE, load_weights, save_model_dir
    from gensynth.training import costs_of, evaluate

    model = spec.build()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / WEIGHTS_FILE
        download_artifact(
            artifact_store=session.artifact_store,
            file_path=str(path),
            artifact_id=best.user_attrs["weights_artifact"],
        )
        load_weights(model, path)
    size = session.train_config.input_size
    metrics = {
        "task": spec.task,
        "metric": best.user_attrs.get("metric_name"),
        "spec_hash": spec.spec_hash,
        "spec": spec.describe(),
        "test": evaluate(model, session.data, task=spec.task, split="test", input_size=size),
        "note": "proxy-trained weights from the search (--final-epochs 0), tested once",
        **costs_of(spec, model),
        "seed": best.user_attrs.get("seed"),
    }
    save_model_dir(model_dir, spec, model, metrics)
    return metrics


def _export(model: nn.Module, spec: ArchSpec, model_dir: Path) -> dict[str, Any]:
    from gensynth.backends import export_onnx
    from gensynth.modeldir import ONNX_FILE

    report = export_onnx(model, spec.input_shape, model_dir / ONNX_FILE)
    return {"path": str(report.path), "max_abs_diff": report.max_abs_diff, "opset": report.opset}


def _latency(
    session: ExploreSession, model: nn.Module, spec: ArchSpec, baseline: bool
) -> dict[str, Any]:
    from gensynth.backends import measure_latency
    from gensynth.constraints import count_costs
    from gensynth.prototypes import reference_spec

    backend = session.spec.backend
    kwargs: dict[str, Any] = {
        "backend": backend,
        "batch": session.spec.batch,
        "threads": session.spec.threads,
    }
    mine = measure_latency(model, spec.input_shape, macs=count_costs(spec).macs, **kwargs)
    result: dict[str, Any] = {"model": _latency_dict(mine)}
    if baseline:
        name = BASELINE[spec.task]
        ref = reference_spec(
            name,
            in_channels=spec.in_channels,
            input_size=spec.input_size,
            num_classes=spec.num_classes,
        )
        theirs = measure_latency(
            ref.build().eval(), ref.input_shape, macs=count_costs(ref).macs, **kwargs
        )
        result["baseline"] = {"name": name, **_latency_dict(theirs)}
        result["speedup"] = theirs.median_ms / mine.median_ms
    return result


def _latency_dict(result: Any) -> dict[str, Any]:
    keep = ("backend", "batch", "threads", "median_ms", "p90_ms", "per_image_ms", "images_per_s",
            "cv", "repeats")  # fmt: skip
    return {key: getattr(result, key) for key in keep if hasattr(result, key)}


def _write_leaderboard(out: Path, rows: list[LeaderboardRow]) -> None:
    import csv

    with (out / "leaderboard.csv").open("w", newline="") as handle:
        fields = list(rows[0].to_dict()) if rows else ["rank"]
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow(row.to_dict())
