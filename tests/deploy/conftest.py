"""Fixtures of the deploy tests: tiny trained model folders (real files, real prototypes).

Each model is trained once per session (1 epoch, 32 px, on a small synthetic NEU-like folder
written to disk) and exported with its metadata; a test gets its own copy, so it may write
into the folder (``model.int8.onnx``, an edited metrics.json) without touching the others.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

SIZE = 32

CLASSIFY_SPEC: dict[str, Any] = {
    "prototype": "residual",
    "in_channels": 1,
    "input_size": SIZE,
    "num_classes": 6,
    "stem": {"width": 8, "kernel": 3, "stride": 2, "pool": False},
    "stages": [
        {"block": "inverted", "width": 16, "depth": 1, "stride": 2, "kernel": 3,
         "expansion": 2.0, "se": False},
    ],
    "act": "relu",
}  # fmt: skip
SEGMENT_SPEC: dict[str, Any] = {
    "prototype": "residual-unet",
    "in_channels": 1,
    "input_size": SIZE,
    "num_classes": 1,
    "stem": {"kind": "anet", "width": 8, "stride": 2},
    "encoder": [
        {"width": 8, "blocks": ["light"], "down": "none"},
        {"width": 16, "blocks": ["light"], "down": "anet"},
    ],
    "decoder": [{"width": 8, "blocks": ["light"], "up": "anet", "skip": True}],
    "head_width": 8,
    "residual": True,
    "act": "relu",
}


def _train(task: str, spec_dict: dict[str, Any], root: Path) -> tuple[Path, Path]:
    """A synthetic image folder and a model folder trained on it (1 epoch) and exported."""
    from gensynth.data import load_dataset, synthesize
    from gensynth.deploy import export_model_dir
    from gensynth.prototypes import spec_from_dict
    from gensynth.training import TrainConfig, train_to_dir

    images = root / f"{task}-images"
    synthesize(images, task=task, per_class=5, size=48, seed=0)  # type: ignore[arg-type]
    data = load_dataset(images, task=task, input_size=SIZE, cache_dir=root / "cache")  # type: ignore[arg-type]
    model = root / f"{task}-model"
    model.mkdir()
    config = TrainConfig.full(task, epochs=1, time_budget=None, threads=1, seed=0)
    train_to_dir(spec_from_dict(spec_dict), data, config, model, data_source=str(images))
    export_model_dir(model)
    return images, model


@pytest.fixture(scope="session")
def _trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("deploy-models")
    return {
        "classify": _train("classify", CLASSIFY_SPEC, root),
        "segment": _train("segment", SEGMENT_SPEC, root),
    }


def _copy(source: Path, tmp_path: Path, name: str) -> Path:
    target = tmp_path / name
    shutil.copytree(source, target)
    return target


@pytest.fixture
def classifier_dir(_trained: dict[str, tuple[Path, Path]], tmp_path: Path) -> Path:
    """A copy of a tiny trained, exported classifier model folder (6 classes, 32 px)."""
    return _copy(_trained["classify"][1], tmp_path, "classifier")


@pytest.fixture
def segmenter_dir(_trained: dict[str, tuple[Path, Path]], tmp_path: Path) -> Path:
    """A copy of a tiny trained, exported segmentation model folder (32 px)."""
    return _copy(_trained["segment"][1], tmp_path, "segmenter")


@pytest.fixture
def classify_images(_trained: dict[str, tuple[Path, Path]]) -> Path:
    """The NEU-CLS-like folder (48 px BMPs, 6 classes x 5) the classifier was trained on.
    Read only: shared by the session."""
    return _trained["classify"][0]


@pytest.fixture
def segment_images(_trained: dict[str, tuple[Path, Path]]) -> Path:
    """The NEU-Seg-like folder (``Source Images/``, ``Ground truth/``) of the segmenter.
    Read only: shared by the session."""
    return _trained["segment"][0]
