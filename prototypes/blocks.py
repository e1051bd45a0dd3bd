"""The building blocks of every prototype (timm style: norm and activation are parameters).

Every block whose output is ``post_act(shortcut(x) + branch(x))`` is a :class:`ResidualBlock`;
setting ``block.branch_enabled = False`` makes it return ``post_act(shortcut(x))``, which is how
the inquisitor measures a stage's sensitivity. Blocks carry ``stage_name``, the name of the
stage they belong to (``stage0``, ``enc1``, ``dec0``; ``stem`` for an A-Net stem).

Each module here has an exact cost twin in :mod:`gensynth.prototypes._shapes`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gensynth.prototypes._shapes import SE_RATIO, make_divisible

__all__ = [
    "ACTIVATIONS",
    "ActLayer",
    "AnetDown",
    "AnetUp",
    "ConvNormAct",
    "CutConnect",
    "DeconvNormAct",
    "NormLayer",
    "PlainBlock",
    "ResidualBlock",
    "SqueezeExcite",
    "fit",
    "residual_block",
    "unet_block",
]

ActLayer = Callable[[], nn.Module]
NormLayer = Callable[[int], nn.Module]

#: Activation layers by the name a spec's ``act`` field uses.
ACTIVATIONS: dict[str, ActLayer] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "hardswish": nn.Hardswish,
    "silu": nn.SiLU,
    "prelu": nn.PReLU,
}


class StridedPointwiseConv(nn.Conv2d):
    """A strided 1x1 convolution computed as subsample-then-1x1: the identical result.

    torch 2.13's CPU backward of a strided 1x1 convolution in channels-last memory corrupts the
    heap (segfault, "double free") for inputs with 2-12 channels at 48 px and up; taking every
    stride-th pixel first avoids that kernel. Same parameters, MACs and state-dict keys.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        sh, sw = self.stride
        subsampled = x[:, :, ::sh, ::sw]
        return F.conv2d(subsampled, self.weight, self.bias, 1, 0, self.dilation, self.groups)


class ConvNormAct(nn.Sequential):
    """Convolution ("same" padding, no bias), optional norm and activation."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel: int | tuple[int, int] = 1,
        stride: int | tuple[int, int] = 1,
        *,
        groups: int = 1,
        dilation: int = 1,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer | None = nn.ReLU,
    ) -> None:
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        padding = (dilation * (kh - 1) // 2, dilation * (kw - 1) // 2)
        strided_pointwise = (kh, kw) == (1, 1) and stride not in (1, (1, 1))
        conv_type = StridedPointwiseConv if strided_pointwise else nn.Conv2d
        layers: list[nn.Module] = [
            conv_type(cin, cout, (kh, kw), stride, padding, dilation, groups, bias=False),
            norm_layer(cout),
        ]
        if act_layer is not None:
            layers.append(act_layer())
        super().__init__(*layers)


class DeconvNormAct(nn.Sequential):
    """A 2x2, stride-2 transposed convolution (doubles the map), norm and activation."""

    def __init__(self, cin: int, cout: int, *, norm_layer: NormLayer, act_layer: ActLayer) -> None:
        super().__init__(
            nn.ConvTranspose2d(cin, cout, 2, 2, bias=False), norm_layer(cout), act_layer()
        )


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: channel gates from globally pooled features."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        reduced = make_divisible(channels * SE_RATIO)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.reduce = nn.Conv2d(channels, reduced, 1)
        self.act = nn.ReLU()
        self.expand = nn.Conv2d(reduced, channels, 1)
        self.gate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gate(self.expand(self.act(self.reduce(self.pool(x)))))


class PadToEven(nn.Module):
    """Pads the bottom/right edge by one pixel where a side is odd (stride-2 2x2 convs)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2], x.shape[-1]
        if h % 2 or w % 2:
            x = F.pad(x, (0, w % 2, 0, h % 2))
        return x


