"""Builders for the explain tests: tiny specs, toy data folders and hand-made models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from gensynth.prototypes import ArchSpec, spec_from_dict

SIZE = 32
#: Two classes the synthetic generator can inject (coverage) and one that needs escaping.
CLASSES = ("patches", "scratches", "a&b <script>")


def tiny_spec(num_classes: int = 3, size: int = SIZE, in_channels: int = 1) -> ArchSpec:
    """A residual spec small enough to train in seconds at 32 px."""
    return spec_from_dict(
        {
            "prototype": "residual",
            "in_channels": in_channels,
            "input_size": size,
            "num_classes": num_classes,
            "stem": {"width": 8, "kernel": 3, "stride": 1, "pool": False},
            "stages": [
                {"block": "basic", "width": 8, "depth": 1, "stride": 2, "kernel": 3},
                {"block": "basic", "width": 16, "depth": 1, "stride": 2, "kernel": 3},
            ],
            "act": "relu",
        }
    )


def tiny_unet_spec(size: int = SIZE) -> ArchSpec:
    """A residual U-Net spec (two levels, width 8) that trains in seconds."""
    return spec_from_dict(
        {
            "prototype": "residual-unet",
            "in_channels": 1,
            "input_size": size,
            "num_classes": 1,
            "stem": None,
            "encoder": [
                {"width": 8, "blocks": ["light"], "down": "none"},
                {"width": 16, "blocks": ["light"], "down": "maxpool"},
            ],
            "decoder": [{"width": 8, "blocks": ["light"], "up": "bilinear", "skip": True}],
            "head_width": None,
            "residual": True,
            "act": "relu",
        }
    )


def toy_images(count: int, label: int, rng: np.random.Generator, size: int = SIZE):
    """Dark noise with one bright square whose side depends on the class; its mask."""
    images = rng.integers(20, 70, (count, size, size)).astype(np.uint8)
    masks = np.zeros((count, size, size), np.uint8)
    side = 5 + 4 * label
    for i in range(count):
        y, x = rng.integers(1, size - side - 1, 2)
        images[i, y : y + side, x : x + side] = 230
        masks[i, y : y + side, x : x + side] = 1
    return images, masks


def write_seg_folder(root: Path, classes=CLASSES, per_class: int = 15, seed: int = 0) -> Path:
    """A generic-seg folder (images/<class>_N.png, masks/<class>_N.png) of toy defects."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    for label, name in enumerate(classes):
        images, masks = toy_images(per_class, label, rng)
        for n, (image, mask) in enumerate(zip(images, masks, strict=True), start=1):
            Image.fromarray(image).save(root / "images" / f"{name}_{n}.png")
            Image.fromarray(mask * 255).save(root / "masks" / f"{name}_{n}.png")
    return root


class LooksAt(nn.Module):
    """A fixed-weight classifier that only looks inside one box (the test's ground truth).

    ``features`` (a 1x1 conv, the Grad-CAM layer) sees the image through the box only; the
    class-1 logit is ``gain`` x (mean of (x + 1) inside the box - 1), the class-0 logit its
    negative. A bright box means class 1; nothing outside the box can change the decision.
    """

    def __init__(self, box: tuple[int, int, int, int], size: int = SIZE, gain: float = 8.0):
        super().__init__()
        top, left, bottom, right = box
        window = torch.zeros(1, 1, size, size)
        window[..., top:bottom, left:right] = 1.0
        self.register_buffer("window", window)
        self.features = nn.Conv2d(1, 1, 1, bias=False)
        self.features.weight.data.fill_(1.0)
        self.gain = gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        seen = self.features((x + 1.0) * self.window)
        inside = seen.sum((1, 2, 3)) / self.window.sum()
        logit = self.gain * (inside - 1.0)
        return torch.stack([-logit, logit], 1)


class BrightSegmenter(nn.Module):
    """A fixed-weight segmenter: bright pixels are defect (logit 10 x preprocessed value)."""

    def __init__(self) -> None:
        super().__init__()
        self.head = nn.Conv2d(1, 1, 1)
        self.head.weight.data.fill_(10.0)
        self.head.bias.data.fill_(-2.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(x)


def square_images(count: int, box: tuple[int, int, int, int], *, size: int = SIZE,
                  stamp: tuple[int, int, int, int] | None = None):  # fmt: skip
    """Dark images with a bright square at ``box`` (the defect, masked) and an optional
    bright ``stamp`` elsewhere (a spurious cue, not masked); images and masks uint8."""
    rng = np.random.default_rng(count)
    images = rng.integers(30, 50, (count, size, size)).astype(np.uint8)
    masks = np.zeros((count, size, size), np.uint8)
    top, left, bottom, right = box
    images[:, top:bottom, left:right] = 220
    masks[:, top:bottom, left:right] = 1
    if stamp is not None:
        images[:, stamp[0] : stamp[2], stamp[1] : stamp[3]] = 220
    return images, masks


def as_dataset(images, masks, labels=None, names=("ok", "defect"), task="classify"):
    """A DefectDataset whose every sample is in the test split."""
    from gensynth.data.dataset import DefectDataset

    n = len(images)
    return DefectDataset(
        task=task,
        format="toy",
        root="toy",
        class_names=tuple(names),
        images=images,
        labels=np.ones(n, np.int64) if labels is None else np.asarray(labels, np.int64),
        masks=masks,
        split=np.full(n, 2, np.int8),
        paths=tuple(f"toy/{i}.png" for i in range(n)),
        fingerprint="toy",
    )


def _root_conftest():
    """tests/conftest.py as a module (its name ``conftest`` is shadowed by ours)."""
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "conftest.py"
    spec = importlib.util.spec_from_file_location("gensynth_tests_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def require(condition: bool, reason: str) -> None:
    """tests/conftest.py's rule: skip when a service is missing; in CI, fail."""
    _root_conftest().require(condition, reason)
