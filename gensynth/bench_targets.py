"""What ``gensynth bench`` times: a model folder or a spec, and a reference net beside it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gensynth.backends import BenchModel
from gensynth.errors import ConfigError

if TYPE_CHECKING:
    from gensynth.prototypes import ArchSpec

__all__ = ["baseline_model", "load_bench_model"]


def _macs(spec: ArchSpec) -> int:
    from gensynth.constraints import count_costs

    return int(count_costs(spec).macs)


def load_bench_model(path: Path) -> BenchModel:
    """A model folder (with its weights) or a spec YAML (freshly initialised weights)."""
    from gensynth.modeldir import load_model_dir
    from gensynth.prototypes import load_spec

    if path.is_dir():
        loaded = load_model_dir(path)
        spec, module, weights = loaded.spec, loaded.model, "trained"
    elif path.is_file():
        spec = load_spec(path)
        module, weights = spec.build().eval(), "random"
    else:
        raise ConfigError(
            f"{str(path)!r} does not exist", hint="give a model folder or a spec.yaml"
        )
    return BenchModel(path.name, spec, module, _macs(spec), weights)


#: Hand designs a model is compared with at its own MACs: scaled into its band first.
SCALED = ("plain", "anet")


def baseline_model(name: str, like: ArchSpec) -> BenchModel:
    """The reference net ``name`` at ``like``'s input shape and class count.

    The hand designs (``plain``, ``anet``) are repaired into ``like``'s MACs ± 5%, the way a
    search's reference is, so the comparison is at the same compute; the large references
    (``resnet50``, ``unet``) are timed as they are.
    """
    from gensynth.constraints import FlopsBand, repair
    from gensynth.prototypes import reference_spec

    spec = reference_spec(
        name,
        in_channels=like.in_channels,
        input_size=like.input_size,
        num_classes=like.num_classes,
    )
    if name in SCALED:
        result = repair(spec, FlopsBand(_macs(like), 0.05))
        if not result.feasible:
            raise ConfigError(
                f"--baseline {name}: cannot be scaled to the model's {_macs(like):,} MACs "
                f"({result.reason})",
                hint="use --baseline resnet50 (timed as it is)",
            )
        spec = result.spec
    return BenchModel(name, spec, spec.build().eval(), _macs(spec), "random")
