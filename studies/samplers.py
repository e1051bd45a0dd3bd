"""Samplers whose random draws depend on (seed, trial number), not on the process drawing them.

Several processes on one study (``--workers``, two machines, a rerun after a crash) each hold
their own sampler. Seeded the usual way, each would replay the same random stream, so two
workers (or a rerun) would propose the very same first candidates. Reseeding from the trial
number before each trial keeps a single run reproducible and makes every trial's draw
distinct, whichever process makes it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.samplers import RandomSampler, TPESampler

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial

__all__ = ["TrialSeededRandomSampler", "TrialSeededTPESampler", "trial_stream_seed"]


def trial_stream_seed(seed: int, number: int) -> int:
    """A 32-bit seed for trial ``number`` of a study seeded with ``seed``."""
    return int(np.random.SeedSequence([seed & 0xFFFFFFFF, number]).generate_state(1)[0])


def _reseed(holder: Any, value: int) -> None:
    """Reseed an Optuna sampler's generator (``LazyRandomState``) in place."""
    lazy = getattr(holder, "_rng", None)
    if lazy is not None and hasattr(lazy, "rng"):
        lazy.rng.seed(value)
    else:  # a future Optuna without the attribute: fall back to a fresh random stream
        holder.reseed_rng()


class TrialSeededRandomSampler(RandomSampler):
    """Optuna's RandomSampler, reseeded from (seed, trial number) before each trial."""

    def __init__(self, *, seed: int) -> None:
        super().__init__(seed=seed)
        self._base_seed = seed

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        _reseed(self, trial_stream_seed(self._base_seed, trial.number))
        super().before_trial(study, trial)


class TrialSeededTPESampler(TPESampler):
    """Optuna's TPESampler, reseeded from (seed, trial number) before each trial."""

    def __init__(self, *, seed: int, **kwargs: Any) -> None:
        super().__init__(seed=seed, **kwargs)
        self._base_seed = seed

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        value = trial_stream_seed(self._base_seed, trial.number)
        _reseed(self, value)
        _reseed(getattr(self, "_random_sampler", self), value)
        super().before_trial(study, trial)
