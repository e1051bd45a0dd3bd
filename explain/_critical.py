"""Critical factors in the GSInquire sense: the smallest region whose removal matters.

Removing a region means replacing its pixels by the image's mean grey level (a neutral fill
that erases local structure such as a defect). A removal has *impact* when the decision
changes or the confidence falls to <= tau x its original value (see ``Subject.outcome``).

- :func:`critical_factors` grows the top-k% of an attribution map's positive pixels along a
  ladder of areas and keeps the smallest area with impact (GSInquire's critical factors of a
  heat-map explainer).
- ``critical`` (:class:`CriticalExplainer`) finds the region itself: a greedy search over a
  grid of patches, each step removing the patch (among the few most promising) that cuts the
  confidence most, until the removal has impact or the area budget is spent.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import torch

from gensynth.explain._base import EXPLAINERS, Explainer
from gensynth.explain._subject import Prediction, Subject

__all__ = [
    "DEFAULT_LADDER",
    "CriticalExplainer",
    "CriticalFactors",
    "critical_factors",
    "patch_masks",
    "removal_impact",
    "remove_regions",
]

#: Region areas tried, as shares of the image; the last one is the largest critical region.
DEFAULT_LADDER: tuple[float, ...] = (0.005, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25)
_MAX_IMAGES = 256  # altered images held at once


@dataclasses.dataclass
class CriticalFactors:
    """Per sample: whether a region with impact was found, its area share, and the region."""

    found: np.ndarray  # bool (N,)
    area: np.ndarray  # float (N,), share of the image; NaN where not found
    regions: np.ndarray  # bool (N, H, W): the region found, else the largest one tried
    confidence: np.ndarray  # float (N,): confidence after removing ``regions``


def remove_regions(inputs: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
    """``inputs`` (N, C, H, W) with ``regions`` (N, H, W) set to each image's mean level."""
    fill = inputs.mean(dim=(1, 2, 3), keepdim=True)
    weight = regions.to(inputs.dtype)[:, None]
    return inputs * (1 - weight) + fill * weight


