"""Inference and evaluation: probabilities in batches, then the metrics of _metrics."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from gensynth.errors import ConfigError, DataError
from gensynth.training._losses import classification_loss, dice_bce_loss
from gensynth.training._metrics import (
    DEFAULT_AREA_THRESHOLD,
    DEFAULT_THRESHOLDS,
    SegmentationStats,
    classification_metrics,
    segmentation_metrics,
    segmentation_stats,
)
from gensynth.training._tensors import Prepared, prepare, resize_images, to_input

if TYPE_CHECKING:
    import torch
    from torch import nn

    from gensynth.data.dataset import DefectDataset, Split

__all__ = ["evaluate", "predict_proba", "score_prepared"]

_MAX_CONSTRUCTED_NEGATIVES = 200


def _check_task(task: str) -> None:
    if task not in ("classify", "segment"):
        raise ConfigError(f"task: expected 'classify' or 'segment', got {task!r}")


def uses_channels_last(model: nn.Module) -> bool:
    """Whether the model's conv weights are stored channels-last (then feed NHWC inputs)."""
    import torch

    # 1x1 and depthwise weights look the same in both layouts: any unambiguous one decides.
    return any(
        param.dim() == 4
        and param.is_contiguous(memory_format=torch.channels_last)
        and not param.is_contiguous()
        for param in model.parameters()
    )


def check_output(out: torch.Tensor, task: str, num_classes: int, size: tuple[int, int]) -> None:
    """Raise DataError when the model's output does not fit the data (classes or mask shape)."""
    if task == "classify":
        if out.dim() != 2 or out.shape[1] != num_classes:
            got = out.shape[1] if out.dim() == 2 else tuple(out.shape)
            raise DataError(
                f"the model outputs {got} class logits but the data has {num_classes} classes",
                hint="use a spec whose num_classes matches the data set",
            )
    elif out.dim() != 4 or out.shape[1] != 1 or tuple(out.shape[-2:]) != size:
        raise DataError(
            f"expected a segmentation output of shape (N, 1, {size[0]}, {size[1]}), "
            f"got {tuple(out.shape)}",
            hint="segmentation specs must output one defect logit per input pixel",
        )


def _outputs(
    model: nn.Module, images: torch.Tensor, batch_size: int
) -> Iterator[tuple[int, torch.Tensor]]:
    """(start index, model output) per batch, in eval mode under inference_mode; a model on
    a GPU gets its batches there and gives its outputs back on the CPU, in float32."""
    import torch

    fmt = torch.channels_last if uses_channels_last(model) else torch.contiguous_format
    first = next(model.parameters(), None)
    device = None if first is None or first.device.type == "cpu" else first.device
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, images.shape[0], batch_size):
                part = images[start : start + batch_size]
                if device is not None:
                    part = part.to(device, non_blocking=True)
                batch = to_input(part).contiguous(memory_format=fmt)
                out = model(batch)
                yield start, out if device is None else out.float().cpu()
    finally:
        model.train(was_training)


def predict_proba(
    model: nn.Module,
    images: np.ndarray,
    *,
    task: str,
    batch_size: int = 64,
    input_size: int | None = None,
) -> np.ndarray:
    """Class probabilities (N, C), or defect-pixel probabilities (N, H, W), for raw images.

    ``images``: uint8 (or 0..255 float), grey (N, H, W) or (N, C, H, W); resized to
    ``input_size`` first when given. Pixels are normalised as in training (``to_input``).
    """
    import torch

    _check_task(task)
    array = np.asarray(images)
    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4:
        raise DataError(f"images: expected shape (N, H, W) or (N, C, H, W), got {array.shape}")
    tensor = torch.from_numpy(np.ascontiguousarray(array))
    if input_size is not None:
        tensor = resize_images(tensor.to(torch.uint8), input_size)
    parts = []
    for _, out in _outputs(model, tensor, batch_size):
        parts.append(out.softmax(dim=1) if task == "classify" else torch.sigmoid(out[:, 0]))
    if not parts:
        return np.zeros((0,), dtype=np.float32)
    return torch.cat(parts).numpy()


def score_prepared(
    model: nn.Module,
    prepared: Prepared,
    *,
    task: str,
    class_names: Sequence[str],
    batch_size: int = 64,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    area_threshold: float = DEFAULT_AREA_THRESHOLD,
    extra_negatives: Prepared | None = None,
    negatives_source: str = "",
) -> dict[str, Any]:
    """Metrics of ``model`` on already prepared tensors (what fit validates with each epoch)."""
    import torch

    if len(prepared) == 0:
        raise DataError("expected at least one sample to evaluate, got an empty split")
    size = (int(prepared.images.shape[-2]), int(prepared.images.shape[-1]))
    if task == "classify":
        preds, loss = [], 0.0
        for start, out in _outputs(model, prepared.images, batch_size):
            check_output(out, task, len(class_names), size)
            preds.append(out.argmax(dim=1))
            labels = prepared.labels[start : start + len(out)]
            loss += float(classification_loss(out, labels)) * len(out)
        metrics = classification_metrics(
            prepared.labels.numpy(), torch.cat(preds).numpy(), class_names
        )
        return {**metrics, "loss": loss / len(prepared)}
    if prepared.masks is None:
        raise DataError("segmentation metrics need defect masks; the evaluated data has none")
    stats, seg_loss = _seg_stats(model, prepared.images, prepared.masks, batch_size, thresholds)
    extra = None
    if extra_negatives is not None and len(extra_negatives):
        extra = _seg_stats(model, extra_negatives.images, None, batch_size, thresholds)[0]
    metrics = segmentation_metrics(
        stats,
        prepared.labels.numpy(),
        class_names,
        thresholds=thresholds,
        area_threshold=area_threshold,
        extra_negatives=extra,
        negatives_source=negatives_source,
    )
    return {**metrics, "loss": seg_loss}


