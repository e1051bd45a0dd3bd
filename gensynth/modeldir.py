"""A model directory: spec.yaml, weights.safetensors, metrics.json, and model.onnx once exported.

Weights are safetensors only; nothing is ever unpickled.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.errors import ConfigError, DataError

if TYPE_CHECKING:
    from torch import nn

    from gensynth.prototypes import ArchSpec

__all__ = [
    "METRICS_FILE",
    "ONNX_FILE",
    "SPEC_FILE",
    "WEIGHTS_FILE",
    "LoadedModel",
    "load_model_dir",
    "load_weights",
    "prepare_out_dir",
    "save_model_dir",
]

SPEC_FILE = "spec.yaml"
WEIGHTS_FILE = "weights.safetensors"
METRICS_FILE = "metrics.json"
ONNX_FILE = "model.onnx"


@dataclasses.dataclass
class LoadedModel:
    path: Path
    spec: ArchSpec
    model: nn.Module
    metrics: dict[str, Any]


def prepare_out_dir(path: Path, *, overwrite: bool, what: str = "output folder") -> Path:
    """Create ``path``; refuse a non-empty folder unless ``overwrite`` (never deletes files)."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {str(path)!r} is a file, expected a folder")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise ConfigError(
            f"{what} {str(path)!r} exists and is not empty",
            hint="choose a new folder, or pass --overwrite to write into it",
        )
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_model_dir(path: Path, spec: ArchSpec, model: nn.Module, metrics: dict[str, Any]) -> Path:
    """Write spec, weights and metrics into an existing folder (see prepare_out_dir)."""
    from safetensors.torch import save_file

    from gensynth.prototypes import dump_spec

    path.mkdir(parents=True, exist_ok=True)
    dump_spec(spec, path / SPEC_FILE)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(path / WEIGHTS_FILE), metadata={"spec_hash": spec.spec_hash})
    (path / METRICS_FILE).write_text(json.dumps(metrics, indent=2, default=str) + "\n")
    return path


def load_weights(model: nn.Module, weights: Path) -> None:
    """Load safetensors weights into ``model``; a mismatch names the first bad layer."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        state = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as err:
        raise DataError(
            f"weights {str(weights)!r} are missing or corrupt ({err})",
            hint="retrain with gensynth train, or copy the model folder again",
        ) from None
    expected = model.state_dict()
    for name, tensor in expected.items():
        if name not in state:
            raise DataError(f"weights do not match the spec: layer {name!r} is missing")
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise DataError(
                f"weights do not match the spec at layer {name!r}: "
                f"expected shape {tuple(tensor.shape)}, got {tuple(state[name].shape)}"
            )
    extra = sorted(set(state) - set(expected))
    if extra:
        raise DataError(f"weights do not match the spec: unexpected layer {extra[0]!r}")
    model.load_state_dict(state)


def load_model_dir(path: Path) -> LoadedModel:
    """Read a model directory into a built model in eval mode."""
    from gensynth.prototypes import load_spec

    if not path.is_dir():
        raise ConfigError(f"model folder {str(path)!r} does not exist", hint="check the path")
    if not (path / SPEC_FILE).is_file():
        raise DataError(f"model folder {str(path)!r} has no {SPEC_FILE}")
    weights = path / WEIGHTS_FILE
    if not weights.is_file():
        raise DataError(
            f"model folder {str(path)!r} has no {WEIGHTS_FILE}",
            hint="train it first: gensynth train --spec SPEC.yaml --out MODEL_DIR",
        )
    spec = load_spec(path / SPEC_FILE)
    model = spec.build()
    load_weights(model, weights)
    model.eval()
    metrics: dict[str, Any] = {}
    if (path / METRICS_FILE).is_file():
        try:
            metrics = json.loads((path / METRICS_FILE).read_text())
        except json.JSONDecodeError:
            raise DataError(f"{path / METRICS_FILE} is not valid JSON") from None
    return LoadedModel(path=path, spec=spec, model=model, metrics=metrics)
