"""Data as in-memory tensors: resize once, normalise per batch, augment on the batch."""

from __future__ import annotations

import contextlib
import dataclasses
import random
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from gensynth.errors import DataError

if TYPE_CHECKING:
    import torch

    from gensynth.data.dataset import DefectDataset, Split

__all__ = [
    "PREPROCESSING",
    "Prepared",
    "augment_batch",
    "num_threads",
    "prepare",
    "random_crop",
    "resize_images",
    "seed_everything",
    "to_input",
]

#: The default preprocessing in words (grey, stretched; pixels x / 127.5 - 1 as in
#: :func:`to_input` and ``gensynth.data.preprocess.normalize``). metrics.json records the
#: full record, ``Preprocessing.to_dict()`` (channels, input size, resize policy); folders
#: written before it hold this text, which ``Preprocessing.from_dict`` reads as the default.
PREPROCESSING = "grayscale uint8 -> resize (bilinear, antialias) -> x / 127.5 - 1"

_RESIZE_CHUNK = 256  # images resized per interpolate call: bounds the float copy in memory


@dataclasses.dataclass(frozen=True)
class Prepared:
    """One split as tensors: images uint8 (N,C,S,S), labels int64 (N,), masks uint8 0..255."""

    images: torch.Tensor
    labels: torch.Tensor
    masks: torch.Tensor | None

    def __len__(self) -> int:
        return int(self.images.shape[0])


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch: call before building a model for a reproducible init."""
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextlib.contextmanager
def num_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(threads)``, restoring the old count after."""
    import torch

    if threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def resize_images(images: torch.Tensor, size: int | None, *, binary: bool = False) -> torch.Tensor:
    """Resize uint8 (N,C,H,W) to (N,C,size,size), bilinear with antialias, still uint8.

    Masks (``binary``, 0/1) come back as soft coverage 0..255, so thin defects such as
    scratches survive a downscale instead of vanishing under nearest-neighbour sampling.
    """
    import torch
    import torch.nn.functional as F

    scale = 255.0 if binary else 1.0
    if size is None or tuple(images.shape[-2:]) == (size, size):
        return images * 255 if binary else images
    out = torch.empty((images.shape[0], images.shape[1], size, size), dtype=torch.uint8)
    for start in range(0, images.shape[0], _RESIZE_CHUNK):
        chunk = images[start : start + _RESIZE_CHUNK].float() * scale
        chunk = F.interpolate(chunk, size=(size, size), mode="bilinear", antialias=True)
        out[start : start + _RESIZE_CHUNK] = chunk.round_().clamp_(0, 255).to(torch.uint8)
    return out


def to_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 (or 0..255 float) pixels to the float model input of PREPROCESSING."""
    return images.float().mul_(1.0 / 127.5).sub_(1.0)


def _as_nchw(array: np.ndarray, what: str) -> torch.Tensor:
    import torch

    if array.ndim == 3:
        array = array[:, None]
    if array.ndim != 4:
        raise DataError(f"{what}: expected shape (N, H, W) or (N, C, H, W), got {array.shape}")
    return torch.from_numpy(np.ascontiguousarray(array))


def stratified_subset(labels: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Indices of at most ``limit`` samples, classes interleaved so each keeps its share."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    shuffled = labels[order]
    rank = np.empty(len(labels), dtype=np.int64)
    for value in np.unique(shuffled):
        where = np.flatnonzero(shuffled == value)
        rank[where] = np.arange(len(where))
    # Take every class's first sample, then every class's second, ...; ties by shuffle order.
    picked = order[np.lexsort((np.arange(len(labels)), rank))[:limit]]
    return np.sort(picked)


def prepare(
    data: DefectDataset,
    split: Split | None,
    *,
    input_size: int | None,
    max_samples: int | None = None,
    seed: int = 0,
    need_masks: bool = False,
) -> Prepared:
    """One split of ``data`` as resized tensors (None = every sample)."""
    import torch

    part = data if split is None else data.subset(split)
    index = np.arange(len(part))
    if max_samples is not None and len(part) > max_samples:
        index = stratified_subset(part.labels, max_samples, seed)
    if need_masks and part.masks is None:
        raise DataError(
            f"segmentation needs defect masks; data {data.root!r} ({data.format}) has none",
            hint="use a segmentation data set (e.g. --data synthetic with a segment spec)",
        )
    images = resize_images(_as_nchw(part.images[index], "images"), input_size)
    labels = torch.from_numpy(np.asarray(part.labels[index], dtype=np.int64))
    masks = None
    if part.masks is not None and need_masks:
        binary = _as_nchw((part.masks[index] > 0).astype(np.uint8), "masks")
        masks = resize_images(binary, input_size, binary=True)
    return Prepared(images=images, labels=labels, masks=masks)


def augment_batch(
    images: torch.Tensor,
    masks: torch.Tensor | None,
    generator: torch.Generator,
    *,
    crop_scale: tuple[float, float] = (1.0, 1.0),
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Apply one random symmetry of the square (rot90 k, optional flip) to each sample, then
    a random crop when ``crop_scale`` is not ``(1, 1)`` (see :func:`random_crop`).

    Samples are grouped by their transform, so the cost is 8 batched ops, not a Python loop
    over samples. Non-square inputs only get flips.
    """
    images, masks = _symmetries(images, masks, generator)
    if tuple(crop_scale) != (1.0, 1.0):
        images, masks = random_crop(images, masks, generator, crop_scale)
    return images, masks


def random_crop(
    images: torch.Tensor,
    masks: torch.Tensor | None,
    generator: torch.Generator,
    crop_scale: tuple[float, float],
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A random square window per sample, resized back to the input size (one batched op).

    The window's side is drawn uniformly from ``crop_scale`` (a share of the image side) and
    its place uniformly where it stays inside the image (or, above 1, holds all of it); the
    border beyond the image is mirrored. Returns float 0..255 images; masks (0..255
    coverage) are sampled on the same grid, bilinearly, so they stay soft coverage.
    """
    import torch
    import torch.nn.functional as F

    n = images.shape[0]
    low, high = crop_scale
    side = low + (high - low) * torch.rand(n, generator=generator)
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * (1 - side).abs()[:, None]
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = side
    theta[:, 1, 1] = side
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)

    def sample(batch: torch.Tensor) -> torch.Tensor:
        return F.grid_sample(
            batch.float(), grid, mode="bilinear", padding_mode="reflection", align_corners=False
        )

    return sample(images), None if masks is None else sample(masks)


def _symmetries(
    images: torch.Tensor, masks: torch.Tensor | None, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor | None]:
    import torch

    n = images.shape[0]
    square = images.shape[-1] == images.shape[-2]
    code = torch.randint(0, 8 if square else 2, (n,), generator=generator)
    out_x = torch.empty_like(images)
    out_m = None if masks is None else torch.empty_like(masks)
    for value in range(8 if square else 2):
        idx = (code == value).nonzero().flatten()
        if idx.numel() == 0:
            continue
        out_x[idx] = _transform(images[idx], value)
        if masks is not None and out_m is not None:
            out_m[idx] = _transform(masks[idx], value)
    return out_x, out_m


def _transform(batch: torch.Tensor, value: int) -> torch.Tensor:
    import torch

    if value & 1:
        batch = batch.flip(-1)
    k = value >> 1
    return torch.rot90(batch, k, dims=(-2, -1)) if k else batch
