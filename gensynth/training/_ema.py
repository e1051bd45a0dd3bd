"""Weight EMA: torch's ``AveragedModel`` with a decay that warms up (timm's ModelEmaV3) to
a ceiling set by the length of the run.

A fixed decay of 0.999 averages over about a thousand steps; the search's proxy trains for
about a hundred, so such an average would still be mostly the random init and would rank
candidates by noise. Here the decay warms up as ``1 - (1 + step)^-power`` (early averages
forget the init quickly) and stops at the decay whose time constant is a fixed share of
the run's steps, so runs of any length average the same share of their training. Short
runs (the search's proxy) keep no EMA at all (``TrainConfig.ema_min_steps``): their weights
still move fast at the end, and even a short average scored below them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn
    from torch.optim.swa_utils import AveragedModel

__all__ = ["EMA_WARMUP_POWER", "ema_decay_at", "weight_ema", "window_decay"]

#: timm recommends 3/4 for runs of fewer steps (2/3 for long ones).
EMA_WARMUP_POWER = 0.75

Tensors = list["torch.Tensor"] | tuple["torch.Tensor", ...]
EmaUpdate = Callable[[Tensors, Tensors, "torch.Tensor | int"], None]


def window_decay(window: float, total_steps: int) -> float:
    """The decay whose time constant is ``window`` (a share) of ``total_steps``; 0 when that
    is a step or less (the average is then the current weights)."""
    span = window * total_steps
    return 0.0 if span <= 1.0 else 1.0 - 1.0 / span


def ema_decay_at(step: int, max_decay: float, power: float = EMA_WARMUP_POWER) -> float:
    """The decay used for the ``step``-th update (1-based): warm-up curve, capped."""
    return min(max_decay, 1.0 - (1.0 + step) ** -power)


def _warmup_update(max_decay: float) -> EmaUpdate:
    import torch

    @torch.no_grad()
    def update(averaged: Tensors, current: Tensors, n: torch.Tensor | int) -> None:
        # AveragedModel calls this per dtype group. Integer buffers (BatchNorm's batch
        # counter) cannot be averaged: they take the current value.
        if not averaged[0].is_floating_point():
            for mine, theirs in zip(averaged, current, strict=True):
                mine.copy_(theirs)
            return
        weight = 1.0 - ema_decay_at(int(n), max_decay)
        for mine, theirs in zip(averaged, current, strict=True):
            mine.lerp_(theirs, weight)

    return update


def weight_ema(model: nn.Module, max_decay: float) -> AveragedModel:
    """An EMA copy of ``model``'s parameters and buffers; call ``update_parameters(model)``
    after every optimiser step. The first update copies the weights."""
    from torch.optim.swa_utils import AveragedModel

    return AveragedModel(model, multi_avg_fn=_warmup_update(max_decay), use_buffers=True)
