"""Ray's OptunaSearch, made to record what gensynth's loop records (imported with Ray only)."""

from __future__ import annotations

import contextlib
import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ray.tune import Stopper
from ray.tune.search.optuna import OptunaSearch

from gensynth.search.loop import _Objective
from gensynth.search.records import Attr
from gensynth.studies.ray_engine import _after_tell, _lost_reason, _propose, _record_result

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

    from gensynth.search.events import ExploreEvents
    from gensynth.search.loop import StopSignal
    from gensynth.search.session import ExploreSession

__all__ = ["GensynthSearch", "StopAll"]

#: Driver-side objects left out when Tune pickles the searcher (we resume from the study).
_LOCAL_STATE = ("session", "events", "stop", "objective", "failures", "heartbeats")


class Heartbeats:
    """Optuna heartbeats for trials the driver asked (``Study.optimize`` does it for its own).

    On a database with heartbeats, a trial whose driver died goes stale, and a worker on any
    host fails it and re-queues it after the grace period, as for the local engine.
    """

    def __init__(self, storage: BaseStorage) -> None:
        self.storage = storage
        interval = getattr(storage, "get_heartbeat_interval", None)  # RDB storages only
        self.interval: int | None = interval() if interval is not None else None
        self.beating: dict[int, threading.Event] = {}

    def start(self, trial_id: int) -> None:
        if not self.interval or trial_id in self.beating:
            return
        done = self.beating[trial_id] = threading.Event()
        self.storage.record_heartbeat(trial_id)  # type: ignore[attr-defined]
        threading.Thread(target=self._beat, args=(trial_id, done), daemon=True).start()

    def _beat(self, trial_id: int, done: threading.Event) -> None:
        while not done.wait(self.interval):
            with contextlib.suppress(Exception):  # a missed beat only brings staleness closer
                self.storage.record_heartbeat(trial_id)  # type: ignore[attr-defined]

    def stop(self, trial_id: int) -> None:
        done = self.beating.pop(trial_id, None)
        if done is not None:
            done.set()

    def fail_stale(self, study: Any) -> None:
        """Fail and re-queue trials whose process stopped beating (any host), as optimize does."""
        import optuna

        if self.interval:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(study)


class GensynthSearch(OptunaSearch):
    """OptunaSearch on the session's own study; sets our attributes before the tell.

    The define-by-run space is the loop's proposal step on the real Optuna trial; the result
    of a trained trial carries the loop's attributes and a weights file, which
    ``on_trial_complete`` records (and uploads) before Optuna is told the values.
    """

    def __init__(
        self,
        session: ExploreSession,
        events: ExploreEvents,
        stop: StopSignal,
        failures: list[str],
    ) -> None:
        spec = session.spec
        modes = ["max" if d == "maximize" else "min" for d in spec.directions]
        multi = len(modes) > 1
        self.session = session
        self.events = events
        self.stop = stop
        self.failures = failures
        self.objective = _Objective(session, events, stop)
        self.heartbeats = Heartbeats(session.study._storage)
        super().__init__(
            space=self._space,
            metric=list(spec.objectives) if multi else spec.objectives[0],
            mode=modes if multi else modes[0],
            sampler=session.study.sampler,
            study_name=spec.study_name,
            storage=session.study._storage,
        )

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in _LOCAL_STATE}

    def save(self, checkpoint_path: str) -> None:
        """Nothing to save: the Optuna study is the state, and resuming reads it."""
        Path(checkpoint_path).write_text("{}")

    def restore(self, checkpoint_path: str) -> None:
        """Nothing to restore (see ``save``)."""

    def suggest(self, trial_id: str) -> dict | None:
        if trial_id not in self._ot_trials:
            self.heartbeats.fail_stale(self._ot_study)
        with warnings.catch_warnings():  # heartbeats are recorded here, not by optimize
            warnings.filterwarnings("ignore", "Heartbeat of storage is supposed", UserWarning)
            return super().suggest(trial_id)

    def _space(self, captor: Any) -> dict[str, Any]:
        self.heartbeats.start(captor.ot_trial._trial_id)
        return _propose(self.objective, captor.ot_trial)

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        """Nothing: each trial reports once, at its end (and a failure has no metric)."""

    def on_trial_complete(
        self, trial_id: str, result: dict | None = None, error: bool = False
    ) -> None:
        ot_trial = self._ot_trials.get(trial_id)
        if ot_trial is None or trial_id in self._completed_trials:
            super().on_trial_complete(trial_id, result, error)
            return
        ok = _record_result(self.session, ot_trial, result, _lost_reason(self.stop, error))
        self.heartbeats.stop(ot_trial._trial_id)
        super().on_trial_complete(trial_id, result if ok else None, error or not ok)
        _after_tell(self.session, self.events, ot_trial.number, self.failures)

    def fail_unfinished(self, reason: str) -> None:
        """Tell FAIL (re-queued on the next round or run) for trials asked but not finished."""
        for trial_id, ot_trial in list(self._ot_trials.items()):
            if trial_id not in self._completed_trials:
                self.heartbeats.stop(ot_trial._trial_id)
                ot_trial.set_user_attr(Attr.FAIL_REASON, reason)
                OptunaSearch.on_trial_complete(self, trial_id, None, error=True)


class StopAll(Stopper):
    """Ends the whole Tune run when the explore stop signal fires (Ctrl-C, time limit)."""

    def __init__(self, stop: StopSignal) -> None:
        self.stop = stop

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return False

    def stop_all(self) -> bool:
        return self.stop()
