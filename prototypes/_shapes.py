"""Exact, torch-free cost arithmetic for every layer and block the prototypes build.

Each function mirrors one module of :mod:`gensynth.prototypes.blocks` as a pure function of
shapes (fvcore's handle style), so a spec's cost is counted in microseconds, without building
or tracing the network. Tests check every block against fvcore with our handles and against
``torch.utils.flop_counter.FlopCounterMode``.

The convention (see :data:`gensynth.constraints.costs.MAC_CONVENTION`): one multiply-accumulate
of a convolution, transposed convolution or linear layer counts 1 (bias ignored); batch norm is
folded into the convolutions and counts 0; element-wise work counts one per element: residual
adds and gating multiplies per output element, max pooling per window element, global average
pooling per input element, bilinear upsampling 4 per output element; activations and
concatenation count 0. Parameters are every learnable tensor element, batch norm included.
"""

from __future__ import annotations

__all__ = ["SE_RATIO", "Tally", "conv_out", "make_divisible"]

SE_RATIO = 0.25
MIN_CHANNELS = 8


def make_divisible(value: float, divisor: int = 8, minimum: int = MIN_CHANNELS) -> int:
    """``value`` rounded to the nearest multiple of ``divisor``, at least ``minimum``.

    Monotone non-decreasing in ``value``, which keeps costs monotone in the width multiplier.
    """
    return max(minimum, int(value / divisor + 0.5) * divisor)


def conv_out(size: int, kernel: int, stride: int, dilation: int = 1) -> int:
    """Output side of a convolution with "same" padding ``dilation * (kernel - 1) // 2``."""
    pad = dilation * (kernel - 1) // 2
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1


def _pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else value


