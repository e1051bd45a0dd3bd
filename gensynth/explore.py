"""One exploration end to end: open or resume the study, run its engine, finalise the winner.

This is the Python entry point behind ``gensynth explore``: ``explore(resolve_options(...))``.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import TYPE_CHECKING

from gensynth.engines import engine_for
from gensynth.search.events import ExploreEvents, RunStart
from gensynth.search.runner import count_complete
from gensynth.search.session import open_session
from gensynth.search.stop import StopSignal
from gensynth.studies.recovery import recover_lost_trials
from gensynth.studies.storage import redact

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

    if finalize_winner:  # before an hour of search, not after it
        check_explore_out(Path(spec.out), overwrite=overwrite)
    engine = engine_for(spec)  # engine misfits fail before any data is read or study opened
    events = events or ExploreEvents()
    started = time.monotonic()
    stop = stop or StopSignal()
    if stop.deadline is None and spec.timeout_s is not None:
        stop.deadline = started + spec.timeout_s
    session = open_session(spec, force_resume=force_resume, data=data)
    requeued = recover_lost_trials(session.study)
    events.started(run_start(session, count_complete(session.study), requeued))
    completed = engine.run(session, events, stop)
    final = None
    if finalize_winner:
        out = Path(spec.out)
        out.mkdir(parents=True, exist_ok=True)
        final = finalize(session, out, events, StopSignal(), baseline=baseline)
    return ExploreResult(session, completed, time.monotonic() - started, final, stop())


def run_start(session: ExploreSession, done: int, requeued: list[int]) -> RunStart:
    """The start-of-run summary of a session."""
    spec, data = session.spec, session.data
    proxy_size = session.train_config.input_size or data.input_size
    return RunStart(
        study=spec.study_name,
        storage=redact(spec.storage),
        resumed=session.resumed,
        completed=done,
        trials=spec.trials,
        requeued=tuple(requeued),
        limits=spec.describe_limits(),
        prototype=spec.prototype,
        task=spec.task,
        data=f"{spec.data} ({data.format}, {len(data)} images, {data.input_size}px)",
        proxy=f"{spec.epochs} epoch{'' if spec.epochs == 1 else 's'} at {proxy_size}px"
        + (f" on {spec.proxy_samples} images" if spec.proxy_samples else ""),
        timeout_s=spec.timeout_s,
        final_epochs=spec.final_epochs,
        artifacts=str(session.artifact_dir),
        plan=session.plan.describe(),
    )
