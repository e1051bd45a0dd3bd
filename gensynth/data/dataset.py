"""The in-memory defect data set every consumer (search, training, explain) reads."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np

from gensynth.data.preprocess import Preprocessing
from gensynth.errors import DataError
from gensynth.vocabulary import Task

__all__ = ["SPLITS", "DefectDataset", "Split"]

Split = Literal["train", "val", "test"]
SPLITS: tuple[Split, ...] = ("train", "val", "test")
_SPLIT_CODE = {"train": 0, "val": 1, "test": 2}


@dataclasses.dataclass(frozen=True, eq=False)
class DefectDataset:
    """Decoded images at one input size, with labels, optional masks and a fixed split.

    - ``images``: uint8 ``(N, H, W)`` grayscale or ``(N, 3, H, W)`` RGB, already through the
      preprocessing (channels, resize policy, input size: :attr:`preprocessing`).
    - ``labels``: int64 ``(N,)`` index into ``class_names`` (for segmentation: the defect type).
    - ``masks``: uint8 ``(N, H, W)`` with 1 on defect pixels, or None where unknown.
    - ``split``: int8 ``(N,)`` with 0 train, 1 val, 2 test (seeded, stratified, recorded).
    - ``fingerprint``: hash of the file list, labels, split and size; goes into studies/models.
    - ``skipped``: paths (relative to ``root``) of bad files left out by ``skip_bad``.
    - ``resize``: the resize policy the images went through (``stretch``, ``pad``, ``crop``).
    - ``split_file``: ``{"path", "sha256"}`` of the ``--split`` file the split came from, or
      None for the seeded split.
    """

    task: Task
    format: str
    root: str
    class_names: tuple[str, ...]
    images: np.ndarray
    labels: np.ndarray
    masks: np.ndarray | None
    split: np.ndarray
    paths: tuple[str, ...]
    fingerprint: str
    skipped: tuple[str, ...] = ()
    resize: str = "stretch"
    split_file: dict[str, str] | None = None

    def __post_init__(self) -> None:
        n = len(self.images)
        if len(self.labels) != n or len(self.split) != n or len(self.paths) != n:
            raise DataError("images, labels, split and paths must have the same length")
        if self.images.ndim not in (3, 4):
            raise DataError(f"images: expected (N, H, W) or (N, C, H, W), got {self.images.shape}")
        plane = (n, *self.images.shape[-2:])
        if self.masks is not None and self.masks.shape != plane:
            raise DataError(f"masks must match images, expected {plane}, got {self.masks.shape}")

    @property
    def channels(self) -> int:
        """1 for grayscale ``(N, H, W)`` images, else their channel count."""
        return 1 if self.images.ndim == 3 else int(self.images.shape[1])

    @property
    def preprocessing(self) -> Preprocessing:
        """How an image file became one of :attr:`images` (recorded with every model)."""
        resize: Any = self.resize
        return Preprocessing(channels=self.channels, input_size=self.input_size, resize=resize)

    @property
    def input_size(self) -> int:
        return int(self.images.shape[-1])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.images)

    def check_task(self, task: str) -> None:
        """Raise DataError when this data cannot train or test a ``task`` network."""
        if task == "segment" and self.masks is None:
            raise DataError(
                f"a segmentation network needs defect masks; the data {self.root!r} "
                f"({self.format}) has none",
                hint="use segmentation data (images/ + masks/, NEU-Seg, magnetic tiles), "
                "or --task classify",
            )
        if task == "classify" and self.num_classes < 2:
            raise DataError(
                f"the data {self.root!r} has {self.num_classes} class, expected at least 2 "
                "to classify",
                hint="add a folder per class (gensynth data check PATH lists what it found)",
            )

    def indices(self, split: Split) -> np.ndarray:
        """Sample indices of one split, in stored order."""
        return np.flatnonzero(self.split == _SPLIT_CODE[split])

    def subset(self, split: Split) -> DefectDataset:
        """A data set view holding one split only (same fingerprint)."""
        idx = self.indices(split)
        return dataclasses.replace(
            self,
            images=self.images[idx],
            labels=self.labels[idx],
            masks=None if self.masks is None else self.masks[idx],
            split=self.split[idx],
            paths=tuple(self.paths[i] for i in idx),
        )

    def counts(self) -> dict[str, dict[str, int]]:
        """``{class: {split: count}}`` for reporting."""
        table: dict[str, dict[str, int]] = {}
        for k, name in enumerate(self.class_names):
            of_class = self.labels == k
            table[name] = {
                split: int(np.sum(of_class & (self.split == code)))
                for split, code in _SPLIT_CODE.items()
            }
        return table
