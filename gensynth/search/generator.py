"""The generator: proposes candidates that already meet every limit before any training.

Repair and cost counting take milliseconds while training takes seconds to minutes, so the
generator drafts several candidates and lets the utility pick which one is trained:

- a fresh design is the best of a few drafts of the study's sampler (uniform draws for the
  generative strategy, see :data:`gensynth.studies.samplers.GENERATIVE_DRAFTS`), judged by
  the study's accuracy trend and exact costs (see :meth:`Generator._sample`);
- a mutation of an elite, guided by the inquisitor's insights (width to sensitive stages,
  dead-heavy stages shrink), is the best of a few mutants at the parent's measured accuracy.

Early trials explore by sampling; later ones exploit elites more and more. Elites are drawn
from the candidates at least as accurate on the proxy as the reference (the hand design,
trial 0), best NetScore first: NetScore alone favours the lightest designs. The ``tpe`` and
``random`` strategies are the baselines: one draw of the Optuna sampler per trial through
``trial.suggest_*``, repaired the same way, no drafts and no mutation.
"""

from __future__ import annotations

import dataclasses
import time
from typing import TYPE_CHECKING

import numpy as np

from gensynth.constraints import Costs, IndicatorResult, bisect_width, count_costs, repair
from gensynth.prototypes import ArchSpec, get_prototype, mutate, spec_from_dict
from gensynth.prototypes.friendly import steer
from gensynth.search.selection import REFERENCE, accurate_pool, reference_proxy_metric
from gensynth.search.trend import AccuracyTrend
from gensynth.studies.leaderboard import pareto_front
from gensynth.studies.records import Attr, TrialRecord

if TYPE_CHECKING:
    import optuna

    from gensynth.constraints.latency import LatencyIndicator
    from gensynth.search.study_spec import StudySpec

__all__ = ["Generator", "Proposal"]

_MAX_DUPLICATE_RETRIES = 8
_MUTANTS = 3  # feasible, unseen mutants drafted per mutation; the utility picks one
_SAMPLE_DRAFTS = 4  # designs drawn per fresh sample; the utility picks one
_PRIOR_ACCURACY = 50.0  # any constant: drafts are compared at the same accuracy
_BY_TREND = "picked by the accuracy trend against the reference's proxy accuracy"


@dataclasses.dataclass(frozen=True)
class Proposal:
    """One candidate: the repaired spec and the verdict of every indicator on it."""

    spec: ArchSpec
    origin: str  # sample | mutation | retry
    detail: str
    feasible: bool
    reason: str | None
    results: tuple[IndicatorResult, ...]
    costs: Costs
    parent: int | None = None
    seconds: float = 0.0

    def constraint_values(self) -> dict[str, float]:
        """Optuna constraint values by name (each <= 0 when feasible)."""
        values: dict[str, float] = {}
        for result in self.results:
            parts = result.constraint_values
            suffixes = ("_over", "_under") if len(parts) == 2 else ("",)
            for suffix, value in zip(suffixes, parts, strict=False):
                values[result.name + suffix] = float(value)
        return values