class Tally:
    """Accumulates MACs, element-wise ops and parameters, with a per-section breakdown."""

    __slots__ = ("act_params", "elementwise", "macs", "params", "section", "sections")

    def __init__(self, *, act_params: int = 0) -> None:
        self.act_params = act_params  # learnable parameters per activation (PReLU: 1)
        self.macs = 0  # conv + linear multiply-accumulates
        self.elementwise = 0
        self.params = 0
        self.section = "stem"
        self.sections: dict[str, int] = {}

    @property
    def total(self) -> int:
        return self.macs + self.elementwise

    def _ops(self, macs: int = 0, elementwise: int = 0) -> None:
        self.macs += macs
        self.elementwise += elementwise
        self.sections[self.section] = self.sections.get(self.section, 0) + macs + elementwise

    def conv(
        self,
        cin: int,
        cout: int,
        hw: tuple[int, int],
        kernel: int | tuple[int, int] = 1,
        stride: int | tuple[int, int] = 1,
        *,
        groups: int = 1,
        dilation: int = 1,
        bias: bool = False,
        norm: bool = True,
        act: bool = True,
    ) -> tuple[int, int]:
        """A ``ConvNormAct`` (or a bare conv with ``norm=act=False``); returns the output size."""
        (kh, kw), (sh, sw) = _pair(kernel), _pair(stride)
        oh, ow = conv_out(hw[0], kh, sh, dilation), conv_out(hw[1], kw, sw, dilation)
        weights = cout * (cin // groups) * kh * kw
        self._ops(macs=weights * oh * ow)
        self.params += weights + (cout if bias else 0) + (2 * cout if norm else 0)
        if act:
            self.params += self.act_params
        return oh, ow

    def deconv(
        self, cin: int, cout: int, hw: tuple[int, int], *, bias: bool, norm: bool, act: bool
    ) -> tuple[int, int]:
        """A 2x2, stride-2 transposed convolution (fvcore: input positions x weight size)."""
        weights = cin * cout * 4
        self._ops(macs=weights * hw[0] * hw[1])
        self.params += weights + (cout if bias else 0) + (2 * cout if norm else 0)
        if act:
            self.params += self.act_params
        return hw[0] * 2, hw[1] * 2

    def linear(self, cin: int, cout: int) -> None:
        self._ops(macs=cin * cout)
        self.params += cin * cout + cout

    def act(self) -> None:
        """A stand-alone activation (after a residual add): free, but PReLU has a weight."""
        self.params += self.act_params

    def add(self, channels: int, hw: tuple[int, int]) -> None:
        self._ops(elementwise=channels * hw[0] * hw[1])

    def mul(self, channels: int, hw: tuple[int, int]) -> None:
        self._ops(elementwise=channels * hw[0] * hw[1])

    def max_pool(
        self, channels: int, hw: tuple[int, int], kernel: int, stride: int, *, ceil: bool = False
    ) -> tuple[int, int]:
        """Max pooling with padding ``kernel // 2`` for odd kernels, 0 for even ones."""
        pad = kernel // 2 if kernel % 2 else 0

        def side(n: int) -> int:
            span = n + 2 * pad - kernel
            return (-(-span // stride) if ceil else span // stride) + 1

        oh, ow = side(hw[0]), side(hw[1])
        self._ops(elementwise=channels * oh * ow * kernel * kernel)
        return oh, ow

    def global_pool(self, channels: int, hw: tuple[int, int]) -> None:
        self._ops(elementwise=channels * hw[0] * hw[1])

    def upsample(self, channels: int, hw: tuple[int, int]) -> tuple[int, int]:
        """Bilinear x2 upsampling: 4 per output element (fvcore's convention)."""
        oh, ow = hw[0] * 2, hw[1] * 2
        self._ops(elementwise=4 * channels * oh * ow)
        return oh, ow

    def squeeze_excite(self, channels: int, hw: tuple[int, int]) -> None:
        """Pool, 1x1 reduce (bias, ReLU), 1x1 expand (bias, sigmoid), gate multiply."""
        reduced = make_divisible(channels * SE_RATIO)
        self.global_pool(channels, hw)
        self._ops(macs=2 * channels * reduced)
        self.params += 2 * channels * reduced + reduced + channels
        self.mul(channels, hw)


# Block twins of gensynth.prototypes.blocks: same arguments, return the output size.

HW = tuple[int, int]


def projection(t: Tally, cin: int, cout: int, hw: HW, stride: int) -> HW:
    if stride == 1 and cin == cout:
        return hw
    return t.conv(cin, cout, hw, 1, stride, act=False)


def _residual_branch(
    t: Tally, kind: str, cin: int, cout: int, hw: HW, stride: int, kernel: int, expansion: float
) -> HW:
    if kind == "basic":
        hw = t.conv(cin, cout, hw, kernel, stride)
        return t.conv(cout, cout, hw, kernel, act=False)
    if kind == "inverted":
        mid = cin if expansion == 1 else make_divisible(cin * expansion)
        if expansion != 1:
            t.conv(cin, mid, hw, 1)
        hw = t.conv(mid, mid, hw, kernel, stride, groups=mid)
        return t.conv(mid, cout, hw, 1, act=False)
    mid = make_divisible(cout * expansion)
    t.conv(cin, mid, hw, 1)
    if kind == "bottleneck":
        hw = t.conv(mid, mid, hw, kernel, stride)
    elif kind == "light":
        hw = t.conv(mid, mid, hw, kernel, stride, groups=mid)
    elif kind == "wide":
        hw = t.conv(mid, mid, hw, (kernel, 1), (stride, 1))
        hw = t.conv(mid, mid, hw, (1, kernel), (1, stride))
    else:
        raise ValueError(f"unknown residual block kind {kind!r}")
    return t.conv(mid, cout, hw, 1, act=False)


def residual_block(
    t: Tally,
    kind: str,
    cin: int,
    cout: int,
    hw: HW,
    *,
    stride: int,
    kernel: int,
    expansion: float,
    se: bool,
) -> HW:
    out = _residual_branch(t, kind, cin, cout, hw, stride, kernel, expansion)
    if se:
        t.squeeze_excite(cout, out)
    projection(t, cin, cout, hw, stride)
    t.add(cout, out)
    if kind != "inverted":
        t.act()
    return out


def _unet_branch(t: Tally, kind: str, cin: int, cout: int, hw: HW) -> None:
    if kind in ("single", "dilated"):
        t.conv(cin, cout, hw, 3, dilation=2 if kind == "dilated" else 1, act=False)
    elif kind in ("dw2", "dwd2"):
        d = 2 if kind == "dwd2" else 1
        t.conv(cin, cin, hw, 3, groups=cin, dilation=d)
        t.conv(cin, cout, hw, 1)
        t.conv(cout, cout, hw, 3, groups=cout, dilation=d)
        t.conv(cout, cout, hw, 1, act=False)
    elif kind == "cut":
        t.conv(cin, cout // 2, hw, 1, act=False)
        t.conv(cin, cout - cout // 2, hw, 3, act=False)
    elif kind == "double":
        t.conv(cin, cout, hw, 3)
        t.conv(cout, cout, hw, 3, act=False)
    elif kind in ("light", "wide"):
        kernel = 3 if kind == "light" else 5
        _residual_branch(t, kind, cin, cout, hw, 1, kernel, 0.25)
    else:
        raise ValueError(f"unknown residual-unet block kind {kind!r}")


def unet_block(t: Tally, kind: str, cin: int, cout: int, hw: HW, *, residual: bool) -> HW:
    _unet_branch(t, kind, cin, cout, hw)
    if residual:
        projection(t, cin, cout, hw, 1)
        t.add(cout, hw)
    t.act()
    return hw


def anet_down(t: Tally, cin: int, cout: int, hw: HW) -> HW:
    mid = make_divisible(cout * 0.25)
    t.conv(cin, mid, hw, 1)
    even = (hw[0] + hw[0] % 2, hw[1] + hw[1] % 2)
    out = t.conv(mid, mid, even, 2, 2)
    t.conv(mid, cout, out, 1, act=False)
    t.max_pool(cin, hw, 2, 2, ceil=True)
    if cin != cout:
        t.conv(cin, cout, out, 1, act=False)
    t.add(cout, out)
    t.act()
    return out


def anet_up(t: Tally, cin: int, cout: int, hw: HW) -> HW:
    mid = make_divisible(cout * 0.25)
    t.conv(cin, mid, hw, 1)
    out = t.deconv(mid, mid, hw, bias=False, norm=True, act=True)
    t.conv(mid, cout, out, 1, act=False)
    if cin != cout:
        t.conv(cin, cout, hw, 1, act=False)
    t.upsample(cout, hw)
    t.add(cout, out)
    t.act()
    return out
