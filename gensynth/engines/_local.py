"""The ``local`` engine: trials one after another in this process."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from gensynth.engines._base import ENGINES, Engine
from gensynth.errors import TrialFailed, debug_enabled
from gensynth.search.runner import TrialRunner, count_complete

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

    from gensynth.search.events import ExploreEvents
    from gensynth.search.session import ExploreSession
    from gensynth.search.stop import StopSignal
    from gensynth.search.study_spec import StudySpec

__all__ = ["LocalEngine", "run_trials"]


@ENGINES.register("local")
class LocalEngine(Engine):
    name = "local"
    description = "trials one after another in this process"

    def check(self, spec: StudySpec) -> None:
        if spec.workers > 1:  # engine_for maps this to "workers"; a direct caller gets a reason
            from gensynth.errors import ConfigError

            raise ConfigError("the local engine runs one trial at a time; use --engine workers")

    def run(self, session: ExploreSession, events: ExploreEvents, stop: StopSignal) -> int:
        return run_trials(session, events, stop)


def run_trials(
    session: ExploreSession,
    events: ExploreEvents,
    stop: StopSignal,
    *,
    target: int | None = None,
) -> int:
    """Run trials until the study holds ``target`` complete ones (default: the budget).

    Queued trials (a lost trial re-queued by recovery) run even once the target is reached,
    so a run never ends with work left waiting. Returns the number of complete trials.
    Worker processes of the other engines run this same loop against the shared study.
    """
    target = target or session.spec.trials
    runner = TrialRunner(session, events, stop)
    ran: list[FrozenTrial] = []
    with _optuna_quiet():
        while (
            (done := count_complete(session.study)) < target or _queued(session)
        ) and not stop():
            ran.clear()
            session.study.optimize(
                runner,
                n_trials=1,
                catch=(TrialFailed,),
                gc_after_trial=True,
                callbacks=[lambda _study, frozen: ran.append(frozen)],
            )
            for frozen in ran:  # the trial this call ran (callbacks see caught failures too)
                runner.finished(frozen)
    return done if stop() else count_complete(session.study)


def _queued(session: ExploreSession) -> bool:
    from optuna.trial import TrialState

    return bool(session.study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


@contextlib.contextmanager
def _optuna_quiet() -> Iterator[None]:
    """Optuna logs every failed trial with its traceback (Ctrl-C included); ours are reported
    with their reasons instead, so only its errors pass, unless ``GENSYNTH_DEBUG`` is set."""
    import optuna

    if debug_enabled():
        yield
        return
    saved = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(saved)
