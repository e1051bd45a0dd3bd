"""Training recipes, losses, augmentation and metrics shared by the inquisitor and train."""

from __future__ import annotations

from gensynth.training._config import TrainConfig, primary_metric
from gensynth.training._evaluate import evaluate, predict_proba, score_prepared
from gensynth.training._fit import FitResult, fit
from gensynth.training._full import check_compatible, costs_of, train_to_dir
from gensynth.training._losses import classification_loss, dice_bce_loss, soft_dice_loss
from gensynth.training._metrics import (
    DEFAULT_AREA_THRESHOLD,
    DEFAULT_THRESHOLDS,
    classification_metrics,
    confusion_matrix,
    decision_scores,
    segmentation_metrics,
    segmentation_stats,
)
from gensynth.training._plots import plot_confusion, plot_curves, plot_decision_sweep
from gensynth.training._tensors import (
    PREPROCESSING,
    Prepared,
    augment_batch,
    num_threads,
    prepare,
    resize_images,
    seed_everything,
    to_input,
)

__all__ = [
    "DEFAULT_AREA_THRESHOLD",
    "DEFAULT_THRESHOLDS",
    "PREPROCESSING",
    "FitResult",
    "Prepared",
    "TrainConfig",
    "augment_batch",
    "check_compatible",
    "classification_loss",
    "classification_metrics",
    "confusion_matrix",
    "costs_of",
    "decision_scores",
    "dice_bce_loss",
    "evaluate",
    "fit",
    "num_threads",
    "plot_confusion",
    "plot_curves",
    "plot_decision_sweep",
    "predict_proba",
    "prepare",
    "primary_metric",
    "resize_images",
    "score_prepared",
    "seed_everything",
    "segmentation_metrics",
    "segmentation_stats",
    "soft_dice_loss",
    "to_input",
    "train_to_dir",
]
