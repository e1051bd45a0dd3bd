"""The training recipe: one frozen config for the inquisitor's proxy runs and full training."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

from gensynth.errors import ConfigError
from gensynth.training._device import check_device

__all__ = ["FULL_EPOCHS", "FULL_OPTIONS", "FULL_TIME_BUDGET", "TrainConfig", "primary_metric"]

TrainTask = Literal["classify", "segment"]

# Defaults per task, under the user's overrides (timm-style ``dict(defaults, **overrides)``).
_TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "classify": {"lr": 3e-3, "weight_decay": 0.05, "label_smoothing": 0.1, "batch_size": 32},
    # Seeds use SGD lr 3e-4 for ~2000 iterations; AdamW reaches a usable mask in a proxy budget.
    "segment": {"lr": 2e-3, "weight_decay": 1e-4, "label_smoothing": 0.0, "batch_size": 16},
}


#: Full-training epochs per task (``TrainConfig.full``); the search's proxy uses far fewer.
#: At 30 the validation curve of a small classifier on a few hundred images per class was
#: still rising in its last epochs (best epochs 25 and 28 of 30 on x-sdd).
FULL_EPOCHS: dict[str, int] = {"classify": 60, "segment": 60}
#: Wall-clock seconds full training may take per task; fewer epochs are planned to fit. An
#: 89 M-MAC classifier took 242 s for 30 epochs of x-sdd (870 training images at 200 px) on
#: an idle 2-core CPU: 60 epochs of NEU's 1,152 training images take about 11 minutes.
FULL_TIME_BUDGET: dict[str, float] = {"classify": 900.0, "segment": 1800.0}
#: Full-training options per task beyond the defaults. Segmentation trains its first epochs
#: at half the side (progressive resizing): on 2 cores a 440 M-MAC segmenter at 200 px got
#: 8 epochs (about 470 steps) in the finals' time, and learned next to nothing.
FULL_OPTIONS: dict[str, dict[str, Any]] = {"classify": {}, "segment": {"progressive_scale": 0.5}}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How a candidate is trained: budget, optimiser, schedule, augmentation, speed knobs.

    - ``schedule``: ``cosine`` (linear warm-up over ``warmup_fraction`` of the steps, then
      cosine decay to zero), ``onecycle`` (torch's OneCycleLR peaking at ``lr``) or ``constant``.
    - ``augment``: random 90° rotations and flips of each sample (the 8 symmetries of the
      square), applied to the batch with tensor ops; masks follow their images.
    - ``input_size``: proxy resolution; images (and masks) are resized once, up front.
      None trains at the data's own size.
    - ``max_train_samples``: a class-stratified, seeded subset of the training split.
    - ``threads``: ``torch.set_num_threads`` while training (restored afterwards); None keeps it.
    - ``channels_last``: NHWC weights and batches; 1.6-1.9x faster CPU training (oneDNN),
      measured by benchmarks/train_throughput.py.
    - ``grad_clip``: maximum global gradient norm, or None for no clipping.
    - ``ema_window``: keep an exponential moving average of the weights (and BatchNorm
      statistics), validate it every epoch, select and return it. Its time constant is this
      share of the run's steps (decay ``1 - 1/(window × steps)``), reached through timm's
      ModelEmaV3 warm-up ``1 - (1 + step)^-0.75``; so a 2000-step run averages its last
      two hundred steps and does not hold on to the init. None trains without EMA.
    - ``ema_min_steps``: runs of fewer steps keep no EMA. Their weights still move fast at
      the end, and any average lags: on x-sdd a 108-step proxy run's EMA scored 4-6 points
      below its weights, and on magnetic tile a 636-step run's EMA reached 3.7% mIoU against
      8.4%, while over 1,620 steps the EMA was the better, smoother model.
    - ``crop_scale``: random square crops whose side is drawn from this range (a share of the
      image side), resized back to the input size; above 1 zooms out with mirrored borders.
      Masks follow. ``(1.0, 1.0)`` is off.
    - ``distill_weight``, ``distill_temperature``: with a teacher model passed to ``fit``
      (classification), the loss is ``(1 - w)·CE + w·T²·KL(teacher ‖ student)`` on
      softened logits (Hinton et al.). Without a teacher they have no effect.
    - ``negative_share``: segmentation only. Each epoch takes every training image with a
      defect pixel and a fresh random draw of defect-free ones, so that they make up at most
      this share of the epoch (None, the default: every image, every epoch). Epochs get
      shorter where most images are defect-free (magnetic tile: 952 of 1,344), but over the
      same 8 epochs 0.5 did not train a better A-Net there (test mIoU 2.3 against 3.1%),
      so it is an option, not the default.
    - ``progressive_scale``, ``progressive_share``: progressive resizing. The first
      ``progressive_share`` of the epochs train on batches shrunk to ``progressive_scale``
      of the input side (masks follow); the rest, and every validation, run at the input
      size. A step at half the side costs about a quarter, so a time budget buys several
      times the steps. None (the default) trains every epoch at the input size.
    - ``device``: ``auto`` (CUDA when torch sees a GPU, else the CPU), ``cpu`` or ``cuda``;
      see ``_device``. The weights come back on the CPU whichever trained them.
    - ``amp``: mixed precision (autocast bfloat16, or float16 with loss scaling) on CUDA; the
      CPU always trains in float32.
    - ``time_budget``: seconds that training (steps and validation) may take. The first
      steps are timed on a copy of the model and ``epochs`` is lowered to fit before the
      schedule is built, so the schedule still ends at zero; training that overruns the
      budget by a quarter stops early. None: no bound.
    """

    epochs: int = 10
    batch_size: int = 32
    optimizer: Literal["adamw", "sgd"] = "adamw"
    lr: float = 3e-3
    weight_decay: float = 0.05
    momentum: float = 0.9
    schedule: Literal["cosine", "onecycle", "constant"] = "cosine"
    warmup_fraction: float = 0.05
    label_smoothing: float = 0.1
    bce_weight: float = 0.5
    augment: bool = True
    input_size: int | None = None
    max_train_samples: int | None = None
    seed: int = 0
    threads: int | None = None
    channels_last: bool = True
    grad_clip: float | None = 5.0
    eval_batch_size: int = 64
    ema_window: float | None = 0.1
    ema_min_steps: int = 1000
    crop_scale: tuple[float, float] = (1.0, 1.0)
    distill_weight: float = 0.5
    distill_temperature: float = 4.0
    negative_share: float | None = None
    progressive_scale: float | None = None
    progressive_share: float = 0.75
    time_budget: float | None = None
    device: str = "auto"
    amp: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.crop_scale, list):  # from YAML or JSON
            object.__setattr__(self, "crop_scale", tuple(self.crop_scale))
        self.validate()

    @classmethod
    def for_task(cls, task: str, **overrides: Any) -> TrainConfig:
        """The recommended recipe for ``task`` ("classify" or "segment"), with ``overrides``."""
        if task not in _TASK_DEFAULTS:
            raise ConfigError(f"task: expected 'classify' or 'segment', got {task!r}")
        unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ConfigError(
                f"unknown training option {unknown[0]!r}",
                hint=f"valid options: {', '.join(f.name for f in dataclasses.fields(cls))}",
            )
        return cls(**dict(_TASK_DEFAULTS[task], **overrides))

    @classmethod
    def full(cls, task: str, **overrides: Any) -> TrainConfig:
        """The full-training recipe of ``task``: FULL_EPOCHS within FULL_TIME_BUDGET, with
        FULL_OPTIONS."""
        if task not in FULL_EPOCHS:
            raise ConfigError(f"task: expected 'classify' or 'segment', got {task!r}")
        defaults = {"epochs": FULL_EPOCHS[task], "time_budget": FULL_TIME_BUDGET[task],
                    **FULL_OPTIONS[task]}  # fmt: skip
        return cls.for_task(task, **dict(defaults, **overrides))

    def images_per_epoch(self, defects: int, negatives: int) -> int:
        """Training images one epoch takes, of ``defects`` with a defect pixel and
        ``negatives`` defect-free ones (see ``negative_share``)."""
        if self.negative_share is None or defects == 0:
            return defects + negatives
        share = self.negative_share
        return defects + min(negatives, math.floor(defects * share / (1.0 - share)))

    def progressive_epochs(self, epochs: int | None = None) -> int:
        """How many of ``epochs`` (default: ``self.epochs``) train at the reduced side."""
        if self.progressive_scale is None:
            return 0
        return math.floor(self.progressive_share * (self.epochs if epochs is None else epochs))

    def progressive_side(self, side: int) -> int:
        """The side of the progressive epochs' batches, for an input ``side`` pixels wide."""
        scale = 1.0 if self.progressive_scale is None else self.progressive_scale
        return max(8, round(side * scale))

    def replace(self, **changes: Any) -> TrainConfig:
        """A validated copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def validate(self, path: str = "") -> None:
        """Range checks; raise ConfigError naming the field and the value it got."""
        at = f"{path}." if path else ""
        _positive_int(f"{at}epochs", self.epochs)
        _positive_int(f"{at}batch_size", self.batch_size)
        _positive_int(f"{at}eval_batch_size", self.eval_batch_size)
        _choice(f"{at}optimizer", self.optimizer, ("adamw", "sgd"))
        _choice(f"{at}schedule", self.schedule, ("cosine", "onecycle", "constant"))
        _number(f"{at}lr", self.lr, low=0.0, low_open=True)
        _number(f"{at}weight_decay", self.weight_decay, low=0.0)
        _number(f"{at}momentum", self.momentum, low=0.0, high=1.0)
        _number(f"{at}warmup_fraction", self.warmup_fraction, low=0.0, high=0.5)
        _number(f"{at}label_smoothing", self.label_smoothing, low=0.0, high=0.5)
        _number(f"{at}bce_weight", self.bce_weight, low=0.0)
        if self.grad_clip is not None:
            _number(f"{at}grad_clip", self.grad_clip, low=0.0, low_open=True)
        for name in ("input_size", "max_train_samples", "threads"):
            value = getattr(self, name)
            if value is not None:
                _positive_int(f"{at}{name}", value)
        self._validate_recipe(at)
        if self.input_size is not None and self.input_size < 8:
            raise ConfigError(f"{at}input_size: expected at least 8 pixels, got {self.input_size}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ConfigError(f"{at}seed: expected an integer, got {self.seed!r}")

    def _validate_recipe(self, at: str) -> None:
        """Range checks of the EMA, crop, distillation and time-budget fields."""
        if self.ema_window is not None:
            _number(f"{at}ema_window", self.ema_window, low=0.0, high=1.0, low_open=True)
        if not isinstance(self.ema_min_steps, int) or isinstance(self.ema_min_steps, bool):
            raise ConfigError(
                f"{at}ema_min_steps: expected an integer >= 0, got {self.ema_min_steps!r}"
            )
        _number(f"{at}ema_min_steps", self.ema_min_steps, low=0.0)
        _crop_scale(f"{at}crop_scale", self.crop_scale)
        _number(f"{at}distill_weight", self.distill_weight, low=0.0, high=1.0)
        _number(f"{at}distill_temperature", self.distill_temperature, low=0.0, low_open=True)
        if self.negative_share is not None:
            _number(f"{at}negative_share", self.negative_share, low=0.0, high=1.0, high_open=True)
        if self.progressive_scale is not None:
            _number(f"{at}progressive_scale", self.progressive_scale, low=PROGRESSIVE_MIN,
                    high=1.0, high_open=True)  # fmt: skip
        _number(f"{at}progressive_share", self.progressive_share, low=0.0, high=1.0,
                low_open=True, high_open=True)  # fmt: skip
        if self.time_budget is not None:
            _number(f"{at}time_budget", self.time_budget, low=0.0, low_open=True)
        check_device(self.device, f"{at}device")
        if not isinstance(self.amp, bool):
            raise ConfigError(f"{at}amp: expected true or false, got {self.amp!r}")


def primary_metric(task: str) -> str:
    """The validation metric that selects models and feeds NetScore (percent)."""
    if task == "classify":
        return "accuracy"
    if task == "segment":
        return "miou"
    raise ConfigError(f"task: expected 'classify' or 'segment', got {task!r}")


def _positive_int(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{name}: expected a positive integer, got {value!r}")


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name}: expected one of {', '.join(choices)}, got {value!r}")


#: The smallest ``progressive_scale``: below a quarter of the side, defects vanish.
PROGRESSIVE_MIN = 0.25

#: The crop side range ``crop_scale`` may take: a quarter of the image to twice its side.
CROP_LIMITS = (0.25, 2.0)


def _crop_scale(name: str, value: Any) -> None:
    pair = isinstance(value, tuple) and len(value) == 2
    if pair:
        for part in value:
            _number(name, part, low=CROP_LIMITS[0], high=CROP_LIMITS[1])
    if not pair or value[0] > value[1]:
        raise ConfigError(
            f"{name}: expected (low, high) with {CROP_LIMITS[0]:g} <= low <= high <= "
            f"{CROP_LIMITS[1]:g}, got {value!r}"
        )


def _number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
        expected = " and ".join(part for part in (lo, hi) if part) or "a finite number"
        raise ConfigError(f"{name}: expected a number {expected}, got {value!r}")
