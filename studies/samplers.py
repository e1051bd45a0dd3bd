"""The study's sampler, with draws that depend on (seed, trial number), not on the process.

Several processes on one study (``--workers``, two machines, a rerun after a crash) each hold
their own sampler. Seeded the usual way, each would replay the same random stream, so two
workers (or a rerun) would propose the very same first candidates. :class:`TrialSeededSampler`
hands each trial to a fresh sampler seeded from the study seed and the trial number, through
Optuna's public sampler API only: a single run stays reproducible, and every trial's draw is
distinct, whichever process makes it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.samplers import BaseSampler, RandomSampler, TPESampler

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.study import Study
    from optuna.trial import FrozenTrial, TrialState

__all__ = [
    "GENERATIVE_DRAFTS",
    "PinnedSampler",
    "TrialSeededSampler",
    "make_sampler",
    "trial_stream_seed",
]


def trial_stream_seed(seed: int, number: int) -> int:
    """A 32-bit seed for trial ``number`` of a study seeded with ``seed``."""
    return int(np.random.SeedSequence([seed & 0xFFFFFFFF, number]).generate_state(1)[0])


class TrialSeededSampler(BaseSampler):
    r"""Delegates each trial to ``factory(trial_stream_seed(seed, trial.number))``.

    gensynth's generator drafts designs with :meth:`draft_sampler` (the same model, on a copy
    of the study) and then :meth:`pin`\ s the values its trial records, so what a trial's
    ``suggest_*`` calls return is the design that was actually trained.
    """

    def __init__(
        self,
        factory: Callable[[int], BaseSampler],
        seed: int,
        *,
        draft_factory: Callable[[int], BaseSampler] | None = None,
    ) -> None:
        self._factory = factory
        self._draft_factory = draft_factory or factory
        self._seed = seed
        self._study_level = factory(seed)
        self._by_trial: dict[int, BaseSampler] = {}

    def for_trial(self, number: int) -> BaseSampler:
        """The sampler that draws trial ``number`` (made on first use)."""
        if number not in self._by_trial:
            self._by_trial[number] = self._factory(trial_stream_seed(self._seed, number))
        return self._by_trial[number]

    def draft_sampler(self, number: int) -> BaseSampler:
        """A fresh sampler for drafting trial ``number``'s design (by default of the same kind)."""
        return self._draft_factory(trial_stream_seed(self._seed + 1, number))

    def pin(self, number: int, values: dict[str, Any]) -> None:
        """Make trial ``number``'s ``suggest_*`` calls return ``values`` (its design)."""
        self._by_trial[number] = PinnedSampler(values)

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self.for_trial(trial.number).infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return self.for_trial(trial.number).sample_relative(study, trial, search_space)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        sampler = self.for_trial(trial.number)
        return sampler.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self.for_trial(trial.number).before_trial(study, trial)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        sampler = self._by_trial.pop(trial.number, self._study_level)
        sampler.after_trial(study, trial, state, values)

    def reseed_rng(self) -> None:
        self._study_level.reseed_rng()


class PinnedSampler(BaseSampler):
    """Returns fixed values: how a trial records a design that was drafted elsewhere."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return {}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return {}

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        if param_name not in self.values:  # a bug: only pinned names are suggested
            raise KeyError(f"trial {trial.number}: no pinned value for {param_name!r}")
        return self.values[param_name]


#: How the generative strategy drafts fresh designs: "random" (uniform over the prototype's
#: space) or "tpe" (the study's TPE model, conditioned on every trial so far).
GENERATIVE_DRAFTS = "random"


def make_sampler(strategy: str, *, seed: int, trials: int) -> BaseSampler:
    """The seeded sampler of a search strategy, the same in every worker.

    ``random`` draws uniformly; ``tpe`` and ``generative`` use multivariate TPE, grouped for
    the conditional parameters of absent stages, with the constant liar (concurrent workers
    see each other's running trials), after a random start of a quarter of the budget (4 to
    10 trials). The generative strategy drafts its fresh designs uniformly
    (:data:`GENERATIVE_DRAFTS`): on real X-SDD images, drafts from the study's TPE did no
    better than uniform ones (``benchmarks/search_quality.py``, 3 seeds; the README's
    "Measured on our machine" has the figures), so the uniform draw stays the default.
    """
    base = seed * 1009
    if strategy == "random":
        return TrialSeededSampler(_random, base)
    startup = max(4, min(10, trials // 4))
    tpe = functools.partial(_tpe, startup)
    if strategy == "generative":
        drafts = _random if GENERATIVE_DRAFTS == "random" else tpe
        return TrialSeededSampler(tpe, base, draft_factory=drafts)
    return TrialSeededSampler(tpe, base)


def _random(seed: int) -> BaseSampler:
    return RandomSampler(seed=seed)


def _tpe(startup: int, seed: int) -> BaseSampler:
    import warnings

    import optuna

    with warnings.catch_warnings():  # multivariate and the liar are "experimental" in Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return TPESampler(
            seed=seed, n_startup_trials=startup, multivariate=True, group=True,
            constant_liar=True,
        )  # fmt: skip
