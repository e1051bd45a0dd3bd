"""The data side of INT8: the model's own training data found again, and the training
images that calibrate it.

The data must be the very files and split the model was trained on (same fingerprint):
calibration reads the TRAIN split only, and the score is taken on the TEST split.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gensynth.errors import ConfigError, DataError

if TYPE_CHECKING:
    from gensynth.data import DefectDataset
    from gensynth.modeldir import LoadedModel

__all__ = [
    "calibration_indices",
    "calibration_inputs",
    "check_calibration",
    "check_fingerprint",
    "load_training_data",
    "training_source",
]


def training_source(loaded: LoadedModel, data: str | Path | None = None) -> str:
    """Where the training data of ``loaded`` is: ``data``, else metrics.json's source; a
    DataError when it is not there (before any work)."""
    source = data if data is not None else (loaded.metrics.get("data") or {}).get("source")
    hint = "pass --data PATH with the folder the model was trained on"
    if not source:
        raise DataError(
            f"metrics.json of {str(loaded.path)!r} does not say which data trained the model",
            hint=hint,
        )
    if str(source) != "synthetic" and not Path(source).is_dir():
        raise DataError(
            f"the training data {str(source)!r} of {str(loaded.path)!r} is not reachable "
            "(INT8 calibrates on training images and is scored on the test split)",
            hint=hint,
        )
    return str(source)


def check_calibration(count: Any) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigError(f"--int8-calibration: expected a positive integer, got {count!r}")
    return count


def load_training_data(loaded: LoadedModel, data: str | Path | None = None) -> DefectDataset:
    """The data ``loaded`` was trained on, split as in training (same seed, same split file).

    ``data`` overrides the recorded source (the folder moved). The result must have the
    recorded fingerprint: other files or another split could put test images into the
    calibration, or training images into the test score.
    """
    from gensynth.data import load_dataset
    from gensynth.data.preprocess import Preprocessing

    record = loaded.metrics.get("data") or {}
    source = training_source(loaded, data)
    spec = loaded.spec
    prep = Preprocessing.from_dict(loaded.metrics.get("preprocessing"), input_size=spec.input_size)
    split_file = (record.get("split_file") or {}).get("path")
    seed = loaded.metrics.get("seed", 0)
    dataset = load_dataset(
        str(source),
        task=spec.task,
        input_size=spec.input_size,
        format=None if data is not None or record.get("format") == "synthetic"
        else record.get("format"),
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else 0,
        channels=spec.in_channels,
        resize=prep.resize,
        split=split_file,
    )  # fmt: skip
    check_fingerprint(loaded, dataset, f"the data at {str(source)!r}")
    return dataset


def check_fingerprint(loaded: LoadedModel, dataset: DefectDataset, what: str) -> None:
    """Refuse data whose files or split differ from the model's training data."""
    trained = (loaded.metrics.get("data") or {}).get("fingerprint")
    if trained and trained != dataset.fingerprint:
        raise DataError(
            f"{what} is not the data {str(loaded.path)!r} was trained on (fingerprint "
            f"{dataset.fingerprint}, expected {trained}): its split may put test images into "
            "the calibration",
            hint="pass --data PATH with the folder the model was trained on",
        )


def calibration_indices(data: DefectDataset, count: int, seed: int = 0) -> np.ndarray:
    """Indices into ``data`` of at most ``count`` TRAINING images, classes in proportion."""
    check_calibration(count)
    train = data.indices("train")
    if len(train) == 0:
        raise DataError(f"the data {data.root!r} has no training image to calibrate INT8 on")
    if len(train) <= count:
        return train
    # Each class's images in a seeded order, ranked by the share of the class taken so far:
    # the first ``count`` ranks take every class in proportion to its size.
    shuffled = np.random.default_rng(seed).permutation(train)
    labels = data.labels[shuffled]
    share = np.empty(len(shuffled))
    for value in np.unique(labels):
        where = np.flatnonzero(labels == value)
        share[where] = (np.arange(len(where)) + 0.5) / len(where)
    return np.sort(shuffled[np.argsort(share, kind="stable")[:count]])


def calibration_inputs(data: DefectDataset, indices: np.ndarray, input_size: int) -> np.ndarray:
    """The float32 model inputs of ``indices``, preprocessed exactly as training's."""
    import torch

    from gensynth.training import resize_images, to_input

    pixels = data.images[indices]
    if pixels.ndim == 3:
        pixels = pixels[:, None]
    tensor = resize_images(torch.from_numpy(np.ascontiguousarray(pixels)), input_size)
    return to_input(tensor).numpy()
