"""One trial's life, written once: begin, propose, settle, train and probe, record, or fail.

Every engine (``local``, ``workers``, ``ray``) hands each Optuna trial to :class:`TrialRunner`,
so what a trial records does not depend on where it ran. Infeasible candidates are recorded
as COMPLETE with their constraint values and a sentinel objective (Optuna reads constraints of
COMPLETE trials only), so the sampler learns where the limits are; a candidate identical to a
trained one reuses its result; a failure is recorded with its reason and the study goes on.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.errors import GensynthError, TrialFailed, debug_enabled
from gensynth.search.events import ExploreEvents
from gensynth.search.stop import StopSignal
from gensynth.studies.records import (
    INFEASIBLE_MAXIMIZE,
    INFEASIBLE_MINIMIZE,
    Attr,
    TrialRecord,
    record_constraints,
    records_of,
)

if TYPE_CHECKING:
    import optuna

    from gensynth.prototypes import ArchSpec
    from gensynth.search.generator import Proposal
    from gensynth.search.inquisitor import Evaluation
    from gensynth.search.session import ExploreSession
    from gensynth.search.study_spec import StudySpec

__all__ = [
    "MAX_REPEATED_FAILURES",
    "FailureStreak",
    "TrialRunner",
    "count_complete",
    "trial_seed",
]

Values = float | list[float]
#: Consecutive failures (same reason) after which a run stops instead of burning budget.
MAX_REPEATED_FAILURES = 3


def count_complete(study: optuna.Study) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def trial_seed(spec: StudySpec, number: int) -> int:
    """The seed trial ``number`` trains with (recorded on the trial)."""
    return spec.seed * 100_003 + number


class FailureStreak:
    """Stops a run after ``MAX_REPEATED_FAILURES`` trials in a row failed the same way."""

    def __init__(self) -> None:
        self.reasons: list[str] = []

    def add(self, record: TrialRecord) -> None:
        if record.state != "FAIL":
            self.reasons.clear()
            return
        self.reasons.append(record.fail_reason or "unknown")
        recent = self.reasons[-MAX_REPEATED_FAILURES:]
        if len(recent) == MAX_REPEATED_FAILURES and len(set(recent)) == 1:
            raise GensynthError(
                f"{MAX_REPEATED_FAILURES} trials in a row failed with: {recent[0]}",
                hint="fix the cause and rerun the same command; finished trials are kept",
            )


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A proposal recorded on its trial; ``settled`` holds its values when it needs no training."""

    proposal: Proposal
    settled: Values | None


