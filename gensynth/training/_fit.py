"""The training loop: in-memory tensors, batch augmentation, best-on-validation selection."""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gensynth.errors import ConfigError, DataError, TrialFailed
from gensynth.training._config import TrainConfig, primary_metric
from gensynth.training._device import CPU, Device, resolve_device
from gensynth.training._ema import weight_ema, window_decay
from gensynth.training._evaluate import check_output, score_prepared
from gensynth.training._losses import classification_loss, dice_bce_loss, distillation_loss
from gensynth.training._plan import DEADLINE_SLACK, EpochPlan, plan_epochs
from gensynth.training._tensors import Prepared, augment_batch, num_threads, prepare, to_input

if TYPE_CHECKING:
    import torch
    from torch import nn
    from torch.optim.swa_utils import AveragedModel

    from gensynth.data.dataset import DefectDataset

__all__ = ["FitResult", "fit"]

Progress = Callable[[dict[str, Any]], None]


@dataclasses.dataclass
class FitResult:
    """What one training run produced; ``state_dict`` is the best-validation epoch's weights
    (the EMA weights when the config keeps an EMA; then they also fill the model).

    ``plan`` is the time-budget plan (see ``_plan``), ``stop_reason`` why training ended
    before its last epoch ("asked" by should_stop, or "time budget"), if it did.
    """

    history: list[dict[str, Any]]
    best_epoch: int
    val_metrics: dict[str, Any]
    train_seconds: float
    images_per_second: float
    state_dict: dict[str, torch.Tensor]
    metric: str
    stopped_early: bool = False
    train_samples: int = 0
    input_size: int = 0
    ema: bool = False
    distilled: bool = False
    plan: dict[str, Any] | None = None
    stop_reason: str | None = None
    device: dict[str, str] | None = None

    @property
    def best_value(self) -> float:
        """The primary validation metric of the selected epoch (percent)."""
        return float(self.val_metrics[self.metric])

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary (everything but the weights)."""
        skip = {"state_dict"}
        return {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in skip
        }


@dataclasses.dataclass
class _Run:
    """Mutable state of one fit call, so the helpers stay small."""

    model: nn.Module
    config: TrainConfig
    task: str
    num_classes: int
    train: Prepared
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    generator: torch.Generator
    steps: int
    memory_format: torch.memory_format
    progress: Progress | None
    should_stop: Callable[[], bool] | None
    device: Device
    scaler: Any = None  # a GradScaler for float16 autocast on CUDA, else None
    ema: AveragedModel | None = None
    teacher: nn.Module | None = None
    deadline: float | None = None
    step_seconds: float = 0.0
    images_seen: int = 0
    low_epochs: int = 0  # the first epochs, trained at the progressive side
    stopped: bool = False
    stop_reason: str | None = None

    @property
    def selected(self) -> nn.Module:
        """The weights that are validated, selected and returned: the EMA's, if kept."""
        return self.model if self.ema is None else self.ema.module


