"""Builders for the search tests: a tiny learnable data set and a fast study spec."""

from __future__ import annotations

import numpy as np

from gensynth.data.dataset import DefectDataset
from gensynth.search.study_spec import ExploreOptions, resolve_options

CLASSES = ("crazing", "inclusion", "scratches")


def tiny_dataset(task: str = "classify", per_class: int = 20, size: int = 32) -> DefectDataset:
    """Each class is a bright square at its own place on noise; the mask is the square."""
    rng = np.random.default_rng(0)
    images, labels, masks, split = [], [], [], []
    for k in range(len(CLASSES)):
        for i in range(per_class):
            image = rng.normal(90, 20, (size, size)).clip(0, 255)
            mask = np.zeros((size, size), np.uint8)
            y, x = 4 + 8 * k + rng.integers(0, 3), 4 + rng.integers(0, size - 12)
            mask[y : y + 6, x : x + 6] = 1
            image[mask == 1] = 220
            images.append(image.astype(np.uint8))
            masks.append(mask)
            labels.append(k)
            split.append(0 if i < per_class * 0.6 else 1 if i < per_class * 0.8 else 2)
    return DefectDataset(
        task=task,
        format="memory",
        root="memory",
        class_names=CLASSES,
        images=np.stack(images),
        labels=np.array(labels, dtype=np.int64),
        masks=np.stack(masks),
        split=np.array(split, dtype=np.int8),
        paths=tuple(f"{CLASSES[k]}_{i}.png" for k in range(3) for i in range(per_class)),
        fingerprint=f"tiny-{task}-{per_class}-{size}",
    )


def tiny_spec(tmp_path, **overrides):
    """A study spec that trains in seconds: 32 px, 2M MACs ± 10%, 1 epoch."""
    options = dict(
        flops="2M",
        tolerance="10%",
        trials=3,
        epochs=1,
        final_epochs=1,
        storage=f"sqlite:///{tmp_path}/studies.db",
        out=str(tmp_path / "out"),
        timeout="off",
        study="tiny",
    )
    options.update(overrides)
    return resolve_options(ExploreOptions(**options))
