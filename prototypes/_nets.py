"""The ``nn.Module`` each prototype's spec builds, with the stage-probing interface."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from gensynth.errors import ConfigError
from gensynth.prototypes import blocks as B

if TYPE_CHECKING:
    from gensynth.prototypes.residual import ResidualSpec
    from gensynth.prototypes.unet import ResidualUNetSpec

__all__ = ["ResidualNet", "ResidualUNet", "StagedNet"]


class StagedNet(nn.Module):
    """A network whose stages the inquisitor can name and probe."""

    stages: nn.ModuleDict

    def stage_names(self) -> list[str]:
        """The stage names in forward order (``stage0``..., or ``enc0``..., ``dec0``...)."""
        return list(self.stages.keys())

    def stage(self, name: str) -> nn.Module:
        """The module of stage ``name``; its residual blocks carry ``stage_name == name``."""
        if name not in self.stages:
            raise ConfigError(
                f"unknown stage {name!r}; expected one of: {', '.join(self.stages.keys())}"
            )
        return self.stages[name]


def _tag(module: nn.Module, stage_name: str) -> nn.Module:
    for sub in module.modules():
        if isinstance(sub, (B.ResidualBlock, B.PlainBlock)):
            sub.stage_name = stage_name
    return module


class ResidualNet(StagedNet):
    """``stem | stage0 | ... | stageK | global average pool | linear``."""

    def __init__(self, spec: ResidualSpec) -> None:
        super().__init__()
        self.spec = spec
        act = B.ACTIVATIONS[spec.act]
        norm = nn.BatchNorm2d
        stem = spec.stem
        layers: list[nn.Module] = [
            B.ConvNormAct(
                spec.in_channels,
                stem.width,
                stem.kernel,
                stem.stride,
                norm_layer=norm,
                act_layer=act,
            )
        ]
        if stem.pool:
            layers.append(nn.MaxPool2d(3, 2, 1))
        self.stem = nn.Sequential(*layers)
        self.stages = nn.ModuleDict()
        cin = stem.width
        for i, st in enumerate(spec.stages):
            stage = [
                B.residual_block(
                    st.block,
                    cin if j == 0 else st.width,
                    st.width,
                    stride=st.stride if j == 0 else 1,
                    kernel=st.kernel,
                    expansion=st.expansion,
                    se=st.se,
                    norm_layer=norm,
                    act_layer=act,
                )
                for j in range(st.depth)
            ]
            self.stages[f"stage{i}"] = _tag(nn.Sequential(*stage), f"stage{i}")
            cin = st.width
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, spec.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for stage in self.stages.values():
            x = stage(x)
        return self.fc(torch.flatten(self.pool(x), 1))


class DecoderStage(nn.Module):
    """Upsample to the skip's size, optionally concatenate the skip, then the blocks."""

    def __init__(self, up: nn.Module, blocks: nn.Sequential, *, skip: bool) -> None:
        super().__init__()
        self.up = up
        self.blocks = blocks
        self.skip = skip

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = B.fit(self.up(x), skip.shape[-2:])
        if self.skip:
            x = torch.cat([x, skip], dim=1)
        return self.blocks(x)


def _down(kind: str, cin: int, cout: int, norm: B.NormLayer, act: B.ActLayer) -> list[nn.Module]:
    if kind == "maxpool":
        return [nn.MaxPool2d(2, 2, ceil_mode=True)]
    if kind == "conv":
        return [B.ConvNormAct(cin, cout, 3, 2, norm_layer=norm, act_layer=act)]
    if kind == "anet":
        return [B.AnetDown(cin, cout, norm_layer=norm, act_layer=act)]
    return []


def _up(kind: str, cin: int, cout: int, norm: B.NormLayer, act: B.ActLayer) -> nn.Module:
    if kind == "transpose":
        return nn.ConvTranspose2d(cin, cout, 2, 2)
    if kind == "bilinear":
        return nn.Sequential(
            B.ConvNormAct(cin, cout, 1, norm_layer=norm, act_layer=act),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
        )
    return B.AnetUp(cin, cout, norm_layer=norm, act_layer=act)


class ResidualUNet(StagedNet):
    """``stem | enc0 .. encL-1 | dec0 .. decL-2 | head``; logits at input resolution."""

    def __init__(self, spec: ResidualUNetSpec) -> None:
        super().__init__()
        self.spec = spec
        act, norm = B.ACTIVATIONS[spec.act], nn.BatchNorm2d
        cin = spec.in_channels
        self.stem: nn.Module = nn.Identity()
        if spec.stem is not None:
            if spec.stem.kind == "anet":
                self.stem = B.AnetDown(
                    cin, spec.stem.width, norm_layer=norm, act_layer=act, stage_name="stem"
                )
            else:
                self.stem = B.ConvNormAct(
                    cin, spec.stem.width, 3, spec.stem.stride, norm_layer=norm, act_layer=act
                )
            cin = spec.stem.width
        self.stages = nn.ModuleDict()
        widths = []
        for i, level in enumerate(spec.encoder):
            layers = _down(level.down, cin, level.width, norm, act)
            cin = cin if level.down in ("maxpool", "none") else level.width
            layers += self._blocks(spec, level.blocks, cin, level.width)
            self.stages[f"enc{i}"] = _tag(nn.Sequential(*layers), f"enc{i}")
            cin = level.width
            widths.append(cin)
        for j, dlevel in enumerate(spec.decoder):
            up = _up(dlevel.up, cin, dlevel.width, norm, act)
            cin = dlevel.width + (widths[-2 - j] if dlevel.skip else 0)
            blocks = nn.Sequential(*self._blocks(spec, dlevel.blocks, cin, dlevel.width))
            self.stages[f"dec{j}"] = _tag(DecoderStage(up, blocks, skip=dlevel.skip), f"dec{j}")
            cin = dlevel.width
        self.head_up, self.head = self._head(spec, cin, norm, act)
        self.encoder_names = [f"enc{i}" for i in range(len(spec.encoder))]
        self.decoder_names = [f"dec{j}" for j in range(len(spec.decoder))]

    @staticmethod
    def _head(
        spec: ResidualUNetSpec, cin: int, norm: B.NormLayer, act: B.ActLayer
    ) -> tuple[nn.Module, nn.Module]:
        """The 1x1 head, or the A-Net head (2x2 deconv, 1x1, 3x3) after a stride-2 stem."""
        if spec.head_width is None:
            return nn.Identity(), nn.Conv2d(cin, spec.num_classes, 1)
        hw = spec.head_width
        up = B.DeconvNormAct(cin, hw, norm_layer=norm, act_layer=act)
        head = nn.Sequential(
            B.ConvNormAct(hw, hw, 1, norm_layer=norm, act_layer=act),
            nn.Conv2d(hw, spec.num_classes, 3, padding=1),
        )
        return up, head

    @staticmethod
    def _blocks(
        spec: ResidualUNetSpec, kinds: tuple[str, ...], cin: int, cout: int
    ) -> list[nn.Module]:
        act = B.ACTIVATIONS[spec.act]
        return [
            B.unet_block(
                kind, cin if k == 0 else cout, cout, residual=spec.residual, act_layer=act
            )
            for k, kind in enumerate(kinds)
        ]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        x = self.stem(x)
        skips = []
        for name in self.encoder_names:
            x = self.stages[name](x)
            skips.append(x)
        for j, name in enumerate(self.decoder_names):
            x = self.stages[name](x, skips[-2 - j])
        x = B.fit(self.head_up(x), size)
        return self.head(x)