def fit(
    model: nn.Module,
    data: DefectDataset,
    config: TrainConfig,
    *,
    task: str,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    teacher: nn.Module | None = None,
) -> FitResult:
    """Train on the train split, validate every epoch, keep (and load back) the best epoch.

    Raises TrialFailed on a NaN/inf loss, naming the epoch and step. ``progress`` receives
    ``{"event": "step", epoch, epochs, step, steps, loss}`` dicts and, after validation,
    ``{"event": "epoch", ..., metric name: value}``. ``should_stop`` is polled every step;
    when it returns True training ends after validating what was trained so far.
    ``teacher`` (classification) is distilled into ``model`` (see TrainConfig).
    """
    import torch

    metric = primary_metric(task)
    device = resolve_device(config.device, amp=config.amp)
    started = time.perf_counter()
    with num_threads(config.threads):
        torch.manual_seed(config.seed)
        train, val = _prepare_splits(data, config, task)
        _check_teacher(teacher, task)
        num_classes = data.num_classes if task == "classify" else 1
        _on_device(model, teacher, device)
        _set_format(model, config)
        plan = None
        if config.time_budget is not None:
            plan = _plan(model, train, val, config, task, num_classes, teacher, data.class_names,
                         device)  # fmt: skip
            config = config.replace(epochs=plan.epochs)
        run = _start(model, config, task, train, progress, should_stop, device)
        run.num_classes, run.teacher = num_classes, teacher
        if config.time_budget is not None:
            run.deadline = started + DEADLINE_SLACK * config.time_budget
        history, best = _train_epochs(run, val, data.class_names, metric)
    _on_device(model, teacher, None)
    model.load_state_dict(best[3])
    return FitResult(
        history=history,
        best_epoch=best[1],
        val_metrics=best[2],
        train_seconds=time.perf_counter() - started,
        images_per_second=run.images_seen / run.step_seconds if run.step_seconds else 0.0,
        state_dict=best[3],
        metric=metric,
        stopped_early=run.stopped,
        train_samples=len(train),
        input_size=int(train.images.shape[-1]),
        ema=run.ema is not None,
        distilled=teacher is not None,
        plan=None if plan is None else plan.to_dict(),
        stop_reason=run.stop_reason if run.stopped else None,
        device=device.to_dict(),
    )


def _on_device(model: nn.Module, teacher: nn.Module | None, device: Device | None) -> None:
    """Move the model (and teacher) to ``device``, or back to the CPU (None). Modules
    already there do not move, so CPU training never touches them."""
    target = "cpu" if device is None else device.type
    for module in (model, teacher):
        first = None if module is None else next(module.parameters(), None)
        if module is not None and first is not None and first.device.type != target:
            module.to("cpu" if device is None else device.target)


_Best = tuple[float, int, dict[str, Any], dict[str, "torch.Tensor"]]


def _train_epochs(
    run: _Run, val: Prepared, class_names: tuple[str, ...], metric: str
) -> tuple[list[dict[str, Any]], _Best]:
    """Every epoch of ``run``: the history rows and the best (value, epoch, scores, state)."""
    history: list[dict[str, Any]] = []
    best: _Best | None = None
    for epoch in range(1, run.config.epochs + 1):
        row, scores = _epoch(run, epoch, val, class_names, metric)
        history.append(row)
        if best is None or row[f"val_{metric}"] > best[0]:
            best = (row[f"val_{metric}"], epoch, scores, _snapshot(run.selected))
        if run.stopped:
            break
    if best is None:  # unreachable: config validation guarantees epochs >= 1
        raise ConfigError(f"epochs: expected a positive integer, got {run.config.epochs}")
    return history, best


def _check_teacher(teacher: nn.Module | None, task: str) -> None:
    if teacher is not None and task != "classify":
        raise ConfigError(
            f"distillation: expected a classification task, got {task!r}",
            hint="distill classifiers only; train segmenters without a teacher",
        )


