"""One exploration end to end: open or resume the study, run trials, finalise the winner."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.search.events import ExploreEvents
from gensynth.search.loop import StopSignal, count_complete, run_trials
from gensynth.search.recovery import recover_lost_trials
from gensynth.search.session import open_session

if TYPE_CHECKING:
    from gensynth.data.dataset import DefectDataset
    from gensynth.search.finalize import FinalResult
    from gensynth.search.session import ExploreSession
    from gensynth.search.study_spec import StudySpec

__all__ = ["ExploreResult", "explore"]


@dataclasses.dataclass
class ExploreResult:
    session: ExploreSession
    completed: int
    seconds: float
    final: FinalResult | None
    stopped: bool


def explore(
    spec: StudySpec,
    events: ExploreEvents | None = None,
    *,
    force_resume: bool = False,
    overwrite: bool = False,
    finalize_winner: bool = True,
    baseline: bool = True,
    stop: StopSignal | None = None,
    data: DefectDataset | None = None,
) -> ExploreResult:
    """Run (or continue) the study described by ``spec`` and finalise its winner in ``out``.

    ``data`` replaces loading ``spec.data`` (tests, notebooks); it must match the spec's task.
    ``overwrite`` lets the winner replace the files of an earlier run in ``out``.
    """
    from gensynth.modeldir import check_explore_out
    from gensynth.search.finalize import finalize
    from gensynth.studies.engines import check_engine

    if finalize_winner:  # before an hour of search, not after it
        check_explore_out(Path(spec.out), overwrite=overwrite)

    check_engine(spec)  # engine misfits fail before any data is read or study opened
    events = events or ExploreEvents()
    started = time.monotonic()
    stop = stop or StopSignal(None if spec.timeout_s is None else started + spec.timeout_s)
    session = open_session(spec, force_resume=force_resume, data=data)
    requeued = recover_lost_trials(session.study)
    done = count_complete(session.study)
    events.started(_start_info(session, done, requeued))
    completed = _run(session, events, stop)
    final = None
    if finalize_winner:
        out = Path(spec.out)
        out.mkdir(parents=True, exist_ok=True)
        final = finalize(session, out, events, StopSignal(), baseline=baseline)
    return ExploreResult(session, completed, time.monotonic() - started, final, stop())


def _run(session: ExploreSession, events: ExploreEvents, stop: StopSignal) -> int:
    spec = session.spec
    if spec.engine == "ray":
        from gensynth.studies.ray_engine import run_ray

        return run_ray(session, events, stop)
    if spec.workers > 1:
        from gensynth.studies.workers import run_workers

        return run_workers(session, events, stop)
    return run_trials(session, events, stop)


def _start_info(session: ExploreSession, done: int, requeued: list[int]) -> dict[str, Any]:
    from gensynth.studies.storage import redact

    spec = session.spec
    return {
        "study": spec.study_name,
        "storage": redact(spec.storage),
        "resumed": session.resumed,
        "completed": done,
        "trials": spec.trials,
        "requeued": requeued,
        "limits": spec.describe_limits(),
        "prototype": spec.prototype,
        "task": spec.task,
        "data": f"{spec.data} ({session.data.format}, {len(session.data)} images, "
        f"{session.data.input_size}px)",
        "proxy": f"{spec.epochs} epoch{'' if spec.epochs == 1 else 's'} at "
        f"{session.train_config.input_size or session.data.input_size}px"
        + (f" on {spec.proxy_samples} images" if spec.proxy_samples else ""),
        "timeout_s": spec.timeout_s,
        "final_epochs": spec.final_epochs,
        "artifacts": str(session.artifact_dir),
    }
