"""Reference networks as points of the prototypes (not separate classes): baselines.

``resnet50``/``resnet18`` have torchvision's exact topology (3 channels, 224, 1000 classes:
25,557,032 and 11,689,512 parameters); ``plain`` is the plain four-stage basic-block CNN every
classification winner must beat at the same MACs; ``unet`` is the classic 64-base U-Net;
``anet`` follows A-Net's published shape (Chen et al.; seed 004), the segmentation baseline.
As gensynth baselines they default to 1 channel, 200x200, 6 classes (``unet``/``anet``: 1
channel, 224x224, 1 output map).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from gensynth.prototypes._spec import ArchSpec
from gensynth.prototypes.residual import ResidualSpec, StageSpec, StemSpec
from gensynth.prototypes.unet import DecoderLevel, EncoderLevel, ResidualUNetSpec, UNetStemSpec
from gensynth.registry import Registry

__all__ = ["REFERENCES", "Reference", "get_reference", "list_references", "reference_spec"]


@dataclasses.dataclass(frozen=True)
class Reference:
    """A named reference design: a spec of one prototype with baseline defaults."""

    name: str
    prototype: str
    description: str
    make: Callable[[int, int, int], ArchSpec]
    in_channels: int
    input_size: int
    num_classes: int

    def spec(
        self,
        *,
        in_channels: int | None = None,
        input_size: int | None = None,
        num_classes: int | None = None,
    ) -> ArchSpec:
        """The reference spec; arguments left None take the baseline defaults."""
        spec = self.make(
            self.in_channels if in_channels is None else in_channels,
            self.input_size if input_size is None else input_size,
            self.num_classes if num_classes is None else num_classes,
        )
        spec.validate()
        return spec


REFERENCES: Registry[Reference] = Registry("reference")


Make = Callable[[int, int, int], ArchSpec]


def _register(
    name: str, prototype: str, description: str, defaults: tuple[int, int, int]
) -> Callable[[Make], Make]:
    def add(make: Make) -> Make:
        REFERENCES.add(name, Reference(name, prototype, description, make, *defaults))
        return make

    return add


def _resnet(block: str, depths: tuple[int, ...], widths: tuple[int, ...], e: float) -> Make:
    def make(in_channels: int, input_size: int, num_classes: int) -> ResidualSpec:
        stages = tuple(
            StageSpec(block, w, d, 1 if i == 0 else 2, 3, e, False)
            for i, (w, d) in enumerate(zip(widths, depths, strict=True))
        )
        return ResidualSpec(
            in_channels, input_size, num_classes, StemSpec(64, 7, 2, True), stages, "relu"
        )

    return make


_register("resnet50", "residual", "ResNet-50, torchvision topology", (1, 200, 6))(
    _resnet("bottleneck", (3, 4, 6, 3), (256, 512, 1024, 2048), 0.25)
)
_register("resnet18", "residual", "ResNet-18, torchvision topology", (1, 200, 6))(
    _resnet("basic", (2, 2, 2, 2), (64, 128, 256, 512), 1.0)
)


@_register(
    "plain", "residual", "plain CNN: stem + 4 basic stages, depth 1, widths doubling", (1, 200, 6)
)
def _plain(in_channels: int, input_size: int, num_classes: int) -> ResidualSpec:
    """The hand design every classification winner must beat at the same MACs.

    A 3x3 stride-2 stem half as wide as the first stage, then four stages of one basic
    residual block whose widths double (8 | 16-32-64-128 here; repair scales them into a
    band). Dense 3x3 convolutions in widths of multiples of 8: what CPU backends run fastest
    per MAC.
    """
    stages = tuple(
        StageSpec("basic", 16 * 2**i, 1, 1 if i == 0 else 2, 3, 1.0, False) for i in range(4)
    )
    return ResidualSpec(
        in_channels, input_size, num_classes, StemSpec(8, 3, 2, False), stages, "relu"
    )


@_register("unet", "residual-unet", "classic U-Net, 64-base", (1, 224, 1))
def _unet(in_channels: int, input_size: int, num_classes: int) -> ResidualUNetSpec:
    widths = (64, 128, 256, 512, 1024)
    encoder = tuple(
        EncoderLevel(w, ("double",), "none" if i == 0 else "maxpool") for i, w in enumerate(widths)
    )
    decoder = tuple(DecoderLevel(w, ("double",), "transpose", True) for w in widths[-2::-1])
    return ResidualUNetSpec(
        in_channels, input_size, num_classes, None, encoder, decoder, None, False, "relu"
    )


@_register("anet", "residual-unet", "A-Net-like light segmenter", (1, 224, 1))
def _anet(in_channels: int, input_size: int, num_classes: int) -> ResidualUNetSpec:
    detail, semantic = ("light", "wide"), ("light", "light", "wide", "wide")
    encoder = (
        EncoderLevel(32, detail, "none"),
        EncoderLevel(64, detail, "anet"),
        EncoderLevel(128, semantic, "anet"),
        EncoderLevel(128, semantic, "anet"),
        EncoderLevel(128, semantic, "anet"),
    )
    decoder = (
        DecoderLevel(128, semantic, "anet", False),
        DecoderLevel(128, semantic, "anet", False),
        DecoderLevel(64, detail, "anet", True),
        DecoderLevel(32, detail, "anet", False),
    )
    return ResidualUNetSpec(
        in_channels,
        input_size,
        num_classes,
        UNetStemSpec("anet", 32, 2),
        encoder,
        decoder,
        16,
        True,
        "prelu",
    )


def reference_spec(
    name: str,
    *,
    in_channels: int | None = None,
    input_size: int | None = None,
    num_classes: int | None = None,
) -> ArchSpec:
    """The reference ``name`` (``resnet50``, ``resnet18``, ``unet``, ``anet``) as a spec."""
    return REFERENCES.get(name).spec(
        in_channels=in_channels, input_size=input_size, num_classes=num_classes
    )


def get_reference(name: str) -> Reference:
    return REFERENCES.get(name)


def list_references() -> list[str]:
    """Names of the reference designs, sorted."""
    return REFERENCES.names()
