"""A model directory: spec.yaml, weights.safetensors, metrics.json, and model.onnx once exported.

Weights are safetensors only; nothing is ever unpickled.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.errors import ConfigError, DataError
from gensynth.paths import check_out_dir, require_folder, require_writable_folder
from gensynth.vocabulary import METRICS_FILE, ONNX_FILE, SPEC_FILE, WEIGHTS_FILE

if TYPE_CHECKING:
    import torch
    from torch import nn

    from gensynth.prototypes import ArchSpec

__all__ = [
    "EXPLORE_MODEL_DIR",
    "LEADERBOARD_FILE",
    "METRICS_FILE",
    "ONNX_FILE",
    "SPEC_FILE",
    "WEIGHTS_FILE",
    "LoadedModel",
    "check_explore_out",
    "check_onnx_target",
    "load_model_dir",
    "load_weights",
    "save_model_dir",
    "write_metrics",
]

#: What ``gensynth explore`` writes into its ``--out`` folder: the winner's model folder and
#: the leaderboard.
EXPLORE_MODEL_DIR = "best"
LEADERBOARD_FILE = "leaderboard.csv"


@dataclasses.dataclass
class LoadedModel:
    path: Path
    spec: ArchSpec
    model: nn.Module
    metrics: dict[str, Any]


def check_explore_out(out: Path, *, overwrite: bool) -> Path:
    """Check explore's ``--out`` before the search starts, as train checks its ``--out``.

    ``out`` must be a folder (or not exist yet) that can be written; the winner's model
    folder ``out/best``, the reference's ``out/reference``, the finalists' ``out/finalists``
    and ``out/leaderboard.csv`` must not hold earlier files unless ``overwrite``. A resumed
    study writes the same files, so it needs ``overwrite`` too.
    """
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {str(out)!r} is a file, expected a folder")
    hint = "choose a new --out, or pass --overwrite to replace them"
    best, board = out / EXPLORE_MODEL_DIR, out / LEADERBOARD_FILE
    for folder in (best, out / "reference", out / "finalists"):
        if not overwrite and folder.is_dir() and any(folder.iterdir()):
            raise ConfigError(
                f"--out {str(out)!r} already holds a model in {str(folder)!r}", hint=hint
            )
    if not overwrite and board.exists():
        raise ConfigError(f"--out {str(out)!r} already holds {str(board)!r}", hint=hint)
    check_out_dir(best, overwrite=True, what="--out model folder")
    return out


def check_onnx_target(path: Path) -> Path:
    """Refuse, before exporting, an ONNX path that is a folder or cannot be written."""
    if path.is_dir():
        raise ConfigError(f"--onnx {str(path)!r} is a folder, expected a file name")
    require_writable_folder(path.parent, what="folder for the ONNX file")
    return path


def save_model_dir(path: Path, spec: ArchSpec, model: nn.Module, metrics: dict[str, Any]) -> Path:
    """Write spec, weights and metrics into an existing folder (see prepare_out_dir).

    The weights carry the spec's hash, so a spec.yaml edited later is noticed on load. Every
    file is made with the umask's mode, so teammates can read a shared model folder.
    """
    from safetensors.torch import save

    from gensynth.prototypes import dump_spec

    path.mkdir(parents=True, exist_ok=True)
    dump_spec(spec, path / SPEC_FILE)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    (path / WEIGHTS_FILE).write_bytes(save(state, metadata={"spec_hash": spec.spec_hash}))
    write_metrics(path, metrics)
    return path


def write_metrics(path: Path, metrics: dict[str, Any]) -> None:
    """Write ``path``/metrics.json: the one place that file is written, and with it
    MODEL_CARD.md (the same facts for a person), so the two never disagree."""
    from gensynth.modelcard import MODEL_CARD_FILE, render_model_card

    text = json.dumps(metrics, indent=2, default=str) + "\n"
    (path / METRICS_FILE).write_text(text)
    (path / MODEL_CARD_FILE).write_text(render_model_card(json.loads(text)))


def _read_weights(weights: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors file; a bad file is a DataError."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(weights), framework="pt") as handle:
            metadata = handle.metadata() or {}
            return {name: handle.get_tensor(name) for name in handle.keys()}, metadata  # noqa: SIM118
    except (SafetensorError, OSError, ValueError) as err:
        raise DataError(
            f"weights {str(weights)!r} are missing or corrupt ({err})",
            hint="retrain with gensynth train, or copy the model folder again",
        ) from None


def _spec_changed(weights: Path, trained: str | None, spec_hash: str | None) -> str | None:
    """Why ``weights`` were not trained for this spec, or None when they were (or unknown)."""
    if not trained or not spec_hash or trained == spec_hash:
        return None
    return (
        f"{str(weights.parent / SPEC_FILE)!r} was changed after {weights.name} was trained "
        f"(spec hash now {spec_hash}, the weights are for {trained})"
    )


def load_weights(model: nn.Module, weights: Path, *, spec_hash: str | None = None) -> None:
    """Load safetensors weights into ``model``; a mismatch names the first bad layer.

    With ``spec_hash``, weights that carry another spec's hash are refused too: the spec was
    edited after training, and the net it builds is not the one the weights were trained for.
    """
    state, metadata = _read_weights(weights)
    changed = _spec_changed(weights, metadata.get("spec_hash"), spec_hash)
    hint = (
        f"restore the {SPEC_FILE} the model was trained with (metrics.json names it), or "
        f"retrain the edited spec: gensynth train --spec {weights.parent / SPEC_FILE} --out NEW"
        if changed
        else None
    )
    expected = model.state_dict()
    for name, tensor in expected.items():
        if name not in state:
            raise DataError(
                f"weights do not match the spec: layer {name!r} is missing"
                + (f"; {changed}" if changed else ""),
                hint=hint,
            )
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise DataError(
                f"weights do not match the spec at layer {name!r}: "
                f"expected shape {tuple(tensor.shape)}, got {tuple(state[name].shape)}"
                + (f"; {changed}" if changed else ""),
                hint=hint,
            )
    extra = sorted(set(state) - set(expected))
    if extra:
        raise DataError(f"weights do not match the spec: unexpected layer {extra[0]!r}", hint=hint)
    if changed:
        raise DataError(changed, hint=hint)
    model.load_state_dict(state)


def load_model_dir(path: Path) -> LoadedModel:
    """Read a model directory into a built model in eval mode."""
    from gensynth.prototypes import load_spec

    require_folder(path, what="model folder", hint="give a folder made by gensynth train")
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
    load_weights(model, weights, spec_hash=spec.spec_hash)
    model.eval()
    metrics: dict[str, Any] = {}
    if (path / METRICS_FILE).is_file():
        try:
            metrics = json.loads((path / METRICS_FILE).read_text())
        except json.JSONDecodeError:
            raise DataError(f"{path / METRICS_FILE} is not valid JSON") from None
    return LoadedModel(path=path, spec=spec, model=model, metrics=metrics)