class Generator:
    """Proposes, repairs and checks candidates for one study."""

    def __init__(
        self,
        spec: StudySpec,
        *,
        in_channels: int,
        input_size: int,
        num_classes: int,
        latency: LatencyIndicator | None = None,
    ) -> None:
        self.study_spec = spec
        self.prototype = get_prototype(spec.prototype)
        self.io = {
            "in_channels": in_channels,
            "input_size": input_size,
            "num_classes": num_classes,
        }
        limits = spec.limits
        self.band = limits.band
        self.params_limit = limits.params_limit
        self.latency = latency
        self.indicators = limits.indicators(threads=spec.threads, latency=latency)
        self.startup = max(3, min(8, spec.trials // 4))

    # -- proposing ---------------------------------------------------------------------------

    def propose(self, trial: optuna.trial.Trial, history: list[TrialRecord]) -> Proposal:
        """A feasible candidate for ``trial`` (or an infeasible one with its reason)."""
        start = time.perf_counter()
        rng = np.random.default_rng([self.study_spec.seed, trial.number])
        retry = trial.user_attrs.get(Attr.SPEC)
        if retry is not None:  # a re-queued trial whose process died: same spec again
            kept = trial.user_attrs.get(Attr.ORIGIN) == "reference"  # the reference stays one
            origin = "reference" if kept else "retry"
            proposal = self._check(spec_from_dict(retry), origin, "re-run of a lost trial")
        elif self._wants_reference(history, trial.number):
            proposal = self.reference()
        elif rng.random() < self.mutation_probability(history):
            proposal = self._mutate(rng, history)
        else:
            proposal = self._sample(trial, history)
        return dataclasses.replace(proposal, seconds=time.perf_counter() - start)

    def reference(self) -> Proposal:
        """The task's hand design (``plain``, ``anet``) repaired into the limits like any other.

        With a latency budget and no MACs band (latency-first), it is scaled to the budget by
        measured latency, grown or shrunk (:func:`~gensynth.constraints.latency.
        scale_to_latency`), not by MACs; a budget even its smallest variant misses raises a
        ConstraintError naming the smallest latency measured.

        Generative synthesis starts from a prototype: the search's first trial is this design,
        so its score is in the study and the first mutations start from it.
        """
        from gensynth.prototypes import get_reference

        name = REFERENCE[self.study_spec.task]
        design = get_reference(name).spec(**self.io)
        return self._repair(design, "reference", f"the {name} reference, scaled into the limits")

    def _wants_reference(self, history: list[TrialRecord], number: int) -> bool:
        """Generative studies of the reference's own prototype begin with the reference.

        An earlier trial still proposing (RUNNING, no origin yet) may be taking it: then this
        one does not, or two workers starting together both train it.
        """
        from gensynth.prototypes import get_reference

        if self.study_spec.strategy != "generative":
            return False
        if get_reference(REFERENCE[self.study_spec.task]).prototype != self.prototype.name:
            return False
        if any(r.state == "RUNNING" and not r.origin and r.number < number for r in history):
            return False
        return not any(r.origin == "reference" and r.state != "FAIL" for r in history)

    def mutation_probability(self, history: list[TrialRecord]) -> float:
        """0 while exploring; then from 0.5 up to 0.85 as the budget is used."""
        feasible = sum(1 for r in history if r.feasible)
        if self.study_spec.strategy != "generative" or feasible < self.startup:
            return 0.0
        progress = min(
            1.0, (feasible - self.startup) / max(1, self.study_spec.trials - self.startup)
        )
        return 0.5 + 0.35 * progress

    def _sample(
        self, trial: optuna.trial.Trial, history: list[TrialRecord] | None = None
    ) -> Proposal:
        """Fresh designs drafted by the study's sampler (its ``draft_sampler``: uniform for the
        generative strategy, TPE conditioned on every trial so far for ``tpe``).

        The baselines take one draw; the generative strategy drafts a few and keeps the one
        its exact costs favour (training then tells whether the accuracy holds). Once the
        reference is scored and the study has a trend (:mod:`gensynth.search.trend`), drafts
        predicted to meet the reference's accuracy come first, by NetScore at the predicted
        accuracy; without one, the draft predicted to be most accurate.
        """
        count = _SAMPLE_DRAFTS if self.study_spec.strategy == "generative" else 1
        detail = "drawn by the study's sampler" + (
            f", best of {count} drafts" if count > 1 else ""
        )
        drafts = [self._repair(design, "sample", detail) for design in self._draft(trial, count)]
        feasible = [d for d in drafts if d.feasible] or drafts
        floor, trend = self._requirement(history or [])
        if floor is None or trend is None or len(feasible) == 1:
            return max(feasible, key=self._draft_utility)
        best = max(
            feasible, key=lambda d: self._draft_key(d, trend.predict(d.costs.params), floor)
        )
        return dataclasses.replace(best, detail=f"{best.detail}, {_BY_TREND}")

    def _draft(self, trial: optuna.trial.Trial, count: int) -> list[ArchSpec]:
        """``count`` designs from the study's sampler on a copy of the study's trials."""
        import optuna

        from gensynth.studies.samplers import TrialSeededSampler, trial_stream_seed

        study = trial.study
        sampler = study.sampler
        if isinstance(sampler, TrialSeededSampler):
            drafting = sampler.draft_sampler(trial.number)
        else:  # a study opened with another sampler: a seeded random draw
            stream = trial_stream_seed(self.study_spec.seed, trial.number)
            drafting = optuna.samplers.RandomSampler(seed=stream)
        verbosity = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # no "created in memory" line
        try:
            copy = optuna.create_study(directions=study.directions, sampler=drafting)
            done = optuna.trial.TrialState.COMPLETE
            copy.add_trials(study.get_trials(deepcopy=False, states=(done,)))
            return [self.prototype.sample(copy.ask(), **self.io) for _ in range(count)]
        finally:
            optuna.logging.set_verbosity(verbosity)

    def _draft_utility(self, draft: Proposal) -> float:
        """A fresh draft's utility at a common accuracy: its exact costs decide."""
        if self.study_spec.objectives != ("netscore",):
            return 0.0  # other rankings: the first draft
        return self.study_spec.utility(_PRIOR_ACCURACY, draft.costs.params, draft.costs.macs)

    def _mutate(self, rng: np.random.Generator, history: list[TrialRecord]) -> Proposal:
        parent = self._pick_elite(rng, history)
        seen = {r.spec_hash for r in history if r.spec_hash and r.state in ("COMPLETE", "RUNNING")}
        base = spec_from_dict(parent.spec)
        proposal, candidates = None, []
        for _ in range(_MAX_DUPLICATE_RETRIES):
            child, change = mutate(base, rng, insights=parent.insights or None)
            if rng.random() < 0.3:  # sometimes a second step, to escape local optima
                child, second = mutate(child, rng, insights=parent.insights or None)
                change = f"{change}; {second}"
            proposal = self._repair(child, "mutation", f"{change} (of #{parent.number})")
            proposal = dataclasses.replace(proposal, parent=parent.number)
            if proposal.feasible and proposal.spec.spec_hash not in seen:
                seen.add(proposal.spec.spec_hash)
                candidates.append(proposal)
                if len(candidates) == _MUTANTS:
                    break
        if candidates:
            return max(candidates, key=lambda c: self._expected_utility(parent, c))
        if proposal is None:  # _MAX_DUPLICATE_RETRIES is positive; for type checkers
            raise RuntimeError("no mutation was tried")
        return proposal

    def _expected_utility(self, parent: TrialRecord, child: Proposal) -> float:
        """The utility the child would score at its parent's accuracy (its costs are exact).

        Repair is cheap, so the generator drafts several mutants and keeps the one the
        utility favours; training then tells whether the accuracy held. The accuracy trend is
        not applied here: it would rule out every mutant lighter than its parent, and the
        parent is already at least as accurate as the reference (see :meth:`_pick_elite`).
        Studies ranked by something else than NetScore keep the first mutant.
        """
        if self.study_spec.objectives != ("netscore",) or parent.metric is None:
            return 0.0
        return self.study_spec.utility(parent.metric, child.costs.params, child.costs.macs)

    def _requirement(
        self, history: list[TrialRecord]
    ) -> tuple[float | None, AccuracyTrend | None]:
        """The proxy accuracy drafts should reach (the reference's) and the study's trend."""
        if self.study_spec.objectives != ("netscore",):
            return None, None
        floor = reference_proxy_metric(history)
        return (None, None) if floor is None else (floor, AccuracyTrend.fit(history))

    def _draft_key(
        self, draft: Proposal, predicted: float, floor: float
    ) -> tuple[bool, float, float]:
        """Drafts predicted to meet ``floor`` first, by NetScore at the prediction; the rest
        by the prediction itself (the most accurate-looking of them). Ties, such as drafts
        beyond the trend's seen range, go to the better NetScore at the prediction."""
        score = self.study_spec.utility(predicted, draft.costs.params, draft.costs.macs)
        if predicted < floor:
            return False, predicted, score
        return True, score, predicted

    def _pick_elite(self, rng: np.random.Generator, history: list[TrialRecord]) -> TrialRecord:
        """Tournament of two among the elite (top quarter by NetScore, or the Pareto front).

        Ranked by NetScore alone, the elite fills with the lightest designs (thin stages at
        high resolution), which lose accuracy in full training and run slowly. So the elite
        is drawn from the trials that meet the accuracy requirement on the proxy: at least
        the reference's own proxy accuracy (see :func:`accurate_pool`). The reference meets
        it, so mutations start from it until a better-scoring design does too.
        """
        feasible = [r for r in history if r.feasible and r.spec is not None]
        if self.study_spec.multi_objective:
            elite = pareto_front(feasible, self.study_spec.directions) or feasible
        else:
            pool = accurate_pool(feasible) or feasible
            ranked = sorted(pool, key=lambda r: r.values[0] if r.values else -np.inf)
            elite = ranked[::-1][: max(3, len(ranked) // 4)]
        a, b = (elite[int(i)] for i in rng.integers(0, len(elite), size=2))
        return a if (a.netscore or -np.inf) >= (b.netscore or -np.inf) else b

    # -- repair and checks -------------------------------------------------------------------

    def _repair(self, design: ArchSpec, origin: str, detail: str) -> Proposal:
        spec, notes = design, []
        if self.latency is None and origin != "reference":  # measured latency decides, if any
            spec, steered = steer(spec)
            notes += [steered] if steered else []
        if self.band is not None:
            result = repair(spec, self.band, params_max=self.study_spec.params_max)
            if not result.feasible:
                return self._infeasible(result.spec, origin, detail, result.reason or "")
            spec = result.spec
            if result.detail:
                notes.append(result.detail)
        elif self.params_limit is not None:
            limit = self.params_limit.max_params
            spec = bisect_width(spec, _params, 0.85 * limit, limit) or spec
        if self.latency is not None and self.band is None and origin == "reference":
            from gensynth.constraints.latency import scale_to_latency

            # Latency-first: the hand design uses the budget (grown or shrunk by measured
            # latency); a budget nothing reaches stops here, before any training.
            scaled = scale_to_latency(spec, self.latency)
            spec = scaled.spec
            notes.append(f"scaled by measured latency to {scaled.median_ms:.3g} ms "
                         f"({scaled.multiplier:.2f}x its widths)")  # fmt: skip
        elif self.latency is not None and self.band is None:
            from gensynth.constraints.latency import repair_latency

            repaired = repair_latency(spec, self.latency.budget_ms, indicator=self.latency)
            if repaired is None:
                reason = "cannot meet the latency budget even at the smallest widths"
                return self._infeasible(spec, origin, detail, reason)
            spec = repaired
        return self._check(spec, origin, "; ".join([detail, *notes]))

    def _check(self, spec: ArchSpec, origin: str, detail: str) -> Proposal:
        results = tuple(indicator.check(spec) for indicator in self.indicators)
        failed = [r for r in results if not r.passed]
        reason = "; ".join(f"{r.name} {r.measured:.4g} {r.unit} misses {r.limit}" for r in failed)
        return Proposal(
            spec, origin, detail, not failed, reason or None, results, count_costs(spec)
        )

    def _infeasible(self, spec: ArchSpec, origin: str, detail: str, reason: str) -> Proposal:
        checked = self._check(spec, origin, detail)
        return dataclasses.replace(checked, feasible=False, reason=reason or checked.reason)


def _params(spec: ArchSpec) -> float:
    return float(count_costs(spec).params)
