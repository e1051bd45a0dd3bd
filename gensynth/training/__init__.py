"""Training recipes, losses, augmentation and metrics shared by the inquisitor and train.

- :class:`TrainConfig` is the recipe: ``TrainConfig.for_task`` for the search's proxy runs,
  ``TrainConfig.full`` (:data:`FULL_EPOCHS` within :data:`FULL_TIME_BUDGET`) for full training.
- :func:`fit` trains in memory (weight EMA, batch augmentation, optional distillation, a
  time-budget plan); :func:`train_to_dir` trains, tests once and writes a model folder.
"""

from __future__ import annotations

from gensynth.training._config import FULL_EPOCHS, FULL_TIME_BUDGET, TrainConfig, primary_metric
from gensynth.training._device import CPU, DEVICES, Device, check_device, resolve_device
from gensynth.training._ema import ema_decay_at, weight_ema
from gensynth.training._evaluate import evaluate, predict_proba, score_prepared
from gensynth.training._fit import FitResult, fit
from gensynth.training._full import (
    check_channels,
    check_compatible,
    costs_of,
    load_teacher,
    preprocessing_of,
    train_to_dir,
)
from gensynth.training._losses import (
    classification_loss,
    dice_bce_loss,
    distillation_loss,
    soft_dice_loss,
)
from gensynth.training._metrics import (
    DEFAULT_AREA_THRESHOLD,
    DEFAULT_THRESHOLDS,
    classification_metrics,
    confusion_matrix,
    decision_scores,
    segmentation_metrics,
    segmentation_stats,
)
from gensynth.training._plan import EpochPlan, plan_epochs
from gensynth.training._plots import plot_confusion, plot_curves, plot_decision_sweep
from gensynth.training._tensors import (
    PREPROCESSING,
    Prepared,
    augment_batch,
    num_threads,
    prepare,
    random_crop,
    resize_images,
    seed_everything,
    to_input,
)

__all__ = [
    "CPU",
    "DEFAULT_AREA_THRESHOLD",
    "DEFAULT_THRESHOLDS",
    "DEVICES",
    "FULL_EPOCHS",
    "FULL_TIME_BUDGET",
    "PREPROCESSING",
    "Device",
    "EpochPlan",
    "FitResult",
    "Prepared",
    "TrainConfig",
    "augment_batch",
    "check_channels",
    "check_compatible",
    "check_device",
    "classification_loss",
    "classification_metrics",
    "confusion_matrix",
    "costs_of",
    "decision_scores",
    "dice_bce_loss",
    "distillation_loss",
    "ema_decay_at",
    "evaluate",
    "fit",
    "load_teacher",
    "num_threads",
    "plan_epochs",
    "plot_confusion",
    "plot_curves",
    "plot_decision_sweep",
    "predict_proba",
    "prepare",
    "preprocessing_of",
    "primary_metric",
    "random_crop",
    "resize_images",
    "resolve_device",
    "score_prepared",
    "seed_everything",
    "segmentation_metrics",
    "segmentation_stats",
    "soft_dice_loss",
    "to_input",
    "train_to_dir",
    "weight_ema",
]
