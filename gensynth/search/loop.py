"""The explore loop: one Optuna trial per candidate, until the budget or a stop request.

Infeasible candidates are recorded as COMPLETE with their constraint values and a sentinel
objective (Optuna reads constraints of COMPLETE trials only), so the sampler learns where the
limits are. Failed training is recorded with its reason and the study goes on.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.errors import GensynthError, TrialFailed
from gensynth.search.events import ExploreEvents
from gensynth.search.records import (
    INFEASIBLE_MAXIMIZE,
    INFEASIBLE_MINIMIZE,
    Attr,
    TrialRecord,
    records_of,
)

if TYPE_CHECKING:
    import optuna

    from gensynth.search.generator import Proposal
    from gensynth.search.inquisitor import Evaluation
    from gensynth.search.session import ExploreSession
    from gensynth.search.study_spec import StudySpec

__all__ = ["StopSignal", "count_complete", "run_trials", "trained_attrs", "trial_seed"]

#: Consecutive failures (same reason) after which the run stops instead of burning budget.
MAX_REPEATED_FAILURES = 3


class StopSignal:
    """A stop request (Ctrl-C, timeout) shared by the loop and the training step."""

    def __init__(self, deadline: float | None = None) -> None:
        self.deadline = deadline
        self.requested = False

    def __call__(self) -> bool:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return True
        return self.requested


def count_complete(study: optuna.Study) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


class _Objective:
    """The function Optuna runs per trial: propose, check, train, probe, record."""

    def __init__(self, session: ExploreSession, events: ExploreEvents, stop: StopSignal) -> None:
        self.session = session
        self.events = events
        self.stop = stop

    def __call__(self, trial: optuna.Trial) -> float | list[float]:
        started = time.perf_counter()
        trial.set_user_attr(Attr.WORKER, f"{socket.gethostname()}:{os.getpid()}")
        if trial.user_attrs.get(Attr.FAIL_REASON):  # a retry inherits the lost trial's attrs
            trial.set_user_attr(Attr.FAIL_REASON, None)
        try:
            return self._run(trial, started)
        except KeyboardInterrupt:
            trial.set_user_attr(Attr.FAIL_REASON, "interrupted")
            raise
        except TrialFailed as error:
            trial.set_user_attr(Attr.FAIL_REASON, error.message)
            raise
        except GensynthError:
            raise
        except Exception as error:  # a candidate the stack cannot run: record, go on
            reason = f"{type(error).__name__}: {error}"[:500]
            trial.set_user_attr(Attr.FAIL_REASON, reason)
            if os.environ.get("GENSYNTH_DEBUG"):
                raise
            raise TrialFailed(reason) from error

    def _run(self, trial: optuna.Trial, started: float) -> float | list[float]:
        session = self.session
        proposal, settled = self.prepare(trial)
        if settled is not None:
            return settled
        evaluation = session.inquisitor.evaluate(
            proposal.spec,
            seed=trial_seed(session.spec, trial.number),
            progress=self.events.training,
            should_stop=self.stop,
        )
        if evaluation.fit.stopped_early:  # never record a half-trained score
            if self.stop.requested:
                raise KeyboardInterrupt
            raise TrialFailed("stopped by the time limit before training finished")
        return self._complete(trial, proposal, evaluation, started)

    def prepare(self, trial: optuna.Trial) -> tuple[Proposal, float | list[float] | None]:
        """Propose and record a candidate; its values if settled untrained (infeasible, reuse).

        The Ray engine calls this in the driver and trains the rest in Ray workers.
        """
        session = self.session
        history = records_of(session.study.get_trials(deepcopy=False))
        proposal = session.generator.propose(trial, history)
        _record_proposal(trial, proposal)
        self.events.trial_started(trial.number, proposal)
        if not proposal.feasible:
            return proposal, self._infeasible(trial, proposal)
        twin = _completed_twin(history, proposal.spec.spec_hash)
        if twin is not None:
            return proposal, _reuse(trial, twin)
        return proposal, None

    def _infeasible(self, trial: optuna.Trial, proposal: Proposal) -> float | list[float]:
        trial.set_user_attr(Attr.FEASIBLE, False)
        trial.set_user_attr(Attr.REASON, proposal.reason or "outside a limit")
        values = [
            INFEASIBLE_MAXIMIZE if d == "maximize" else INFEASIBLE_MINIMIZE
            for d in self.session.spec.directions
        ]
        return values[0] if len(values) == 1 else values

    def _complete(
        self, trial: optuna.Trial, proposal: Proposal, evaluation: Evaluation, started: float
    ) -> float | list[float]:
        record_start = time.perf_counter()
        artifact = _upload_weights(self.session, trial, evaluation)
        attrs, values = trained_attrs(
            self.session.spec, trial.number, proposal, evaluation, started, record_start
        )
        for key, value in {Attr.WEIGHTS: artifact, **attrs}.items():
            trial.set_user_attr(key, value)
        return values


def trial_seed(spec: StudySpec, number: int) -> int:
    """The seed trial ``number`` trains with (recorded on the trial)."""
    return spec.seed * 100_003 + number


def trained_attrs(
    spec: StudySpec,
    number: int,
    proposal: Proposal,
    evaluation: Evaluation,
    started: float,
    record_start: float,
) -> tuple[dict[str, Any], float | list[float]]:
    """The user attributes and objective values of a trained candidate (weights excluded)."""
    costs = proposal.costs
    score = spec.utility(evaluation.metric, costs.params, costs.macs)
    total = time.perf_counter() - started
    timings = {
        "propose_s": proposal.seconds,
        **evaluation.timings,
        "record_s": time.perf_counter() - record_start,
        "images_per_s": evaluation.fit.images_per_second,
        "total_s": total,
    }
    work = evaluation.timings["train_s"] + evaluation.timings["probe_s"]
    timings["overhead_s"] = max(0.0, total - work)
    attrs = {
        Attr.FEASIBLE: True,
        Attr.METRIC: round(evaluation.metric, 4),
        Attr.METRIC_NAME: evaluation.metric_name,
        Attr.METRICS: _jsonable(evaluation.metrics),
        Attr.NETSCORE: round(score, 4),
        Attr.INSIGHTS: evaluation.insights,
        Attr.SEED: trial_seed(spec, number),
        Attr.TIMINGS: {k: round(v, 4) for k, v in timings.items()},
    }
    values = [_objective_value(name, evaluation.metric, score, proposal) for name in
              spec.objectives]  # fmt: skip
    return attrs, values[0] if len(values) == 1 else values


def _objective_value(name: str, metric: float, score: float, proposal: Proposal) -> float:
    if name == "netscore":
        return score
    if name == "accuracy":
        return metric
    if name == "macs":
        return float(proposal.costs.macs)
    if name == "params":
        return float(proposal.costs.params)
    latency = next((r.measured for r in proposal.results if r.name == "latency"), None)
    if latency is None:
        raise TrialFailed("the latency objective needs a latency measurement")
    return float(latency)


def _record_proposal(trial: optuna.Trial, proposal: Proposal) -> None:
    trial.set_user_attr(Attr.SPEC, proposal.spec.to_dict())
    trial.set_user_attr(Attr.SPEC_HASH, proposal.spec.spec_hash)
    trial.set_user_attr(Attr.DESCRIBE, proposal.spec.describe())
    trial.set_user_attr(Attr.ORIGIN, proposal.origin)
    trial.set_user_attr(Attr.ORIGIN_DETAIL, proposal.detail)
    trial.set_user_attr(Attr.MACS, int(proposal.costs.macs))
    trial.set_user_attr(Attr.PARAMS, int(proposal.costs.params))
    for result in proposal.results:
        if result.name == "latency":
            trial.set_user_attr(Attr.LATENCY_MS, round(result.measured, 4))
    inherited = trial.constraints  # a retried trial carries the lost one's (same spec)
    for name, value in proposal.constraint_values().items():
        if name not in inherited:
            trial.set_constraint(name, value)


def _completed_twin(history: list[TrialRecord], spec_hash: str) -> TrialRecord | None:
    return next((r for r in history if r.feasible and r.spec_hash == spec_hash), None)


def _reuse(trial: optuna.Trial, twin: TrialRecord) -> float | list[float]:
    """An identical spec was already trained: copy its results instead of training again."""
    keep = (Attr.METRIC, Attr.METRIC_NAME, Attr.METRICS, Attr.NETSCORE, Attr.INSIGHTS,
            Attr.WEIGHTS, Attr.SEED)  # fmt: skip
    for key in keep:
        if key in twin.user_attrs:
            trial.set_user_attr(key, twin.user_attrs[key])
    trial.set_user_attr(Attr.FEASIBLE, True)
    trial.set_user_attr(Attr.ORIGIN, "reuse")
    trial.set_user_attr(Attr.REUSED_FROM, twin.number)
    if twin.values is None:
        raise TrialFailed(f"trial #{twin.number} has no values to reuse")
    return twin.values[0] if len(twin.values) == 1 else list(twin.values)


def _upload_weights(session: ExploreSession, trial: optuna.Trial, evaluation: Evaluation) -> str:
    """The proxy-trained weights as a safetensors artifact beside the study; its id."""
    from optuna.artifacts import upload_artifact
    from safetensors.torch import save_file

    state = {k: v.detach().contiguous() for k, v in evaluation.state_dict.items()}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"trial-{trial.number}.safetensors"
        save_file(state, str(path), metadata={"trial": str(trial.number)})
        return upload_artifact(
            artifact_store=session.artifact_store,
            file_path=str(path),
            study_or_trial=trial,
            mimetype="application/octet-stream",
        )


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value, default=float))


def run_trials(
    session: ExploreSession,
    events: ExploreEvents,
    stop: StopSignal,
    *,
    target: int | None = None,
    on_failure: Callable[[TrialRecord], None] | None = None,
) -> int:
    """Run trials until the study holds ``target`` complete ones (default: the budget).

    Returns the number of complete trials. KeyboardInterrupt propagates after the trial in
    flight is recorded as failed ("interrupted"); a rerun retries it.
    """
    import optuna

    target = target or session.spec.trials
    objective = _Objective(session, events, stop)
    failures: list[str] = []
    while (done := count_complete(session.study)) < target and not stop():
        session.study.optimize(objective, n_trials=1, catch=(TrialFailed,), gc_after_trial=True)
        last = session.study.get_trials(deepcopy=False)[-1]
        record = TrialRecord.from_trial(last)
        events.trial_finished(record, count_complete(session.study))
        if last.state == optuna.trial.TrialState.FAIL:
            failures.append(record.fail_reason or "unknown")
            if on_failure is not None:
                on_failure(record)
            _stop_on_repeated_failures(failures)
        else:
            failures.clear()
    return done if stop() else count_complete(session.study)


def _stop_on_repeated_failures(failures: list[str]) -> None:
    recent = failures[-MAX_REPEATED_FAILURES:]
    if len(recent) == MAX_REPEATED_FAILURES and len(set(recent)) == 1:
        raise GensynthError(
            f"{MAX_REPEATED_FAILURES} trials in a row failed with: {recent[0]}",
            hint="fix the cause and rerun the same command; finished trials are kept",
        )
