"""Training losses: cross-entropy with label smoothing, Dice + 0.5·BCE for masks, and
knowledge distillation from a teacher's logits."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

__all__ = ["classification_loss", "dice_bce_loss", "distillation_loss", "soft_dice_loss"]

_DICE_SMOOTH = 1.0  # keeps the Dice term finite (and zero) on batches without defect pixels


def classification_loss(
    logits: torch.Tensor, labels: torch.Tensor, label_smoothing: float = 0.0
) -> torch.Tensor:
    """Mean cross-entropy of (N, C) logits against int64 labels."""
    import torch.nn.functional as F

    return F.cross_entropy(logits, labels, label_smoothing=label_smoothing)


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - soft Dice of sigmoid(logits) against a 0..1 target, pooled over the whole batch."""
    import torch

    prob = torch.sigmoid(logits)
    inter = (prob * target).sum()
    total = prob.sum() + target.sum()
    return 1.0 - (2.0 * inter + _DICE_SMOOTH) / (total + _DICE_SMOOTH)


def dice_bce_loss(
    logits: torch.Tensor, target: torch.Tensor, bce_weight: float = 0.5
) -> torch.Tensor:
    """The seeds' segmentation loss: Dice + ``bce_weight``·BCE on (N, 1, H, W) logits."""
    import torch.nn.functional as F

    bce = F.binary_cross_entropy_with_logits(logits, target)
    return soft_dice_loss(logits, target) + bce_weight * bce


def distillation_loss(
    student: torch.Tensor, teacher: torch.Tensor, temperature: float = 4.0
) -> torch.Tensor:
    """Hinton's distillation term: T²·KL(softmax(teacher/T) ‖ softmax(student/T)), batch mean.

    The T² keeps its gradients on the scale of the cross-entropy's as T changes.
    """
    import torch.nn.functional as F

    t = float(temperature)
    return F.kl_div(
        F.log_softmax(student / t, dim=1),
        F.log_softmax(teacher / t, dim=1),
        reduction="batchmean",
        log_target=True,
    ) * (t * t)
