"""Regression: torch 2.13's channels-last backward of a strided 1x1 conv crashed the process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import torch
import torch.nn.functional as F

from gensynth.prototypes.blocks import ConvNormAct, StridedPointwiseConv


def test_strided_pointwise_equals_a_strided_conv():
    torch.manual_seed(0)
    conv = StridedPointwiseConv(8, 16, 1, 2, bias=False)
    x = torch.randn(2, 8, 47, 47)
    expected = F.conv2d(x, conv.weight, None, stride=2)
    assert torch.equal(conv(x), expected)
    assert isinstance(ConvNormAct(8, 16, 1, 2)[0], StridedPointwiseConv)
    assert type(ConvNormAct(8, 16, 1, 1)[0]) is torch.nn.Conv2d


def test_channels_last_backward_of_a_small_strided_projection_does_not_crash():
    code = textwrap.dedent(
        """
        import torch
        from gensynth.prototypes.blocks import ConvNormAct
        torch.manual_seed(0)
        block = ConvNormAct(8, 8, 1, 2).to(memory_format=torch.channels_last)
        x = torch.randn(32, 8, 48, 48).contiguous(memory_format=torch.channels_last)
        for _ in range(3):
            block(x.requires_grad_()).sum().backward()
        print("survived")
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr[-500:]
    assert "survived" in proc.stdout
