"""Every trial of a study as rows: spec, costs, metrics, constraints, state and reasons.

JSON keeps nested values (spec, metrics, constraints) as they are; CSV gives each constraint
its own column, the spec as YAML text and the other nested values as JSON text.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.errors import ConfigError
from gensynth.studies.records import Attr, TrialRecord
from gensynth.studies.storage import redact
from gensynth.studies.study import DATA_KEY, SPEC_KEY

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

__all__ = ["FORMATS", "export_study", "study_document", "trial_row", "write_export"]

FORMATS = ("csv", "json")
_FIRST_COLUMNS = (
    "number", "state", "feasible", "origin", "values", "metric_name", "metric", "netscore",
    "macs", "params", "latency_ms", "describe", "spec_hash", "infeasible_reason", "fail_reason",
    "reused_from", "retry_of", "duration_s", "datetime_start", "datetime_complete", "worker",
    "weights_artifact",
)  # fmt: skip


def _time(value: Any) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def trial_row(trial: FrozenTrial) -> dict[str, Any]:
    """One trial as a JSON-ready dict (nested values kept nested)."""
    record = TrialRecord.from_trial(trial)
    attrs = trial.user_attrs
    retried = (trial.system_attrs.get("retry_history") or [None])[-1]
    return {
        "number": trial.number,
        "state": trial.state.name,
        "feasible": record.feasible if trial.state.name == "COMPLETE" else None,
        "origin": record.origin or None,
        "values": list(trial.values) if trial.values is not None else None,
        "metric_name": attrs.get(Attr.METRIC_NAME),
        "metric": record.metric,
        "netscore": record.netscore,
        "macs": record.macs,
        "params": record.params,
        "latency_ms": record.latency_ms,
        "describe": record.describe or None,
        "spec_hash": record.spec_hash,
        "infeasible_reason": record.reason,
        "fail_reason": record.fail_reason or _fail_reason(trial),
        "reused_from": attrs.get(Attr.REUSED_FROM),
        "retry_of": retried,
        "duration_s": None if record.duration_s is None else round(record.duration_s, 3),
        "datetime_start": _time(trial.datetime_start),
        "datetime_complete": _time(trial.datetime_complete),
        "worker": attrs.get(Attr.WORKER),
        "weights_artifact": attrs.get(Attr.WEIGHTS),
        "constraints": record.constraints,
        "metrics": attrs.get(Attr.METRICS),
        "timings": attrs.get(Attr.TIMINGS),
        "insights": attrs.get(Attr.INSIGHTS),
        "spec": record.spec,
    }


def _fail_reason(trial: FrozenTrial) -> str | None:
    if trial.state.name == "FAIL":
        return "no reason recorded (a stale heartbeat: the worker stopped answering)"
    return None


def study_document(study: optuna.Study, storage_url: str) -> dict[str, Any]:
    """The study's settings, data and every trial, as one JSON-ready document."""
    spec = dict(study.user_attrs.get(SPEC_KEY) or {})
    if "storage" in spec:
        spec["storage"] = redact(str(spec["storage"]))
    return {
        "study": study.study_name,
        "storage": redact(storage_url),
        "directions": [d.name.lower() for d in study.directions],
        "spec": spec or None,
        "data": study.user_attrs.get(DATA_KEY),
        "trials": [trial_row(t) for t in study.get_trials(deepcopy=False)],
    }


def _csv_text(rows: list[dict[str, Any]]) -> str:
    constraint_names = sorted({name for row in rows for name in row["constraints"]})
    columns = [*_FIRST_COLUMNS, *(f"constraint_{n}" for n in constraint_names),
               "metrics", "timings", "insights", "spec"]  # fmt: skip
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        flat = {key: row[key] for key in _FIRST_COLUMNS}
        flat["values"] = None if row["values"] is None else ";".join(map(str, row["values"]))
        for name in constraint_names:
            flat[f"constraint_{name}"] = row["constraints"].get(name)
        for key in ("metrics", "timings", "insights"):
            flat[key] = None if row[key] is None else json.dumps(row[key], sort_keys=True)
        flat["spec"] = _spec_yaml(row["spec"])
        writer.writerow(flat)
    return buffer.getvalue()


def _spec_yaml(spec: dict[str, Any] | None) -> str | None:
    from gensynth.config import dump_yaml

    return None if spec is None else dump_yaml(spec)


def export_study(study: optuna.Study, storage_url: str, fmt: str) -> str:
    """The study as CSV (one row per trial) or JSON (settings, data and trials)."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    document = study_document(study, storage_url)
    if fmt == "json":
        return json.dumps(document, indent=2, default=str) + "\n"
    return _csv_text(document["trials"])


def write_export(text: str, out: Path | None) -> None:
    """Write to ``out``, or to stdout when ``out`` is None."""
    if out is None:
        import sys

        sys.stdout.write(text)
        sys.stdout.flush()
        return
    if not out.parent.is_dir():
        raise ConfigError(
            f"--out {str(out)!r}: folder {str(out.parent)!r} does not exist",
            hint="create it first",
        )
    out.write_text(text, encoding="utf-8")