class TrialRunner:
    """The Optuna objective of every engine: one call is one trial's whole life."""

    def __init__(self, session: ExploreSession, events: ExploreEvents, stop: StopSignal) -> None:
        self.session = session
        self.events = events
        self.stop = stop
        self.streak = FailureStreak()

    def __call__(self, trial: optuna.Trial) -> Values:
        started = time.perf_counter()
        self.begin(trial)
        try:
            candidate = self.propose(trial)
            if candidate.settled is not None:
                return candidate.settled
            evaluation = self.train(trial.number, candidate.proposal)
            return self.record(trial, candidate.proposal, evaluation, started)
        except KeyboardInterrupt:
            trial.set_user_attr(Attr.FAIL_REASON, "interrupted")
            raise
        except TrialFailed as error:
            trial.set_user_attr(Attr.FAIL_REASON, error.message)
            raise
        except GensynthError as error:  # the run stops (a full disk, say); the trial says why
            trial.set_user_attr(Attr.FAIL_REASON, error.message)
            raise
        except Exception as error:  # a candidate the stack cannot run: recorded, the run goes on
            reason = f"{type(error).__name__}: {error}"[:500]
            trial.set_user_attr(Attr.FAIL_REASON, reason)
            if debug_enabled():
                raise
            raise TrialFailed(reason) from error

    def begin(self, trial: optuna.Trial) -> None:
        """Stamp the process that runs the trial; a retry drops the lost trial's reason."""
        trial.set_user_attr(Attr.WORKER, f"{socket.gethostname()}:{os.getpid()}")
        if trial.user_attrs.get(Attr.FAIL_REASON):
            trial.set_user_attr(Attr.FAIL_REASON, None)

    def propose(self, trial: optuna.Trial) -> Candidate:
        """Propose and record a candidate; settle it untrained if infeasible or a twin."""
        history = records_of(self.session.study.get_trials(deepcopy=False))
        proposal = self.session.generator.propose(trial, history)
        _record_proposal(trial, proposal)
        self.events.trial_started(trial.number, proposal)
        if not proposal.feasible:
            return Candidate(proposal, self._infeasible(trial, proposal))
        twin = next((r for r in history if r.feasible and r.spec_hash == proposal.spec.spec_hash),
                    None)  # fmt: skip
        return Candidate(proposal, None if twin is None else _reuse(trial, twin))

    def train(self, number: int, proposal: Proposal) -> Evaluation:
        """Proxy-train and probe the candidate; a stop mid-training is never a score."""
        evaluation = self.session.inquisitor.evaluate(
            proposal.spec,
            seed=trial_seed(self.session.spec, number),
            progress=self.events.training,
            should_stop=self.stop,
        )
        if evaluation.fit.stopped_early:
            if self.stop.requested:
                raise KeyboardInterrupt
            raise TrialFailed("stopped by the time limit before training finished")
        return evaluation

    def record(
        self, trial: optuna.Trial, proposal: Proposal, evaluation: Evaluation, started: float
    ) -> Values:
        """Upload the weights and set every trained attribute; the objective values."""
        record_start = time.perf_counter()
        trial.set_user_attr(Attr.WEIGHTS, self._upload_weights(trial, evaluation))
        spec = self.session.spec
        score = spec.utility(evaluation.metric, proposal.costs.params, proposal.costs.macs)
        attrs = {
            Attr.FEASIBLE: True,
            Attr.METRIC: round(evaluation.metric, 4),
            Attr.METRIC_NAME: evaluation.metric_name,
            Attr.METRICS: _jsonable(evaluation.metrics),
            Attr.NETSCORE: round(score, 4),
            Attr.INSIGHTS: evaluation.insights,
            Attr.SEED: trial_seed(spec, trial.number),
            Attr.TIMINGS: _timings(proposal, evaluation, started, record_start),
        }
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        values = [_objective(name, evaluation.metric, score, proposal) for name in spec.objectives]
        return values[0] if len(values) == 1 else values

    def finished(self, frozen: optuna.trial.FrozenTrial) -> TrialRecord:
        """Report a trial the study has just recorded; stops on repeated failures."""
        record = TrialRecord.from_trial(frozen)
        self.events.trial_finished(record, count_complete(self.session.study))
        self.streak.add(record)
        return record

    def _infeasible(self, trial: optuna.Trial, proposal: Proposal) -> Values:
        trial.set_user_attr(Attr.FEASIBLE, False)
        trial.set_user_attr(Attr.REASON, proposal.reason or "outside a limit")
        values = [INFEASIBLE_MAXIMIZE if d == "maximize" else INFEASIBLE_MINIMIZE
                  for d in self.session.spec.directions]  # fmt: skip
        return values[0] if len(values) == 1 else values

    def _upload_weights(self, trial: optuna.Trial, evaluation: Evaluation) -> str:
        """The proxy-trained weights as a safetensors artifact beside the study; its id."""
        from safetensors.torch import save_file

        from gensynth.studies.artifacts import upload_trial_artifact

        state = {k: v.detach().contiguous() for k, v in evaluation.state_dict.items()}
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"trial-{trial.number}.safetensors"
            save_file(state, str(path), metadata={"trial": str(trial.number)})
            return upload_trial_artifact(self.session.artifact_store, trial, path)


def _timings(
    proposal: Proposal, evaluation: Evaluation, started: float, record_start: float
) -> dict[str, float]:
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
    return {k: round(v, 4) for k, v in timings.items()}


def _objective(name: str, metric: float, score: float, proposal: Proposal) -> float:
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
    spec = proposal.spec
    attrs: dict[str, Any] = {
        Attr.SPEC: spec.to_dict(),
        Attr.SPEC_HASH: spec.spec_hash,
        Attr.DESCRIBE: spec.describe(),
        Attr.ORIGIN: proposal.origin,
        Attr.ORIGIN_DETAIL: proposal.detail,
        Attr.MACS: int(proposal.costs.macs),
        Attr.PARAMS: int(proposal.costs.params),
    }
    for result in proposal.results:
        if result.name == "latency":
            attrs[Attr.LATENCY_MS] = round(result.measured, 4)
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    record_constraints(trial, proposal.constraint_values())
    _record_params(trial, spec)


def _record_params(trial: optuna.Trial, spec: ArchSpec) -> None:
    """The design as Optuna parameters, whoever proposed it (the study's sampler is pinned).

    A retried trial already holds its parameters (the same spec); those stay as they are.
    """
    from gensynth.prototypes.params import encode, record
    from gensynth.studies.samplers import TrialSeededSampler

    sampler = trial.study.sampler
    if not isinstance(sampler, TrialSeededSampler):
        return
    params = {k: v for k, v in encode(spec).items() if k not in trial.params}
    sampler.pin(trial.number, {name: value for name, (value, _) in params.items()})
    record(trial, params)


def _reuse(trial: optuna.Trial, twin: TrialRecord) -> Values:
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


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=float))
