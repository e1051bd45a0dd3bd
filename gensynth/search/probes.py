"""The inquisitor's probes: how a trained candidate reacts to stimuli, stage by stage.

Built models expose ``stage_names()`` and ``stage(name)``; residual blocks carry a
``branch_enabled`` flag (see ``gensynth.prototypes``). The reactions recorded per stage:

- ``energy``: mean squared activation of the stage output on the probe images;
- ``dead_fraction``: share of output channels that never fire (max activation <= 1e-6);
- ``sensitivity``: metric drop (percentage points) when the stage's residual branches are off;
- ``grad_norm``: RMS gradient of the stage's parameters on one training batch (gradient flow).

The generator's mutations read these: width moves to sensitive stages, dead-heavy ones shrink.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["activation_stats", "gradient_flow", "probe", "stage_sensitivity"]

Insights = dict[str, dict[str, float]]
_DEAD = 1e-6


def _stages(model: nn.Module) -> list[tuple[str, nn.Module]]:
    names = model.stage_names() if hasattr(model, "stage_names") else []  # type: ignore[operator]
    return [(name, model.stage(name)) for name in names]  # type: ignore[operator]


def activation_stats(model: nn.Module, images: torch.Tensor) -> Insights:
    """Energy and dead-channel fraction of every stage output on ``images``."""
    import torch

    outputs: dict[str, torch.Tensor] = {}
    hooks = []
    for name, stage in _stages(model):

        def keep(_m: nn.Module, _i: object, out: torch.Tensor, name: str = name) -> None:
            outputs[name] = out.detach()

        hooks.append(stage.register_forward_hook(keep))
    try:
        with torch.inference_mode():
            model.eval()
            model(images)
    finally:
        for hook in hooks:
            hook.remove()
    stats: Insights = {}
    for name, out in outputs.items():
        per_channel_max = out.transpose(0, 1).reshape(out.shape[1], -1).amax(dim=1)
        stats[name] = {
            "energy": float(out.float().pow(2).mean()),
            "dead_fraction": float((per_channel_max <= _DEAD).float().mean()),
        }
    return stats


@contextmanager
def _branches_off(stage: nn.Module) -> Iterator[int]:
    blocks = [m for m in stage.modules() if hasattr(m, "branch_enabled")]
    for block in blocks:
        block.branch_enabled = False  # type: ignore[assignment]
    try:
        yield len(blocks)
    finally:
        for block in blocks:
            block.branch_enabled = True  # type: ignore[assignment]


def stage_sensitivity(
    model: nn.Module, metric_of: Callable[[nn.Module], float], baseline: float
) -> dict[str, float]:
    """Metric drop when each stage's residual branches are zeroed (stages without any: 0)."""
    drops: dict[str, float] = {}
    for name, stage in _stages(model):
        with _branches_off(stage) as count:
            drops[name] = float(baseline - metric_of(model)) if count else 0.0
    return drops


def gradient_flow(
    model: nn.Module,
    images: torch.Tensor,
    loss_of: Callable[[torch.Tensor], torch.Tensor],
) -> dict[str, float]:
    """RMS parameter gradient of each stage after one backward pass on ``images``."""
    import torch

    model.train()
    model.zero_grad(set_to_none=True)
    with torch.enable_grad():
        loss_of(model(images)).backward()
    flow: dict[str, float] = {}
    for name, stage in _stages(model):
        grads = [p.grad.pow(2).sum() for p in stage.parameters() if p.grad is not None]
        count = sum(p.numel() for p in stage.parameters() if p.grad is not None)
        flow[name] = float(torch.stack(grads).sum().div(max(count, 1)).sqrt()) if grads else 0.0
    model.zero_grad(set_to_none=True)
    model.eval()
    return flow


def probe(
    model: nn.Module,
    images: torch.Tensor,
    *,
    metric_of: Callable[[nn.Module], float],
    baseline: float,
    loss_of: Callable[[torch.Tensor], torch.Tensor] | None = None,
    grad_images: torch.Tensor | None = None,
) -> Insights:
    """All reactions of one trained candidate, merged per stage."""
    insights = activation_stats(model, images)
    for name, drop in stage_sensitivity(model, metric_of, baseline).items():
        insights.setdefault(name, {})["sensitivity"] = drop
    if loss_of is not None:
        batch = grad_images if grad_images is not None else images
        for name, norm in gradient_flow(model, batch, loss_of).items():
            insights.setdefault(name, {})["grad_norm"] = norm
    return {name: {k: round(v, 6) for k, v in stats.items()} for name, stats in insights.items()}
