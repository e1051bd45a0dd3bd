"""Built models: forward shapes, the stage-probing contract, blocks, reference sizes."""

from __future__ import annotations

import pytest
import torch
from proto_cases import SMALL
from torch import nn

from gensynth.errors import ConfigError
from gensynth.prototypes import reference_spec
from gensynth.prototypes.blocks import PlainBlock, ResidualBlock, residual_block, unet_block


@pytest.fixture(scope="module", params=sorted(SMALL))
def built(request):
    torch.manual_seed(0)
    spec = SMALL[request.param]
    return spec, spec.build().eval()


def test_forward_shape(built):
    spec, model = built
    with torch.no_grad():
        y = model(torch.randn(2, *spec.input_shape))
    if spec.task == "classify":
        assert y.shape == (2, spec.num_classes)
    else:  # logits at input resolution
        assert y.shape == (2, spec.num_classes, spec.input_size, spec.input_size)
    assert torch.isfinite(y).all()


def test_stage_names_match_the_spec_and_tag_their_blocks(built):
    spec, model = built
    assert model.stage_names() == spec.stage_names()
    for name in model.stage_names():
        blocks = [
            m for m in model.stage(name).modules() if isinstance(m, (ResidualBlock, PlainBlock))
        ]
        assert blocks, f"stage {name} has no blocks"
        assert all(block.stage_name == name for block in blocks)
    with pytest.raises(ConfigError, match="unknown stage 'stage99'"):
        model.stage("stage99")


def test_zeroing_a_stage_s_residual_branches_changes_the_output(built):
    spec, model = built
    x = torch.randn(1, *spec.input_shape)
    with torch.no_grad():
        before = model(x)
        stage = spec.stage_names()[-1 if spec.task == "classify" else 0]
        residual = [m for m in model.stage(stage).modules() if isinstance(m, ResidualBlock)]
        if not residual:  # plain blocks only: the classic U-Net layout
            assert spec.residual is False
            return
        assert all(block.branch_enabled for block in residual)
        for block in residual:
            block.branch_enabled = False
        after = model(x)
        for block in residual:
            block.branch_enabled = True
        restored = model(x)
    assert after.shape == before.shape
    assert not torch.allclose(after, before)
    assert torch.allclose(restored, before)


def test_disabled_block_returns_post_act_of_its_shortcut():
    torch.manual_seed(0)
    block = residual_block("bottleneck", 16, 32, stride=2, kernel=3, expansion=0.25).eval()
    x = torch.randn(1, 16, 9, 9)
    block.branch_enabled = False
    with torch.no_grad():
        assert torch.equal(block(x), block.post_act(block.shortcut(x)))
        block.branch_enabled = True
        assert not torch.equal(block(x), block.post_act(block.shortcut(x)))


def test_blocks_take_norm_and_activation_as_parameters():
    def group_norm(c: int) -> nn.Module:
        return nn.GroupNorm(1, c)

    block = residual_block("wide", 8, 8, norm_layer=group_norm, act_layer=nn.SiLU)
    kinds = {type(m) for m in block.modules()}
    assert nn.GroupNorm in kinds and nn.SiLU in kinds
    assert nn.BatchNorm2d not in kinds and nn.ReLU not in kinds
    plain = unet_block("double", 4, 8, residual=False, act_layer=nn.PReLU)
    assert isinstance(plain, PlainBlock) and not isinstance(plain, ResidualBlock)
    assert isinstance(plain.post_act, nn.PReLU)


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("name", "expected"), [("resnet50", 25_557_032), ("resnet18", 11_689_512)]
)
def test_resnet_references_have_torchvision_s_exact_parameter_count(name, expected):
    spec = reference_spec(name, in_channels=3, input_size=224, num_classes=1000)
    assert spec.analytic_costs().params == expected
    assert _params(spec.build()) == expected


def test_unet_and_anet_references_match_their_published_size():
    unet = reference_spec("unet")
    assert 30.9e6 < unet.analytic_costs().params < 31.5e6  # classic U-Net: ~31M
    assert unet.analytic_costs().params == _params(unet.build())
    anet = reference_spec("anet")
    assert abs(anet.analytic_costs().params / 0.39e6 - 1) < 0.05  # A-Net: 0.39M
    assert anet.analytic_costs().params == _params(anet.build())


def test_reference_baseline_defaults():
    assert reference_spec("resnet50").input_shape == (1, 200, 200)
    assert reference_spec("resnet50").num_classes == 6
    assert reference_spec("unet").input_shape == (1, 224, 224)
    assert reference_spec("anet").num_classes == 1
    with pytest.raises(ConfigError, match="did you mean 'resnet50'"):
        reference_spec("resnet5O")
