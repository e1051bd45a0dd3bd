"""Cost counting: hand-counted tiny nets, analytic == fvcore-with-handles on every spec,
PyTorch's FlopCounterMode as a cross-check, and unsupported ops as errors."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from proto_cases import SMALL
from torch import nn

from gensynth.constraints import (
    MAC_CONVENTION,
    Costs,
    count_costs,
    count_module,
    flop_counter_macs,
)
from gensynth.errors import ConstraintError
from gensynth.prototypes import reference_spec
from gensynth.prototypes.blocks import ConvNormAct, SqueezeExcite


class _Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x)


class _Upsample(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


# (module, input shape, MACs, params, element-wise part of MACs): counted by hand.
TINY = {
    # 8 out x 3 in x 3x3 kernel x 8x8 outputs; BN folded (0 MACs, 2x8 params); ReLU free.
    "conv-bn-relu": (ConvNormAct(3, 8, 3), (1, 3, 8, 8), 8 * 3 * 9 * 64, 216 + 16, 0),
    # 1x1 conv 4->4 at 5x5 = 400; the add: 4x5x5 = 100.
    "residual-add": (_Residual(), (1, 4, 5, 5), 400 + 100, 16, 100),
    # 3x3/2 max pool (padding 1) on 2x8x8 -> 2x4x4 outputs x 9 window elements.
    "max-pool": (nn.MaxPool2d(3, 2, 1), (1, 2, 8, 8), 2 * 16 * 9, 0, 288),
    # SE on 16x4x4: pool 256 + reduce 16x8 + expand 8x16 + gate multiply 256.
    "squeeze-excite": (SqueezeExcite(16), (1, 16, 4, 4), 256 + 128 + 128 + 256, 280, 512),
    "linear": (nn.Linear(10, 3), (1, 10), 30, 33, 0),
    # bilinear x2 of 2x3x3 -> 2x6x6 = 72 outputs x 4.
    "bilinear-x2": (_Upsample(), (1, 2, 3, 3), 288, 0, 288),
    # 2x2/2 transposed conv 4->2 on 3x3 inputs: 9 x (4 x 2 x 4).
    "deconv": (nn.ConvTranspose2d(4, 2, 2, 2, bias=False), (1, 4, 3, 3), 288, 32, 0),
    # depthwise 3x3 on 6 channels, 4x4: 6 x 9 x 16.
    "depthwise": (nn.Conv2d(6, 6, 3, padding=1, groups=6, bias=False), (1, 6, 4, 4), 864, 54, 0),
    "prelu-sigmoid": (nn.Sequential(nn.PReLU(), nn.Sigmoid()), (1, 3, 4, 4), 0, 1, 0),
}


@pytest.mark.parametrize("name", sorted(TINY))
def test_tiny_nets_counted_by_hand(name):
    module, shape, macs, params, elementwise = TINY[name]
    assert count_module(module, shape) == Costs(macs, params, elementwise)


def test_resnet50_is_4_09_gmacs_with_batch_norm_folded():
    spec = reference_spec("resnet50", in_channels=3, input_size=224, num_classes=1000)
    costs = count_costs(spec)
    assert abs(costs.macs / 4.09e9 - 1) < 0.01
    assert costs.conv_macs == 4_089_184_256  # conv + fc, the published 4.09 G
    assert costs.params == 25_557_032


@pytest.mark.parametrize("name", sorted(SMALL))
def test_analytic_count_equals_fvcore_with_handles(name):
    spec = SMALL[name]
    torch.manual_seed(0)
    traced = count_module(spec.build(), (1, *spec.input_shape), strict=True)
    assert count_costs(spec) == traced


@pytest.mark.parametrize("name", sorted(SMALL))
def test_flop_counter_mode_cross_check(name):
    spec = SMALL[name]
    assert flop_counter_macs(spec.build(), (1, *spec.input_shape)) == count_costs(spec).conv_macs


def test_unknown_ops_are_errors_in_strict_mode_and_warnings_otherwise():
    class Exp(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.exp(x) + x

    with pytest.raises(ConstraintError, match=r"aten::exp"):
        count_module(Exp(), (1, 2, 3, 3))
    with pytest.warns(UserWarning, match="aten::exp"):
        costs = count_module(Exp(), (1, 2, 3, 3), strict=False)
    assert costs.macs == 18  # the add is counted; exp is reported, never silently zero


def test_count_costs_is_cached_by_spec_hash():
    spec = SMALL["default-residual"]
    first = count_costs(spec)
    assert count_costs(spec.replace()) is first  # an equal spec hits the same entry
    assert count_costs(spec.scale_width(2.0)).macs > first.macs


def test_count_module_leaves_the_training_mode_alone():
    model = ConvNormAct(1, 8, 3)
    model.train()
    count_module(model, (1, 1, 4, 4))
    assert model.training


def test_costs_are_monotone_in_the_width_multiplier():
    for spec in SMALL.values():
        values = [count_costs(spec.scale_width(m)) for m in (0.2, 0.5, 0.9, 1.3, 2.2)]
        assert all(a.macs <= b.macs for a, b in itertools.pairwise(values))
        assert all(a.params <= b.params for a, b in itertools.pairwise(values))


def test_convention_is_stated():
    for phrase in ("multiply-accumulate", "batch norm", "folded", "4.10 G"):
        assert phrase in MAC_CONVENTION