def _epoch(
    run: _Run, epoch: int, val: Prepared, class_names: tuple[str, ...], metric: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Train one epoch and validate: the history row and the validation metrics."""
    tick = time.perf_counter()
    seen, busy = run.images_seen, run.step_seconds
    loss = _train_epoch(run, epoch)
    speed = (run.images_seen - seen) / max(run.step_seconds - busy, 1e-9)

    def score(model: nn.Module) -> dict[str, Any]:
        size = run.config.eval_batch_size
        return score_prepared(model, val, task=run.task, class_names=class_names, batch_size=size)

    scores = score(run.selected)
    row = {"epoch": epoch, "loss": loss, "val_loss": scores.get("loss"),
           "train_size": _train_side(run, epoch)}  # fmt: skip
    row[f"val_{metric}"] = float(scores[metric])
    if run.ema is not None:  # the optimiser's own weights, for the curves
        raw = score(run.model)
        row |= {"val_loss_raw": raw.get("loss"), f"val_{metric}_raw": float(raw[metric])}
    row |= {
        "lr": float(run.optimizer.param_groups[0]["lr"]),
        "seconds": time.perf_counter() - tick,
        "images_per_second": speed,
    }
    if run.progress is not None:
        run.progress({"event": "epoch", **row, "epochs": run.config.epochs})
    return row, scores


def _prepare_splits(
    data: DefectDataset, config: TrainConfig, task: str
) -> tuple[Prepared, Prepared]:
    if task not in ("classify", "segment"):
        raise ConfigError(f"task: expected 'classify' or 'segment', got {task!r}")
    need = task == "segment"
    train = prepare(
        data,
        "train",
        input_size=config.input_size,
        max_samples=config.max_train_samples,
        seed=config.seed,
        need_masks=need,
    )
    val = prepare(data, "val", input_size=config.input_size, need_masks=need)
    if len(train) < 2:
        raise DataError(f"training needs at least 2 samples in the train split, got {len(train)}")
    if len(val) == 0:
        raise DataError(
            "the data set has no validation split, expected at least one sample",
            hint="model selection uses the val split; regenerate the split with a val share",
        )
    return train, val


def _set_format(model: nn.Module, config: TrainConfig) -> torch.memory_format:
    import torch

    fmt = torch.channels_last if config.channels_last else torch.contiguous_format
    model.to(memory_format=fmt)  # type: ignore[call-overload]
    return fmt


def _steps_per_epoch(train: Prepared, config: TrainConfig) -> int:
    # Batches of one break BatchNorm in training mode: drop the ragged tail instead.
    return max(1, _epoch_size(train, config) // config.batch_size)


def _defect_free(train: Prepared, config: TrainConfig) -> torch.Tensor | None:
    """Which training images have an empty mask, when ``negative_share`` thins them out."""
    if config.negative_share is None or train.masks is None:
        return None
    free = train.masks.flatten(1).amax(dim=1) == 0
    return None if bool(free.all()) else free


def _epoch_size(train: Prepared, config: TrainConfig) -> int:
    """Images per epoch: all of them, or the defect images and their share of the rest."""
    free = _defect_free(train, config)
    if free is None:
        return len(train)
    return config.images_per_epoch(int((~free).sum()), int(free.sum()))


def _epoch_order(run: _Run) -> torch.Tensor:
    """A fresh permutation of the epoch's images (see ``TrainConfig.negative_share``)."""
    import torch

    free = _defect_free(run.train, run.config)
    order = torch.randperm(len(run.train), generator=run.generator)
    if free is None:
        return order
    defects = int((~free).sum())
    keep = run.config.images_per_epoch(defects, len(free) - defects) - defects
    negatives = order[free[order]][:keep]  # a random draw: ``order`` is already shuffled
    return order[~free[order] | torch.isin(order, negatives)]


def _start(
    model: nn.Module,
    config: TrainConfig,
    task: str,
    train: Prepared,
    progress: Progress | None,
    should_stop: Callable[[], bool] | None,
    device: Device = CPU,
) -> _Run:
    import torch

    fmt = _set_format(model, config)
    steps = _steps_per_epoch(train, config)
    optimizer = _optimizer(model, config)
    return _Run(
        low_epochs=config.progressive_epochs(),
        model=model,
        config=config,
        task=task,
        num_classes=1,
        train=train,
        optimizer=optimizer,
        scheduler=_scheduler(optimizer, config, steps * config.epochs),
        generator=torch.Generator().manual_seed(config.seed),
        steps=steps,
        memory_format=fmt,
        progress=progress,
        should_stop=should_stop,
        device=device,
        scaler=device.scaler(),
        ema=_ema(model, config, steps * config.epochs),
    )


def _ema(model: nn.Module, config: TrainConfig, total_steps: int) -> AveragedModel | None:
    if config.ema_window is None or total_steps < config.ema_min_steps:
        return None
    return weight_ema(model, window_decay(config.ema_window, total_steps))


def _plan(
    model: nn.Module,
    train: Prepared,
    val: Prepared,
    config: TrainConfig,
    task: str,
    num_classes: int,
    teacher: nn.Module | None,
    class_names: tuple[str, ...],
    device: Device,
) -> EpochPlan:
    """Time the recipe's steps on a throwaway copy of ``model`` and plan the epochs.

    The copy steps at a negligible learning rate, so it costs what a real step costs but
    cannot diverge, and its own generator leaves the real run's random stream untouched.
    """
    import copy

    import torch

    quiet = config.replace(lr=1e-12, schedule="constant", ema_window=None)
    probe = _start(copy.deepcopy(model), quiet, task, train, None, None, device)
    probe.num_classes, probe.teacher = num_classes, teacher
    probe.generator.manual_seed(config.seed + 1)
    size = min(config.batch_size, len(train))
    count = iter(range(1, 1 << 30))

    def step(epoch: int) -> None:
        idx = torch.randperm(len(train), generator=probe.generator)[:size]
        _step(probe, idx, epoch, next(count))

    def evaluate() -> None:
        size = config.eval_batch_size
        score_prepared(probe.model, val, task=task, class_names=class_names, batch_size=size)

    low_step = None
    if config.progressive_scale is not None:  # steps of the first epochs, at the smaller side
        probe.low_epochs = 1
        low_step = functools.partial(step, 1)
    return plan_epochs(
        functools.partial(step, 2),
        evaluate,
        low_step=low_step,
        low_share=config.progressive_share,
        steps_per_epoch=_steps_per_epoch(train, config),
        evals_per_epoch=1 if _ema(model, config, probe.steps * config.epochs) is None else 2,
        epochs=config.epochs,
        time_budget=float(config.time_budget or 0.0),
    )


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """AdamW or SGD; no weight decay on biases and norm scales (1-d parameters)."""
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError("the model has no trainable parameters, expected at least one")
    groups = [
        {"params": [p for p in params if p.dim() > 1], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.dim() <= 1], "weight_decay": 0.0},
    ]
    groups = [g for g in groups if g["params"]]
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=True)
    return torch.optim.AdamW(groups, lr=config.lr)


