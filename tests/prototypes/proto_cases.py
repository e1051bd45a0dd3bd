"""Specs every contract test runs on: each prototype's default, each reference, and two
coverage specs that use every block kind, down/up kind and odd map sizes; all at small inputs
(exactness does not depend on the resolution)."""

from __future__ import annotations

from gensynth.prototypes import (
    DecoderLevel,
    EncoderLevel,
    ResidualSpec,
    ResidualUNetSpec,
    StageSpec,
    StemSpec,
    UNetStemSpec,
    get_prototype,
    list_prototypes,
    list_references,
    reference_spec,
)
from gensynth.prototypes._spec import ArchSpec

#: A residual net with every block kind, SE on and off, both kernels, an odd input (37).
RESIDUAL_ALL_BLOCKS = ResidualSpec(
    in_channels=2,
    input_size=37,
    num_classes=3,
    stem=StemSpec(16, 5, 2, True),
    stages=(
        StageSpec("basic", 16, 2, 1, 5, 1.0, True),
        StageSpec("bottleneck", 32, 2, 2, 3, 0.5, False),
        StageSpec("inverted", 24, 2, 2, 5, 3.0, True),
        StageSpec("light", 40, 1, 1, 3, 0.25, True),
        StageSpec("wide", 48, 2, 2, 5, 0.5, False),
    ),
    act="hardswish",
)

#: A residual-unet with every menu block, every down/up kind, a conv stem, odd input (45).
UNET_ALL_BLOCKS = ResidualUNetSpec(
    in_channels=1,
    input_size=45,
    num_classes=2,
    stem=UNetStemSpec("conv", 16, 2),
    encoder=(
        EncoderLevel(16, ("single", "dilated"), "none"),
        EncoderLevel(24, ("dw2", "dwd2"), "maxpool"),
        EncoderLevel(32, ("cut", "light"), "conv"),
        EncoderLevel(40, ("wide", "double"), "anet"),
    ),
    decoder=(
        DecoderLevel(32, ("double", "cut"), "transpose", True),
        DecoderLevel(24, ("light",), "bilinear", False),
        DecoderLevel(16, ("wide", "single"), "anet", True),
    ),
    head_width=8,
    residual=True,
    act="prelu",
)

#: The classic layout without a stem (stride 1, pointwise head) and with plain blocks.
UNET_NO_STEM = ResidualUNetSpec(
    in_channels=3,
    input_size=33,
    num_classes=1,
    stem=None,
    encoder=(
        EncoderLevel(8, ("double",), "none"),
        EncoderLevel(16, ("dw2",), "maxpool"),
        EncoderLevel(24, ("cut",), "anet"),
    ),
    decoder=(
        DecoderLevel(16, ("single",), "anet", True),
        DecoderLevel(8, ("dilated",), "bilinear", True),
    ),
    head_width=None,
    residual=False,
    act="relu6",
)


def small_specs() -> dict[str, ArchSpec]:
    """Name -> spec for every prototype default, every reference and the coverage specs."""
    specs: dict[str, ArchSpec] = {}
    for proto in list_prototypes():
        size = 48 if proto.task == "classify" else 45
        specs[f"default-{proto.name}"] = proto.default_spec(input_size=size)
    for name in list_references():
        specs[f"ref-{name}"] = reference_spec(name, input_size=32)
    specs["residual-all-blocks"] = RESIDUAL_ALL_BLOCKS
    specs["unet-all-blocks"] = UNET_ALL_BLOCKS
    specs["unet-no-stem"] = UNET_NO_STEM
    return specs


SMALL = small_specs()
PROTOTYPE_NAMES = [proto.name for proto in list_prototypes()]


def default(name: str) -> ArchSpec:
    return get_prototype(name).default_spec()