def _outcomes(
    subject: Subject,
    inputs: torch.Tensor,
    prediction: Prediction,
    regions: torch.Tensor,
    tau: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(confidence, impacted), each (N, K), of removing each of ``regions`` (N, K, H, W)."""
    n, k = regions.shape[:2]
    per_chunk = max(1, _MAX_IMAGES // max(k, 1))
    conf, hit = [], []
    for start in range(0, n, per_chunk):
        part = slice(start, start + per_chunk)
        rows = inputs[part].repeat_interleave(k, 0)
        altered = remove_regions(rows, regions[part].reshape(-1, *regions.shape[2:]))
        now, impacted = subject.outcome(altered, prediction.take(part).repeat(k), tau)
        conf.append(now.view(-1, k))
        hit.append(impacted.view(-1, k))
    return torch.cat(conf), torch.cat(hit)


def removal_impact(
    subject: Subject,
    inputs: torch.Tensor,
    prediction: Prediction,
    regions: torch.Tensor | np.ndarray,
    tau: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(impacted bool (N,), confidence after (N,)) of removing one region per sample."""
    regions = torch.as_tensor(np.asarray(regions) if isinstance(regions, np.ndarray) else regions)
    conf, hit = _outcomes(subject, inputs, prediction, regions[:, None].bool(), tau)
    return hit[:, 0].numpy(), conf[:, 0].numpy()


def _ladder_masks(attribution: torch.Tensor, ladder: tuple[float, ...]) -> torch.Tensor:
    """(L, H, W) masks of the top-k% pixels for each k on the ladder, positive pixels only."""
    flat = attribution.flatten()
    positive = int((flat > 0).sum())
    order = torch.argsort(-flat, stable=True)
    masks = torch.zeros(len(ladder), flat.numel(), dtype=torch.bool)
    for i, share in enumerate(ladder):
        count = min(positive, max(1, math.ceil(share * flat.numel())))
        masks[i, order[:count]] = True
    return masks.view(len(ladder), *attribution.shape)


def critical_factors(
    subject: Subject,
    inputs: torch.Tensor,
    prediction: Prediction,
    maps: torch.Tensor,
    tau: float,
    ladder: tuple[float, ...] = DEFAULT_LADDER,
) -> CriticalFactors:
    """The smallest top-k% region of each map (k on ``ladder``) whose removal has impact."""
    masks = torch.stack([_ladder_masks(m, ladder) for m in maps])
    conf, hit = _outcomes(subject, inputs, prediction, masks, tau)
    found = hit.any(1)
    pick = torch.where(
        found, hit.float().argmax(1), torch.full_like(found, len(ladder) - 1, dtype=torch.long)
    )
    rows = torch.arange(len(maps))
    regions = masks[rows, pick]
    area = regions.flatten(1).float().mean(1)
    area = torch.where(found, area, torch.full_like(area, math.nan))
    return CriticalFactors(found.numpy(), area.numpy(), regions.numpy(), conf[rows, pick].numpy())


def patch_masks(size: int, grid: int) -> torch.Tensor:
    """(grid * grid, size, size) masks of square cells of side ceil(size / grid)."""
    side = math.ceil(size / grid)
    masks = []
    for top in range(0, size, side):
        for left in range(0, size, side):
            mask = torch.zeros(size, size, dtype=torch.bool)
            mask[top : top + side, left : left + side] = True
            masks.append(mask)
    return torch.stack(masks)


@EXPLAINERS.register("critical")
class CriticalExplainer(Explainer):
    """GSInquire-style critical factors found by a greedy search over image patches."""

    name = "critical"
    summary = "greedy search for the smallest set of patches whose removal has impact"

    def __init__(
        self, tau: float = 0.5, max_area: float = 0.25, grid: int = 8, candidates: int = 4
    ) -> None:
        self.tau, self.max_area, self.grid, self.candidates = tau, max_area, grid, candidates

    @classmethod
    def from_config(cls, config: Any) -> Explainer:
        return cls(tau=config.tau, max_area=config.max_area, grid=config.critical_grid)

    def settings(self, subject: Subject) -> dict[str, Any]:
        side = math.ceil(subject.input_size / self.grid)
        return {"patch": side, "candidates_per_step": self.candidates, "max_area": self.max_area}

    def attribute(
        self, subject: Subject, inputs: torch.Tensor, prediction: Prediction
    ) -> torch.Tensor:
        patches = patch_masks(inputs.shape[-1], self.grid)
        count = len(patches)
        singles = patches[None].expand(len(inputs), -1, -1, -1)
        conf, _ = _outcomes(subject, inputs, prediction, singles, self.tau)
        drop = prediction.confidence[:, None] - conf  # (N, P): single-patch evidence
        order = self._greedy(subject, inputs, prediction, patches, drop.clone())
        top = drop.clamp_min(0) / drop.clamp_min(0).amax(1, keepdim=True).clamp_min(1e-12)
        # Chosen patches outrank all others, in the order the search took them.
        value = torch.where(order > 0, 2.0 + (count - order).float(), 0.999 * top)
        return torch.einsum("np,phw->nhw", value, patches.float())

    def _greedy(
        self,
        subject: Subject,
        inputs: torch.Tensor,
        prediction: Prediction,
        patches: torch.Tensor,
        score: torch.Tensor,
    ) -> torch.Tensor:
        """(N, P) step at which each patch was removed (1 = first), 0 = never."""
        n, count = score.shape
        order = torch.zeros(n, count, dtype=torch.long)
        removed = torch.zeros(n, *patches.shape[1:], dtype=torch.bool)
        done = torch.zeros(n, dtype=torch.bool)
        for step in range(1, max(1, int(self.max_area * count)) + 1):
            active = (~done).nonzero().flatten()
            if len(active) == 0:
                break
            free = score[active].masked_fill(order[active] > 0, -math.inf)
            cand = free.topk(min(self.candidates, count - step + 1), dim=1).indices
            trial = removed[active][:, None] | patches[cand]
            pred = prediction.take(active)
            conf, hit = _outcomes(subject, inputs[active], pred, trial, self.tau)
            best = (conf - 2.0 * hit.float()).argmin(1)
            rows = torch.arange(len(active))
            chosen = cand[rows, best]
            order[active, chosen] = step
            removed[active] |= patches[chosen]
            score[active[:, None], cand] = pred.confidence[:, None] - conf
            done[active] = hit[rows, best]
        return order