class CutConnect(nn.Module):
    """Cut-connect (our reading of LOS-UNet's block): half 1x1 "cut" path, half 3x3 path."""

    def __init__(self, cin: int, cout: int, *, norm_layer: NormLayer) -> None:
        super().__init__()
        self.cut = ConvNormAct(cin, cout // 2, 1, norm_layer=norm_layer, act_layer=None)
        self.conv = ConvNormAct(cin, cout - cout // 2, 3, norm_layer=norm_layer, act_layer=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.cut(x), self.conv(x)], dim=1)


def fit(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """Crops an upsampled map to ``size`` (maps of odd sides come back one pixel larger)."""
    h, w = int(size[0]), int(size[1])
    if x.shape[-2] != h or x.shape[-1] != w:
        x = x[..., :h, :w]
    return x


class ResidualBlock(nn.Module):
    """``post_act(shortcut(x) + branch(x))``; ``branch_enabled=False`` drops the branch."""

    def __init__(
        self,
        branch: nn.Module,
        shortcut: nn.Module,
        post_act: nn.Module,
        *,
        stage_name: str = "",
    ) -> None:
        super().__init__()
        self.branch = branch
        self.shortcut = shortcut
        self.post_act = post_act
        self.branch_enabled = True
        self.stage_name = stage_name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.shortcut(x)
        if self.branch_enabled:
            out = out + self.branch(x)
        return self.post_act(out)


class PlainBlock(nn.Module):
    """``post_act(branch(x))``: a block without a shortcut (the classic U-Net's double conv)."""

    def __init__(self, branch: nn.Module, post_act: nn.Module, *, stage_name: str = "") -> None:
        super().__init__()
        self.branch = branch
        self.post_act = post_act
        self.stage_name = stage_name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post_act(self.branch(x))


def projection(cin: int, cout: int, stride: int, norm_layer: NormLayer) -> nn.Module:
    """Identity where shapes match, else a strided 1x1 conv and norm (torchvision style)."""
    if stride == 1 and cin == cout:
        return nn.Identity()
    return ConvNormAct(cin, cout, 1, stride, norm_layer=norm_layer, act_layer=None)


def _branch(layers: list[nn.Module], cout: int, se: bool) -> nn.Sequential:
    if se:
        layers.append(SqueezeExcite(cout))
    return nn.Sequential(*layers)


def _convs(
    norm_layer: NormLayer, act_layer: ActLayer
) -> tuple[Callable[..., ConvNormAct], Callable[..., ConvNormAct]]:
    """``ConvNormAct`` bound to the block's norm and activation: (with act, without act)."""
    cna = functools.partial(ConvNormAct, norm_layer=norm_layer, act_layer=act_layer)
    last = functools.partial(ConvNormAct, norm_layer=norm_layer, act_layer=None)
    return cna, last


def residual_branch(
    kind: str,
    cin: int,
    cout: int,
    *,
    stride: int,
    kernel: int,
    expansion: float,
    se: bool,
    norm_layer: NormLayer,
    act_layer: ActLayer,
) -> nn.Sequential:
    """The residual branch of a ``basic``/``bottleneck``/``inverted``/``light``/``wide`` block."""
    cna, last = _convs(norm_layer, act_layer)
    if kind == "basic":
        return _branch([cna(cin, cout, kernel, stride), last(cout, cout, kernel)], cout, se)
    if kind == "inverted":
        mid = cin if expansion == 1 else make_divisible(cin * expansion)
        layers: list[nn.Module] = [] if expansion == 1 else [cna(cin, mid, 1)]
        layers.append(cna(mid, mid, kernel, stride, groups=mid))
        return _branch([*layers, last(mid, cout, 1)], cout, se)
    mid = make_divisible(cout * expansion)
    layers = [cna(cin, mid, 1)]
    if kind == "bottleneck":
        layers.append(cna(mid, mid, kernel, stride))
    elif kind == "light":
        layers.append(cna(mid, mid, kernel, stride, groups=mid))
    elif kind == "wide":
        layers.append(cna(mid, mid, (kernel, 1), (stride, 1)))
        layers.append(cna(mid, mid, (1, kernel), (1, stride)))
    else:
        raise ValueError(f"unknown residual block kind {kind!r}")
    return _branch([*layers, last(mid, cout, 1)], cout, se)


def residual_block(
    kind: str,
    cin: int,
    cout: int,
    *,
    stride: int = 1,
    kernel: int = 3,
    expansion: float = 1.0,
    se: bool = False,
    norm_layer: NormLayer = nn.BatchNorm2d,
    act_layer: ActLayer = nn.ReLU,
    stage_name: str = "",
) -> ResidualBlock:
    """A block of the ``residual`` prototype; inverted residuals keep a linear output."""
    branch = residual_branch(
        kind,
        cin,
        cout,
        stride=stride,
        kernel=kernel,
        expansion=expansion,
        se=se,
        norm_layer=norm_layer,
        act_layer=act_layer,
    )
    post_act = nn.Identity() if kind == "inverted" else act_layer()
    shortcut = projection(cin, cout, stride, norm_layer)
    return ResidualBlock(branch, shortcut, post_act, stage_name=stage_name)


def unet_branch(
    kind: str, cin: int, cout: int, *, norm_layer: NormLayer, act_layer: ActLayer
) -> nn.Module:
    """The branch of a ``residual-unet`` menu block (stride 1; the last activation left out)."""
    cna, last = _convs(norm_layer, act_layer)
    if kind == "single":
        return last(cin, cout, 3)
    if kind == "dilated":
        return last(cin, cout, 3, dilation=2)
    if kind in ("dw2", "dwd2"):
        d = 2 if kind == "dwd2" else 1
        return nn.Sequential(
            cna(cin, cin, 3, groups=cin, dilation=d),
            cna(cin, cout, 1),
            cna(cout, cout, 3, groups=cout, dilation=d),
            last(cout, cout, 1),
        )
    if kind == "cut":
        return CutConnect(cin, cout, norm_layer=norm_layer)
    if kind == "double":
        return nn.Sequential(cna(cin, cout, 3), last(cout, cout, 3))
    if kind in ("light", "wide"):
        kernel = 3 if kind == "light" else 5
        return residual_branch(
            kind,
            cin,
            cout,
            stride=1,
            kernel=kernel,
            expansion=0.25,
            se=False,
            norm_layer=norm_layer,
            act_layer=act_layer,
        )
    raise ValueError(f"unknown residual-unet block kind {kind!r}")


def unet_block(
    kind: str,
    cin: int,
    cout: int,
    *,
    residual: bool = True,
    norm_layer: NormLayer = nn.BatchNorm2d,
    act_layer: ActLayer = nn.ReLU,
    stage_name: str = "",
) -> nn.Module:
    """A ``residual-unet`` menu block: residual (projection shortcut) or plain."""
    branch = unet_branch(kind, cin, cout, norm_layer=norm_layer, act_layer=act_layer)
    if not residual:
        return PlainBlock(branch, act_layer(), stage_name=stage_name)
    shortcut = projection(cin, cout, 1, norm_layer)
    return ResidualBlock(branch, shortcut, act_layer(), stage_name=stage_name)


class AnetDown(ResidualBlock):
    """A-Net down block: 1x1 -> 2x2/2 -> 1x1 beside a max-pool (+1x1) shortcut; halves the map."""

    def __init__(
        self,
        cin: int,
        cout: int,
        *,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
        stage_name: str = "",
    ) -> None:
        mid = make_divisible(cout * 0.25)
        cna, last = _convs(norm_layer, act_layer)
        branch = nn.Sequential(
            cna(cin, mid, 1), PadToEven(), cna(mid, mid, 2, 2), last(mid, cout, 1)
        )
        pool: list[nn.Module] = [nn.MaxPool2d(2, 2, ceil_mode=True)]
        if cin != cout:
            pool.append(last(cin, cout, 1))
        super().__init__(branch, nn.Sequential(*pool), act_layer(), stage_name=stage_name)


class AnetUp(ResidualBlock):
    """A-Net up block: 1x1 -> 2x2 deconv -> 1x1 beside a (1x1 +) bilinear shortcut."""

    def __init__(
        self,
        cin: int,
        cout: int,
        *,
        norm_layer: NormLayer = nn.BatchNorm2d,
        act_layer: ActLayer = nn.ReLU,
        stage_name: str = "",
    ) -> None:
        mid = make_divisible(cout * 0.25)
        cna, last = _convs(norm_layer, act_layer)
        branch = nn.Sequential(
            cna(cin, mid, 1),
            DeconvNormAct(mid, mid, norm_layer=norm_layer, act_layer=act_layer),
            last(mid, cout, 1),
        )
        up: list[nn.Module] = [last(cin, cout, 1)] if cin != cout else []
        up.append(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
        super().__init__(branch, nn.Sequential(*up), act_layer(), stage_name=stage_name)
