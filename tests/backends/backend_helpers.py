"""Small models and a tiny spec type for the backend tests (conftest.py holds the fixtures)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import torch
from torch import nn

from gensynth.prototypes import SPEC_TYPES, ArchSpec, Task

TINY_SHAPE = (1, 16, 16)


def tiny_cnn(width: int = 4, classes: int = 3, in_channels: int = 1) -> nn.Module:
    """A conv-BN-ReLU net with pooling and a linear head: every op our blocks use, tiny."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(width, classes),
    ).eval()


@dataclasses.dataclass(frozen=True)
class TinySpec(ArchSpec):
    """A one-conv classifier spec, standing in for the real prototypes."""

    prototype: ClassVar[str] = "tiny-test"
    task: ClassVar[Task] = "classify"

    width: int = 4

    def build(self) -> nn.Module:
        return tiny_cnn(self.width, self.num_classes, self.in_channels)

    def describe(self) -> str:
        return f"tiny_c{self.width}"

    def scale_width(self, multiplier: float, **_: object) -> TinySpec:
        return dataclasses.replace(self, width=max(1, round(self.width * multiplier)))

    # The rest of the ArchSpec contract, which the prototypes engineer is still growing.
    def widths(self) -> tuple[int, ...]:
        return (self.width,)

    def width_names(self) -> tuple[str, ...]:
        return ("stem",)

    def with_widths(self, widths: tuple[int, ...]) -> TinySpec:
        return dataclasses.replace(self, width=widths[0])

    def stage_names(self) -> list[str]:
        return ["stem"]


if "tiny-test" not in SPEC_TYPES:
    SPEC_TYPES.add("tiny-test", TinySpec)


def tiny_spec(width: int = 4) -> TinySpec:
    return TinySpec(in_channels=1, input_size=16, num_classes=3, width=width)


#: Timing settings that keep a measurement to a few milliseconds in tests.
FAST = {"warmup": 1, "blocks": 3, "repeats": 5, "min_time_s": 0.0, "max_time_s": 1.0}