def _scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig, total: int
) -> torch.optim.lr_scheduler.LRScheduler:
    import torch

    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=config.lr,
            total_steps=total,
            pct_start=max(config.warmup_fraction, 0.05),
        )
    warmup = round(config.warmup_fraction * total)

    def factor(step: int) -> float:
        if config.schedule == "constant":
            return 1.0
        if step < warmup:
            return (step + 1) / (warmup + 1)
        done = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, done)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def _train_epoch(run: _Run, epoch: int) -> float | None:
    """One pass over a fresh permutation of the epoch's images; the mean loss (None: no step)."""
    run.model.train()
    order = _epoch_order(run)
    size = min(run.config.batch_size, len(order))
    total = 0.0
    done = 0
    for step in range(1, run.steps + 1):
        run.stop_reason = _stop_reason(run)
        if run.stop_reason is not None:
            run.stopped = True
            break
        tick = time.perf_counter()
        idx = order[(step - 1) * size : step * size]
        loss = _step(run, idx, epoch, step)
        run.step_seconds += time.perf_counter() - tick
        run.images_seen += len(idx)
        total += loss
        done += 1
        if run.progress is not None:
            run.progress(
                {
                    "event": "step",
                    "epoch": epoch,
                    "epochs": run.config.epochs,
                    "step": step,
                    "steps": run.steps,
                    "loss": loss,
                }
            )
    return total / done if done else None


def _stop_reason(run: _Run) -> str | None:
    if run.should_stop is not None and run.should_stop():
        return "asked"
    if run.deadline is not None and time.perf_counter() > run.deadline:
        return "time budget"
    return None


