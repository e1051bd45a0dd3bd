"""The ``residual-unet`` prototype (segmentation): encoder-decoder with skips and a light head.

Level ``i`` of the encoder runs at 1/2^i of the stem's resolution; decoder level ``j`` upsamples
back to encoder level ``L-2-j`` and may concatenate its output (the skip). Each position holds a
block from the LOS-UNet menu (single, dilated, dw2, dwd2, cut) or an A-Net block (light, wide);
``double`` is the classic U-Net's double conv. Output: ``num_classes`` logit maps (1 for a
binary defect mask) at input resolution.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, ClassVar, Literal, get_args

from gensynth.errors import ConfigError
from gensynth.prototypes import _shapes
from gensynth.prototypes._spec import SPEC_TYPES, ArchSpec, Task, check_choice, check_range
from gensynth.prototypes.residual import MAX_WIDTH, Activation

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "DOWN_KINDS",
    "UNET_BLOCKS",
    "UP_KINDS",
    "DecoderLevel",
    "EncoderLevel",
    "ResidualUNetSpec",
    "UNetBlockKind",
    "UNetStemSpec",
]

UNetBlockKind = Literal["single", "dilated", "dw2", "dwd2", "cut", "light", "wide", "double"]
DownKind = Literal["none", "maxpool", "conv", "anet"]
UpKind = Literal["transpose", "bilinear", "anet"]
StemKind = Literal["conv", "anet"]
UNET_BLOCKS: tuple[str, ...] = get_args(UNetBlockKind)
DOWN_KINDS: tuple[str, ...] = get_args(DownKind)
UP_KINDS: tuple[str, ...] = get_args(UpKind)
UNET_CODES = {
    "single": "sc",
    "dilated": "dc",
    "dw2": "dw",
    "dwd2": "dd",
    "cut": "cc",
    "light": "lt",
    "wide": "wd",
    "double": "db",
}
DOWN_CODES = {"none": "", "maxpool": "mp>", "conv": "cv>", "anet": "ad>"}
UP_CODES = {"transpose": "tp>", "bilinear": "bl>", "anet": "au>"}
MAX_BLOCKS = 8


@dataclasses.dataclass(frozen=True)
class UNetStemSpec:
    """Stem: a 3x3 conv (stride 1 or 2), or an A-Net down block (stride 2)."""

    kind: StemKind = "conv"
    width: int = 16
    stride: int = 2

    def validate(self, path: str = "stem") -> None:
        check_choice(self.kind, get_args(StemKind), f"{path}.kind")
        check_range(self.width, 1, MAX_WIDTH, f"{path}.width")
        check_choice(self.stride, (1, 2), f"{path}.stride")
        if self.kind == "anet" and self.stride != 2:
            raise ConfigError(f"{path}.stride: an anet stem halves the map; expected 2, got 1")

    def describe(self) -> str:
        return f"s{self.width}" + ("a" if self.kind == "anet" else "") + f"_s{self.stride}"


def _validate_blocks(blocks: tuple[str, ...], path: str) -> None:
    if not 1 <= len(blocks) <= MAX_BLOCKS:
        raise ConfigError(f"{path}: expected 1 to {MAX_BLOCKS} blocks, got {len(blocks)}")
    for i, kind in enumerate(blocks):
        check_choice(kind, UNET_BLOCKS, f"{path}[{i}]")


@dataclasses.dataclass(frozen=True)
class EncoderLevel:
    """An encoder level: ``down`` (``none`` for level 0 only), then its blocks at ``width``."""

    width: int = 32
    blocks: tuple[UNetBlockKind, ...] = ("single",)
    down: DownKind = "maxpool"

    def validate(self, path: str = "encoder") -> None:
        check_range(self.width, 1, MAX_WIDTH, f"{path}.width")
        _validate_blocks(self.blocks, f"{path}.blocks")
        check_choice(self.down, DOWN_KINDS, f"{path}.down")

    def describe(self) -> str:
        codes = "+".join(UNET_CODES[b] for b in self.blocks)
        return f"{DOWN_CODES[self.down]}c{self.width}:{codes}"


@dataclasses.dataclass(frozen=True)
class DecoderLevel:
    """A decoder level: ``up`` to the next finer level, optional skip concat, then blocks."""

    width: int = 32
    blocks: tuple[UNetBlockKind, ...] = ("single",)
    up: UpKind = "transpose"
    skip: bool = True

    def validate(self, path: str = "decoder") -> None:
        check_range(self.width, 1, MAX_WIDTH, f"{path}.width")
        _validate_blocks(self.blocks, f"{path}.blocks")
        check_choice(self.up, UP_KINDS, f"{path}.up")

    def describe(self) -> str:
        codes = "+".join(UNET_CODES[b] for b in self.blocks)
        return f"{UP_CODES[self.up]}c{self.width}{'^' if self.skip else ''}:{codes}"


# A hand-made A-Net-like design: about 0.43 GMACs and 0.45M parameters at 224x224x1.
_DEFAULT_ENCODER = (
    EncoderLevel(32, ("light", "wide"), "none"),
    EncoderLevel(56, ("light", "wide"), "anet"),
    EncoderLevel(120, ("cut", "light", "wide"), "anet"),
    EncoderLevel(192, ("dwd2", "light", "wide"), "anet"),
)
_DEFAULT_DECODER = (
    DecoderLevel(120, ("light", "wide"), "anet", True),
    DecoderLevel(56, ("light", "wide"), "anet", True),
    DecoderLevel(32, ("light", "wide"), "anet", True),
)


@SPEC_TYPES.register("residual-unet")
@dataclasses.dataclass(frozen=True)
class ResidualUNetSpec(ArchSpec):
    """A residual encoder-decoder for binary defect masks (logits at input resolution).

    ``head_width`` is the width of the A-Net segmentation head (2x2 deconv, 1x1, 3x3 conv) that
    restores full resolution after a stride-2 stem; with a stride-1 stem (or none) the head
    is a 1x1 conv and ``head_width`` must be null.
    """

    prototype: ClassVar[str] = "residual-unet"
    task: ClassVar[Task] = "segment"

    in_channels: int = 1
    input_size: int = 224
    num_classes: int = 1
    stem: UNetStemSpec | None = UNetStemSpec("anet", 16, 2)
    encoder: tuple[EncoderLevel, ...] = _DEFAULT_ENCODER
    decoder: tuple[DecoderLevel, ...] = _DEFAULT_DECODER
    head_width: int | None = 16
    residual: bool = True
    act: Activation = "relu"

    @property
    def stem_stride(self) -> int:
        return self.stem.stride if self.stem is not None else 1

    def validate(self, path: str = "") -> None:
        super().validate(path)
        if self.stem is not None:
            self.stem.validate(_join(path, "stem"))
        enc, dec = _join(path, "encoder"), _join(path, "decoder")
        if not 2 <= len(self.encoder) <= 6:
            raise ConfigError(f"{enc}: expected 2 to 6 levels, got {len(self.encoder)}")
        for i, level in enumerate(self.encoder):
            level.validate(f"{enc}[{i}]")
            if (level.down == "none") != (i == 0):
                expected = "'none'" if i == 0 else "one of 'maxpool', 'conv', 'anet'"
                raise ConfigError(
                    f"{enc}[{i}].down: expected {expected}, got {level.down!r}",
                    hint="level 0 runs at the stem's resolution; every deeper level halves it",
                )
        if len(self.decoder) != len(self.encoder) - 1:
            raise ConfigError(
                f"{dec}: expected {len(self.encoder) - 1} levels (one fewer than the encoder), "
                f"got {len(self.decoder)}"
            )
        for j, dlevel in enumerate(self.decoder):
            dlevel.validate(f"{dec}[{j}]")
        self._validate_head(path)
        check_choice(self.act, get_args(Activation), _join(path, "act"))
        self._validate_sizes(path)

    def _validate_head(self, path: str) -> None:
        where = _join(path, "head_width")
        if self.stem_stride == 2 and self.head_width is None:
            raise ConfigError(
                f"{where}: a stride-2 stem needs the upsampling head; expected a positive "
                "integer, got null"
            )
        if self.stem_stride == 1 and self.head_width is not None:
            raise ConfigError(
                f"{where}: the network already runs at input resolution (stem stride 1); "
                f"expected null, got {self.head_width}"
            )
        if self.head_width is not None:
            check_range(self.head_width, 1, MAX_WIDTH, where)

    def _validate_sizes(self, path: str) -> None:
        size = self.input_size
        steps = [(_join(path, "stem.stride"), self.stem_stride)]
        steps += [(f"{_join(path, 'encoder')}[{i}].down", 2) for i in range(1, len(self.encoder))]
        for where, stride in steps:
            if stride > size:
                raise ConfigError(
                    f"{where}: halving would shrink the {size}x{size} feature map below 1x1 "
                    f"(input {self.input_size})",
                    hint="use fewer levels or a larger input_size",
                )
            size = -(-size // stride)

    def describe(self) -> str:
        stem = self.stem.describe() if self.stem is not None else "s-"
        parts = [stem, *(level.describe() for level in self.encoder)]
        parts += [level.describe() for level in self.decoder]
        parts.append(f"h{self.head_width}" if self.head_width is not None else "h1x1")
        parts += [] if self.residual else ["plain"]
        parts += [] if self.act == "relu" else [self.act]
        return " | ".join(parts)

    def stage_names(self) -> list[str]:
        return [f"enc{i}" for i in range(len(self.encoder))] + [
            f"dec{j}" for j in range(len(self.decoder))
        ]

    def width_names(self) -> tuple[str, ...]:
        stem = ("stem",) if self.stem is not None else ()
        head = ("head",) if self.head_width is not None else ()
        return (*stem, *self.stage_names(), *head)

    def widths(self) -> tuple[int, ...]:
        stem = (self.stem.width,) if self.stem is not None else ()
        head = (self.head_width,) if self.head_width is not None else ()
        levels = [level.width for level in self.encoder] + [lv.width for lv in self.decoder]
        return (*stem, *levels, *head)

    def with_widths(self, widths: tuple[int, ...]) -> ResidualUNetSpec:
        if len(widths) != len(self.widths()):
            raise ValueError(f"expected {len(self.widths())} widths, got {len(widths)}")
        it = iter(widths)
        stem = dataclasses.replace(self.stem, width=next(it)) if self.stem is not None else None
        encoder = tuple(dataclasses.replace(level, width=next(it)) for level in self.encoder)
        decoder = tuple(dataclasses.replace(level, width=next(it)) for level in self.decoder)
        head = next(it) if self.head_width is not None else None
        return dataclasses.replace(
            self, stem=stem, encoder=encoder, decoder=decoder, head_width=head
        )

    def reduce_depth(self, stage: str) -> ResidualUNetSpec | None:
        if stage not in self.stage_names():
            return None
        i = int(stage[3:])
        if stage.startswith("enc"):
            if len(self.encoder[i].blocks) <= 1:
                return None
            enc = list(self.encoder)
            enc[i] = dataclasses.replace(enc[i], blocks=enc[i].blocks[:-1])
            return dataclasses.replace(self, encoder=tuple(enc))
        if len(self.decoder[i].blocks) <= 1:
            return None
        dec = list(self.decoder)
        dec[i] = dataclasses.replace(dec[i], blocks=dec[i].blocks[:-1])
        return dataclasses.replace(self, decoder=tuple(dec))

    def analytic_costs(self) -> _shapes.Tally:
        t = _shapes.Tally(act_params=1 if self.act == "prelu" else 0)
        hw, cin = (self.input_size, self.input_size), self.in_channels
        if self.stem is not None:
            if self.stem.kind == "anet":
                hw = _shapes.anet_down(t, cin, self.stem.width, hw)
            else:
                hw = t.conv(cin, self.stem.width, hw, 3, self.stem.stride)
            cin = self.stem.width
        sizes, widths = [], []
        for i, level in enumerate(self.encoder):
            t.section = f"enc{i}"
            hw, cin = _down(t, level.down, cin, level.width, hw)
            for kind in level.blocks:
                hw = _shapes.unet_block(t, kind, cin, level.width, hw, residual=self.residual)
                cin = level.width
            sizes.append(hw)
            widths.append(cin)
        for j, dlevel in enumerate(self.decoder):
            t.section = f"dec{j}"
            _up(t, dlevel.up, cin, dlevel.width, hw)
            hw = sizes[-2 - j]
            cin = dlevel.width + (widths[-2 - j] if dlevel.skip else 0)
            for kind in dlevel.blocks:
                hw = _shapes.unet_block(t, kind, cin, dlevel.width, hw, residual=self.residual)
                cin = dlevel.width
        t.section = "head"
        self._head_costs(t, cin, hw)
        return t

    def _head_costs(self, t: _shapes.Tally, cin: int, hw: tuple[int, int]) -> None:
        if self.head_width is None:
            t.conv(cin, self.num_classes, hw, 1, bias=True, norm=False, act=False)
            return
        t.deconv(cin, self.head_width, hw, bias=False, norm=True, act=True)
        full = (self.input_size, self.input_size)
        t.conv(self.head_width, self.head_width, full, 1)
        t.conv(self.head_width, self.num_classes, full, 3, bias=True, norm=False, act=False)

    def build(self) -> nn.Module:
        from gensynth.prototypes._nets import ResidualUNet

        return ResidualUNet(self)


def _down(
    t: _shapes.Tally, kind: str, cin: int, cout: int, hw: tuple[int, int]
) -> tuple[tuple[int, int], int]:
    if kind == "maxpool":
        return t.max_pool(cin, hw, 2, 2, ceil=True), cin
    if kind == "conv":
        return t.conv(cin, cout, hw, 3, 2), cout
    if kind == "anet":
        return _shapes.anet_down(t, cin, cout, hw), cout
    return hw, cin


def _up(t: _shapes.Tally, kind: str, cin: int, cout: int, hw: tuple[int, int]) -> None:
    if kind == "transpose":
        t.deconv(cin, cout, hw, bias=True, norm=False, act=False)
    elif kind == "bilinear":
        t.conv(cin, cout, hw, 1)
        t.upsample(cout, hw)
    else:
        _shapes.anet_up(t, cin, cout, hw)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
