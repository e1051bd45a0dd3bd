"""Toy data sets and tiny models/specs for the training tests (tiny images, fast)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
from torch import nn

from gensynth.data.dataset import DefectDataset
from gensynth.prototypes import SPEC_TYPES, ArchSpec

SIZE = 32


def toy_dataset(
    task: str = "classify",
    *,
    per_class: int = 30,
    classes: int = 3,
    size: int = SIZE,
    seed: int = 0,
) -> DefectDataset:
    """Separable toy data: class k has a bright square of side 4 + 3k on dark noise.

    Classification images also carry a class-dependent brightness; masks mark the square.
    Split: 60% train, 20% val, 20% test, per class.
    """
    rng = np.random.default_rng(seed)
    n = per_class * classes
    labels = np.repeat(np.arange(classes), per_class)
    images = rng.integers(0, 50, (n, size, size)).astype(np.uint8)
    masks = np.zeros((n, size, size), np.uint8)
    for i, label in enumerate(labels):
        side = 4 + 3 * int(label)
        y, x = rng.integers(1, size - side - 1, 2)
        images[i, y : y + side, x : x + side] = 220
        masks[i, y : y + side, x : x + side] = 1
        if task == "classify":
            images[i] = np.minimum(images[i].astype(int) + 60 * int(label), 255)
    rank = np.tile(np.arange(per_class), classes)
    split = np.where(rank < per_class * 0.6, 0, np.where(rank < per_class * 0.8, 1, 2))
    return DefectDataset(
        task=task,  # type: ignore[arg-type]
        format="toy",
        root="toy",
        class_names=tuple(f"class{k}" for k in range(classes)),
        images=images,
        labels=labels.astype(np.int64),
        masks=masks if task == "segment" else None,
        split=split.astype(np.int8),
        paths=tuple(f"toy/{i}.png" for i in range(n)),
        fingerprint=f"toy-{task}-{per_class}-{classes}-{size}-{seed}",
    )


def tiny_classifier(num_classes: int = 3, width: int = 8) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.Conv2d(width, width, 3, stride=2, padding=1),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(width, num_classes),
    )


def tiny_segmenter(width: int = 8) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.Conv2d(width, 1, 3, padding=1),
    )


@dataclasses.dataclass(frozen=True)
class TinyClassifySpec(ArchSpec):
    """A test-only spec: tiny_classifier as a prototype point."""

    prototype: ClassVar[str] = "test-tiny-classify"
    task: ClassVar[str] = "classify"  # type: ignore[misc]
    width: int = 8

    def build(self) -> nn.Module:
        model = tiny_classifier(self.num_classes, self.width)
        if self.in_channels != 1:
            model[0] = nn.Conv2d(self.in_channels, self.width, 3, padding=1)
        return model

    def describe(self) -> str:
        return f"tiny-c{self.width}"

    def widths(self) -> tuple[int, ...]:
        return (self.width,)

    def width_names(self) -> tuple[str, ...]:
        return ("stem",)

    def with_widths(self, widths: tuple[int, ...]) -> ArchSpec:
        return dataclasses.replace(self, width=widths[0])

    def stage_names(self) -> list[str]:
        return []


@dataclasses.dataclass(frozen=True)
class TinySegmentSpec(TinyClassifySpec):
    """A test-only spec: tiny_segmenter as a prototype point."""

    prototype: ClassVar[str] = "test-tiny-segment"
    task: ClassVar[str] = "segment"  # type: ignore[misc]

    def build(self) -> nn.Module:
        return tiny_segmenter(self.width)


for _cls in (TinyClassifySpec, TinySegmentSpec):
    if _cls.prototype not in SPEC_TYPES:
        SPEC_TYPES.add(_cls.prototype, _cls)
