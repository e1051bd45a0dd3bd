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
from gensynth.search.selection import mode_lines
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
    session = open_session(spec, force_resume=force_resume, data=data)
    # The planner may set the timeout (or a resumed study restore its own): the deadline is
    # the session's, the one the start-of-run summary prints, counted from the start.
    if stop.deadline is None and session.spec.timeout_s is not None:
        stop.deadline = started + session.spec.timeout_s
    requeued = recover_lost_trials(session.study)
    events.started(run_start(session, count_complete(session.study), requeued))
    for line in mode_lines(session.spec):  # latency-first, --accuracy-slack, --accuracy-min
        events.message(f"  {line}")
    completed = engine.run(session, events, stop)
    final = None
    if finalize_winner:
        out = Path(spec.out)
        out.mkdir(parents=True, exist_ok=True)
        final = finalize(session, out, events, StopSignal(), baseline=baseline)
        if spec.int8:
            _int8(session, final, events)
    return ExploreResult(session, completed, time.monotonic() - started, final, stop())


def _int8(session: ExploreSession, final: FinalResult, events: ExploreEvents) -> None:
    """``--int8``: the winner quantized, calibrated on the search's training split, scored on
    its test split beside FP32, recorded in its metrics.json (and ``final.metrics``)."""
    from gensynth.deploy.int8 import export_int8

    events.stage("INT8: quantizing the winner on training images, scoring it on the test split")
    result = export_int8(
        final.model_dir,
        dataset=session.data,
        max_drop=session.spec.int8_max_drop,
        threads=session.spec.threads,
    )
    if result.passed:  # time it beside FP32 as the search timed: same backend settings
        from gensynth.deploy.int8_bench import time_int8

        spec = session.spec
        result.record["latency"] = time_int8(
            final.model_dir, batch=spec.batch, threads=spec.threads
        )
    final.metrics["int8"] = result.record


def _look(data: DefectDataset) -> str:
    """``RGB, `` and the resize policy when they are not the defaults (grey, stretch)."""
    colour = "RGB, " if data.channels == 3 else ""
    return colour + ("" if data.resize == "stretch" else f"{data.resize}, ")


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
        data=f"{spec.data} ({data.format}, {len(data)} images, {_look(data)}{data.input_size}px)",
        proxy=f"{spec.epochs} epoch{'' if spec.epochs == 1 else 's'} at {proxy_size}px"
        + (f" on {spec.proxy_samples} images" if spec.proxy_samples else ""),
        timeout_s=spec.timeout_s,
        final_epochs=spec.final_epochs,
        artifacts=str(session.artifact_dir),
        plan=session.plan.describe(),
    )