def _seg_stats(
    model: nn.Module,
    images: torch.Tensor,
    masks: torch.Tensor | None,
    batch_size: int,
    thresholds: Sequence[float],
) -> tuple[SegmentationStats, float | None]:
    """The stats of every batch, and the mean training loss (Dice + 0.5·BCE) if masks."""
    size = (int(images.shape[-2]), int(images.shape[-1]))
    parts, loss = [], 0.0
    for start, out in _outputs(model, images, batch_size):
        check_output(out, "segment", 1, size)
        probs = out[:, 0].sigmoid().numpy()
        truth, defect = None, None
        if masks is not None:  # soft coverage 0..255 after a resize: defect where >= half
            coverage = masks[start : start + len(probs)]
            truth = coverage[:, 0].numpy() >= 128
            # Any coverage at all is a defect image: a hairline crack below half a pixel
            # must not turn its image into a defect-free one for the decision sweep.
            defect = coverage.flatten(1).amax(dim=1).numpy() > 0
            loss += float(dice_bce_loss(out, coverage.float() / 255.0)) * len(out)
        parts.append(segmentation_stats(probs, truth, thresholds, defect=defect))
    return SegmentationStats.concat(parts), None if masks is None else loss / len(images)


def evaluate(
    model: nn.Module,
    data: DefectDataset,
    *,
    task: str,
    split: Split | None = "val",
    input_size: int | None = None,
    batch_size: int = 64,
    thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
    area_threshold: float = DEFAULT_AREA_THRESHOLD,
    negatives: np.ndarray | Literal["auto"] | None = "auto",
    seed: int = 0,
) -> dict[str, Any]:
    """JSON-ready metrics of ``model`` on one split of ``data`` (None = all of it).

    Segmentation ``negatives`` (defect-free inputs for the false-alarm rate): every image of
    the split whose ground-truth mask is empty is a real negative (magnetic tile's ``Free``
    tiles). "auto" adds clean backgrounds from ``gensynth.data.clean_background`` only when
    the split has no real negative (NEU-Seg); an array adds those images; None adds none.
    The output's ``decision`` says which were used (``negatives_source``,
    ``real_negatives``, ``real_negatives_by_class``, ``constructed_negatives``).
    """
    _check_task(task)
    prepared = prepare(data, split, input_size=input_size, need_masks=task == "segment")
    extra, source = None, ""
    if task == "segment":
        extra, source = _negatives(negatives, prepared, data.input_size, input_size, seed)
    metrics = score_prepared(
        model,
        prepared,
        task=task,
        class_names=data.class_names,
        batch_size=batch_size,
        thresholds=thresholds,
        area_threshold=area_threshold,
        extra_negatives=extra,
        negatives_source=source,
    )
    metrics["split"] = split or "all"
    metrics["input_size"] = int(prepared.images.shape[-1])
    return metrics


def _negatives(
    negatives: np.ndarray | str | None,
    prepared: Prepared,
    data_size: int,
    input_size: int | None,
    seed: int,
) -> tuple[Prepared | None, str]:
    import torch

    if negatives is None:
        return None, ""
    if isinstance(negatives, str):
        if negatives != "auto":
            raise ConfigError(
                f"negatives: expected 'auto', an image array or None, got {negatives!r}"
            )
        own = prepared.masks
        if own is None or bool((own.flatten(1).amax(dim=1) == 0).any()):
            return None, ""  # the split has real defect-free images: they are the negatives
        array, source = _clean_backgrounds(len(prepared), data_size, seed)
        if array is None:
            return None, ""
    else:
        array, source = np.asarray(negatives), "defect-free images supplied by the caller"
    if array.ndim == 3:
        array = array[:, None]
    channels = int(prepared.images.shape[1])
    if array.shape[1] == 1 and channels > 1:  # grey backgrounds for a colour model
        array = np.repeat(array, channels, axis=1)
    images = resize_images(
        torch.from_numpy(np.ascontiguousarray(array, dtype=np.uint8)), input_size
    )
    labels = torch.full((len(images),), -1, dtype=torch.int64)
    return Prepared(images=images, labels=labels, masks=None), source


def _clean_backgrounds(count: int, size: int, seed: int) -> tuple[np.ndarray | None, str]:
    """Constructed defect-free inputs, when the data layer offers a generator for them."""
    try:
        from gensynth.data import clean_background
    except ImportError:
        return None, ""
    rng = np.random.default_rng(seed)
    n = max(1, min(count, _MAX_CONSTRUCTED_NEGATIVES))
    images = [np.clip(np.asarray(clean_background(rng, size)), 0, 255) for _ in range(n)]
    source = f"clean synthetic backgrounds (gensynth.data.clean_background, seed {seed})"
    return np.stack(images).astype(np.uint8), source