def _step(run: _Run, idx: torch.Tensor, epoch: int, step: int) -> float:
    """Forward, loss, finite check, backward, clip, update (and EMA): the loss value."""
    import torch

    images = run.train.images[idx]
    masks = None if run.train.masks is None else run.train.masks[idx]
    if run.config.augment:
        crop = run.config.crop_scale
        images, masks = augment_batch(images, masks, run.generator, crop_scale=crop)
    if run.device.type != "cpu":  # augmentation stays on the CPU, in the seeded stream
        images = images.to(run.device.target, non_blocking=True)
        masks = None if masks is None else masks.to(run.device.target, non_blocking=True)
    inputs = to_input(images)
    if epoch <= run.low_epochs:
        inputs, masks = _shrink(inputs, masks, _train_side(run, epoch))
    inputs = inputs.contiguous(memory_format=run.memory_format)
    with run.device.autocast():
        out = run.model(inputs)
        if epoch == 1 and step == 1:
            size = (int(inputs.shape[-2]), int(inputs.shape[-1]))
            check_output(out, run.task, run.num_classes, size)
        loss = _loss(run, out if run.device.amp_dtype is None else out.float(), inputs, idx,
                     masks)  # fmt: skip
    value = float(loss.item())
    if not math.isfinite(value):
        raise TrialFailed(
            f"training diverged: loss is {value} at epoch {epoch}, step {step}",
            hint="lower the learning rate, or set grad_clip to clip gradients",
        )
    run.optimizer.zero_grad(set_to_none=True)
    if run.scaler is not None:
        _scaled_update(run, loss)
    else:
        loss.backward()
        if run.config.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.config.grad_clip)
        run.optimizer.step()
    run.scheduler.step()
    if run.ema is not None:
        run.ema.update_parameters(run.model)
    return value


def _scaled_update(run: _Run, loss: torch.Tensor) -> None:
    """Backward and step through the float16 GradScaler (unscaled before clipping)."""
    import torch

    run.scaler.scale(loss).backward()
    if run.config.grad_clip is not None:
        run.scaler.unscale_(run.optimizer)
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), run.config.grad_clip)
    run.scaler.step(run.optimizer)
    run.scaler.update()


def _train_side(run: _Run, epoch: int) -> int:
    """The side of the batches ``epoch`` trains on (see ``TrainConfig.progressive_scale``)."""
    side = int(run.train.images.shape[-1])
    return run.config.progressive_side(side) if epoch <= run.low_epochs else side


def _shrink(
    inputs: torch.Tensor, masks: torch.Tensor | None, side: int
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Images and masks averaged down to ``side`` (masks stay 0..255 coverage)."""
    import torch.nn.functional as F

    height, width = inputs.shape[-2:]
    size = (max(1, round(height * side / width)), side)

    def area(batch: torch.Tensor) -> torch.Tensor:
        return F.interpolate(batch.float(), size=size, mode="area")

    return area(inputs), None if masks is None else area(masks)


def _loss(
    run: _Run,
    out: torch.Tensor,
    inputs: torch.Tensor,
    idx: torch.Tensor,
    masks: torch.Tensor | None,
) -> torch.Tensor:
    """The task's loss of one batch, with the teacher's distillation term if there is one."""
    import torch

    config = run.config
    if run.task != "classify":
        if masks is None:  # unreachable: prepare(need_masks=True) refuses data without masks
            raise DataError("segmentation training needs defect masks; the batch has none")
        return dice_bce_loss(out, masks.float().mul(1.0 / 255.0), config.bce_weight)
    labels = run.train.labels[idx]
    if out.device.type != "cpu":
        labels = labels.to(out.device)
    loss = classification_loss(out, labels, config.label_smoothing)
    if run.teacher is None:
        return loss
    run.teacher.eval()
    with torch.no_grad():
        target = run.teacher(inputs).float()
    if target.shape != out.shape:
        raise DataError(
            f"the teacher outputs logits of shape {tuple(target.shape)}, the student "
            f"{tuple(out.shape)}",
            hint="distil from a teacher trained on the same classes",
        )
    soft = distillation_loss(out, target, config.distill_temperature)
    return (1.0 - config.distill_weight) * loss + config.distill_weight * soft


def _snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    import torch

    # Contiguous copies: safetensors refuses channels-last tensors, and callers save these.
    fmt = torch.contiguous_format
    state = model.state_dict().items()
    if all(v.device.type == "cpu" for _, v in state):
        return {k: v.detach().clone(memory_format=fmt) for k, v in state}
    return {k: v.detach().to("cpu", memory_format=fmt, copy=True) for k, v in state}
