"""Designs built for CPU backends: no depthwise or squeeze-excitation at high resolution.

ONNX Runtime's CPU kernels turn dense convolutions into far more MACs per second than
depthwise ones, and squeeze-excitation adds pooling and reorders around the blocked channel
layout; both cost most where feature maps are large (REFERENCE.md, and the block throughput
table of ``benchmarks/block_throughput.py``). Under a MACs band without a latency budget,
the generator passes every proposal through :func:`steer`: stages whose input is larger than
``max_side`` pixels get a dense block instead of a depthwise one (``inverted``, ``light`` ->
``bottleneck``; ``dw2``, ``dwd2``, ``light`` -> ``single``/``dilated``) and lose their
squeeze-excitation.
With a latency budget the measured latency decides instead, so nothing is steered.
"""

from __future__ import annotations

import dataclasses

from gensynth.prototypes._shapes import conv_out
from gensynth.prototypes._spec import ArchSpec
from gensynth.prototypes.residual import DEFAULT_EXPANSION, ResidualSpec
from gensynth.prototypes.unet import ResidualUNetSpec

__all__ = ["DEPTHWISE", "MAX_SIDE", "UNET_DEPTHWISE", "steer"]

#: Feature-map side above which depthwise and squeeze-excitation are left out.
MAX_SIDE = 28
#: Depthwise block kinds and their dense replacements, per prototype.
DEPTHWISE = {"inverted": "bottleneck", "light": "bottleneck"}
UNET_DEPTHWISE = {"dw2": "single", "dwd2": "dilated", "light": "single"}


def steer(spec: ArchSpec, max_side: int = MAX_SIDE) -> tuple[ArchSpec, str]:
    """``spec`` with dense blocks where its maps are large, and what changed ('' if nothing)."""
    if isinstance(spec, ResidualSpec):
        return _steer_residual(spec, max_side)
    if isinstance(spec, ResidualUNetSpec):
        return _steer_unet(spec, max_side)
    return spec, ""


def _steer_residual(spec: ResidualSpec, max_side: int) -> tuple[ArchSpec, str]:
    side = conv_out(spec.input_size, spec.stem.kernel, spec.stem.stride)
    side = conv_out(side, 3, 2) if spec.stem.pool else side
    stages, notes = [], []
    for i, stage in enumerate(spec.stages):
        if side > max_side and (stage.block in DEPTHWISE or stage.se):
            block = DEPTHWISE.get(stage.block, stage.block)
            expansion = DEFAULT_EXPANSION[block] if block != stage.block else stage.expansion
            stage = dataclasses.replace(stage, block=block, expansion=expansion, se=False)
            notes.append(f"stage{i}")
        stages.append(stage)
        side = conv_out(side, stage.kernel, stage.stride)
    if not notes:
        return spec, ""
    text = f"dense blocks, no squeeze-excitation above {max_side}px: {', '.join(notes)}"
    return dataclasses.replace(spec, stages=tuple(stages)), text


def _steer_unet(spec: ResidualUNetSpec, max_side: int) -> tuple[ArchSpec, str]:
    side = spec.input_size // (spec.stem.stride if spec.stem is not None else 1)
    encoder, notes = [], []
    for i, level in enumerate(spec.encoder):
        side = side // 2 if level.down != "none" else side
        level, changed = _dense_level(level, side > max_side)
        notes += [f"enc{i}"] if changed else []
        encoder.append(level)
    decoder = []
    for j, level in enumerate(spec.decoder):
        side *= 2
        level, changed = _dense_level(level, side > max_side)
        notes += [f"dec{j}"] if changed else []
        decoder.append(level)
    if not notes:
        return spec, ""
    text = f"dense blocks above {max_side}px: {', '.join(notes)}"
    return dataclasses.replace(spec, encoder=tuple(encoder), decoder=tuple(decoder)), text


def _dense_level(level: object, large: bool) -> tuple[object, bool]:
    blocks = level.blocks  # type: ignore[attr-defined]
    if not large or not any(b in UNET_DEPTHWISE for b in blocks):
        return level, False
    dense = tuple(UNET_DEPTHWISE.get(b, b) for b in blocks)
    return dataclasses.replace(level, blocks=dense), True  # type: ignore[type-var]
