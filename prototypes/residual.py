"""The ``residual`` prototype (classification): stem, 1-8 residual stages, pooling, linear head.

ResNet-18/50 are points of this space (see :mod:`gensynth.prototypes.references`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, ClassVar, Literal, get_args

from gensynth.errors import ConfigError
from gensynth.prototypes import _shapes
from gensynth.prototypes._spec import SPEC_TYPES, ArchSpec, Task, check_choice, check_range

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "BLOCK_CODES",
    "BLOCK_KINDS",
    "DEFAULT_EXPANSION",
    "Activation",
    "BlockKind",
    "ResidualSpec",
    "StageSpec",
    "StemSpec",
]

BlockKind = Literal["basic", "bottleneck", "inverted", "light", "wide"]
Activation = Literal["relu", "relu6", "hardswish", "silu", "prelu"]
BLOCK_KINDS: tuple[str, ...] = get_args(BlockKind)
BLOCK_CODES = {"basic": "bb", "bottleneck": "bt", "inverted": "ir", "light": "lt", "wide": "wd"}
#: Hidden width = width x expansion (bottleneck/light/wide), input width x expansion (inverted).
DEFAULT_EXPANSION = {
    "basic": 1.0,
    "bottleneck": 0.25,
    "inverted": 4.0,
    "light": 0.25,
    "wide": 0.25,
}
STAGE_KERNELS = (3, 5)
STEM_KERNELS = (3, 5, 7)
STRIDES = (1, 2)
MAX_WIDTH = 8192
MAX_DEPTH = 64


@dataclasses.dataclass(frozen=True)
class StemSpec:
    """Stem: a strided k x k conv, norm and activation, then an optional 3x3/2 max pool."""

    width: int = 32
    kernel: int = 3
    stride: int = 2
    pool: bool = False

    def validate(self, path: str = "stem") -> None:
        check_range(self.width, 1, MAX_WIDTH, f"{path}.width")
        check_choice(self.kernel, STEM_KERNELS, f"{path}.kernel")
        check_choice(self.stride, STRIDES, f"{path}.stride")

    def describe(self) -> str:
        text = f"s{self.width}"
        text += f"_k{self.kernel}" if self.kernel != 3 else ""
        text += "_s1" if self.stride == 1 else ""
        return text + ("_mp" if self.pool else "")


@dataclasses.dataclass(frozen=True)
class StageSpec:
    """One stage: ``depth`` blocks of one kind; the first has the stride and changes width."""

    block: BlockKind = "basic"
    width: int = 64
    depth: int = 1
    stride: int = 2
    kernel: int = 3
    expansion: float = 1.0
    se: bool = False

    def validate(self, path: str = "stage") -> None:
        check_choice(self.block, BLOCK_KINDS, f"{path}.block")
        check_range(self.width, 1, MAX_WIDTH, f"{path}.width")
        check_range(self.depth, 1, MAX_DEPTH, f"{path}.depth")
        check_choice(self.stride, STRIDES, f"{path}.stride")
        check_choice(self.kernel, STAGE_KERNELS, f"{path}.kernel")
        self._validate_expansion(f"{path}.expansion")

    def _validate_expansion(self, path: str) -> None:
        e = self.expansion
        if self.block == "basic" and e != 1:
            raise ConfigError(
                f"{path}: basic blocks have no hidden width; expected 1.0, got {e}",
                hint="use block: bottleneck or inverted for an expansion",
            )
        if self.block == "inverted" and not 1 <= e <= 8:
            raise ConfigError(f"{path}: expected 1 <= expansion <= 8 for inverted, got {e}")
        if self.block in ("bottleneck", "light", "wide") and not 0 < e <= 1:
            raise ConfigError(
                f"{path}: expected 0 < expansion <= 1 for {self.block} (hidden = width x "
                f"expansion), got {e}",
                hint="0.25 is the ResNet/A-Net choice",
            )

    def describe(self) -> str:
        text = f"{BLOCK_CODES[self.block]}_k{self.kernel}"
        text += f"_e{self.expansion:g}" if self.block != "basic" else ""
        text += f"_c{self.width}_n{self.depth}_s{self.stride}"
        return text + ("_se" if self.se else "")


# A hand-made mid-size design: about 99.5M MACs and 0.3M parameters at 200x200x1.
_DEFAULT_STAGES = (
    StageSpec("inverted", 24, 1, 2, 3, 4.0, False),
    StageSpec("inverted", 40, 2, 2, 3, 4.0, False),
    StageSpec("inverted", 80, 2, 2, 5, 4.0, True),
    StageSpec("light", 160, 2, 2, 3, 0.25, True),
    StageSpec("bottleneck", 256, 1, 1, 3, 0.25, False),
)


@SPEC_TYPES.register("residual")
@dataclasses.dataclass(frozen=True)
class ResidualSpec(ArchSpec):
    """A residual classifier: ``stem | stage0 | ... | stageK | pool + linear``."""

    prototype: ClassVar[str] = "residual"
    task: ClassVar[Task] = "classify"
    # Stages narrower than 16 channels train and run poorly on CPUs (memory-bound) and only
    # win NetScore through their parameter count; the design space leaves them out. The stem
    # is one convolution from the image: 8 channels there are cheap and common.
    min_width: ClassVar[int] = 16
    stem_min_width: ClassVar[int] = 8

    in_channels: int = 1
    input_size: int = 200
    num_classes: int = 6
    stem: StemSpec = StemSpec(32, 3, 2, False)
    stages: tuple[StageSpec, ...] = _DEFAULT_STAGES
    act: Activation = "relu"

    def validate(self, path: str = "") -> None:
        super().validate(path)
        self.stem.validate(_join(path, "stem"))
        if not 1 <= len(self.stages) <= 8:
            raise ConfigError(
                f"{_join(path, 'stages')}: expected 1 to 8 stages, got {len(self.stages)}"
            )
        for i, stage in enumerate(self.stages):
            stage.validate(f"{_join(path, 'stages')}[{i}]")
        check_choice(self.act, get_args(Activation), _join(path, "act"))
        self._validate_sizes(path)

    def _validate_sizes(self, path: str) -> None:
        """Every stride-2 op needs a map of at least 2x2: nothing shrinks below 1x1."""
        size = self.input_size
        strided = [(_join(path, "stem.stride"), self.stem.stride)]
        strided += [(_join(path, "stem.pool"), 2)] if self.stem.pool else []
        strided += [
            (f"{_join(path, 'stages')}[{i}].stride", s.stride) for i, s in enumerate(self.stages)
        ]
        for where, stride in strided:
            if stride > size:
                raise ConfigError(
                    f"{where}: stride {stride} would shrink the {size}x{size} feature map below "
                    f"1x1 (input {self.input_size})",
                    hint="use stride 1 here, fewer stride-2 stages, or a larger input_size",
                )
            size = -(-size // stride)

    def describe(self) -> str:
        parts = [self.stem.describe(), *(stage.describe() for stage in self.stages)]
        if self.act != "relu":
            parts.append(self.act)
        return " | ".join(parts)

    def stage_names(self) -> list[str]:
        return [f"stage{i}" for i in range(len(self.stages))]

    def widths(self) -> tuple[int, ...]:
        return (self.stem.width, *(stage.width for stage in self.stages))

    def width_names(self) -> tuple[str, ...]:
        return ("stem", *self.stage_names())

    def width_floors(self) -> tuple[int, ...]:
        return (self.stem_min_width,) + (self.min_width,) * len(self.stages)

    def with_widths(self, widths: tuple[int, ...]) -> ResidualSpec:
        stem = dataclasses.replace(self.stem, width=widths[0])
        stages = tuple(
            dataclasses.replace(stage, width=w)
            for stage, w in zip(self.stages, widths[1:], strict=True)
        )
        return dataclasses.replace(self, stem=stem, stages=stages)

    def reduce_depth(self, stage: str) -> ResidualSpec | None:
        names = self.stage_names()
        if stage not in names or self.stages[names.index(stage)].depth <= 1:
            return None
        i = names.index(stage)
        stages = list(self.stages)
        stages[i] = dataclasses.replace(stages[i], depth=stages[i].depth - 1)
        return dataclasses.replace(self, stages=tuple(stages))

    def downsample_earlier(self) -> tuple[ResidualSpec, str] | None:
        for i, stage in enumerate(self.stages):
            if stage.stride == 1:
                stages = list(self.stages)
                stages[i] = dataclasses.replace(stage, stride=2)
                candidate = dataclasses.replace(self, stages=tuple(stages))
                try:
                    candidate.validate()
                except ConfigError:
                    return None
                return candidate, f"stage{i}"
        return None

    def analytic_costs(self) -> _shapes.Tally:
        t = _shapes.Tally(act_params=1 if self.act == "prelu" else 0)
        size = (self.input_size, self.input_size)
        hw = t.conv(self.in_channels, self.stem.width, size, self.stem.kernel, self.stem.stride)
        if self.stem.pool:
            hw = t.max_pool(self.stem.width, hw, 3, 2)
        cin = self.stem.width
        for i, stage in enumerate(self.stages):
            t.section = f"stage{i}"
            for j in range(stage.depth):
                hw = _shapes.residual_block(
                    t,
                    stage.block,
                    cin,
                    stage.width,
                    hw,
                    stride=stage.stride if j == 0 else 1,
                    kernel=stage.kernel,
                    expansion=stage.expansion,
                    se=stage.se,
                )
                cin = stage.width
        t.section = "head"
        t.global_pool(cin, hw)
        t.linear(cin, self.num_classes)
        return t

    def build(self) -> nn.Module:
        from gensynth.prototypes._nets import ResidualNet

        return ResidualNet(self)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
