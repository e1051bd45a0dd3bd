"""The synthetic NEU-like data set: generation in memory, and writing it in the NEU layouts.

Layouts written by :func:`synthesize` (both read back by the built-in loaders):

- ``task="classify"``: NEU-CLS, one flat folder ``Cr_1.bmp`` … ``Sc_N.bmp`` (8-bit grey),
  and every image's defect mask beside it as ``masks/Cr_1.png`` (0 or 255). The ``neu-cls``
  loader picks the ``masks/`` folder up when it exists.
- ``task="segment"``: NEU-Seg / SD-saliency-900, ``Source Images/In_1.bmp`` with
  ``Ground truth/In_1.png`` (0 or 255), classes inclusion, patches and scratches.

``preview=True`` adds ``preview/preview_<class>.png``, a 4×3 contact sheet of the first
images of each class (the loaders ignore that folder and the ``gensynth-synth.json`` note).

Each image has its own random stream, ``SeedSequence([seed, class, index])``, so a file
does not depend on how many others are written, and the same seed gives identical bytes.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np

from gensynth.constraints.quantities import MIN_INPUT_SIZE, parse_positive_int
from gensynth.data._classes import NEU_CLASSES, NEU_PREFIX, SEG_CLASSES
from gensynth.data._defects import inject_defect
from gensynth.data._texture import clean_background
from gensynth.errors import ConfigError

__all__ = [
    "MANIFEST",
    "SYNTH_VERSION",
    "SynthReport",
    "generate_sample",
    "generate_set",
    "synth_classes",
    "synthesize",
]

#: Bumped whenever generated pixels change, so caches and fingerprints change with them.
SYNTH_VERSION = 2
#: Leading word of every image's seed sequence; kept fixed so that a version bump for a
#: cache-format change does not redraw every image.
_STREAM = 1
MANIFEST = "gensynth-synth.json"
PREVIEW_COUNT, PREVIEW_COLUMNS = 12, 4
MIN_SIZE, MAX_SIZE = MIN_INPUT_SIZE, 1024
Task = Literal["classify", "segment"]
Progress = Callable[[int, int], None]


@dataclasses.dataclass(frozen=True)
class SynthReport:
    """What :func:`synthesize` wrote: counts per class, timing and the paths to look at."""

    out: Path
    task: Task
    counts: dict[str, int]
    size: int
    seed: int
    seconds: float
    image_dir: Path
    mask_dir: Path
    manifest: Path
    previews: tuple[Path, ...] = ()

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def synth_classes(task: str) -> tuple[str, ...]:
    """The classes of the synthetic set for ``task``: six for classify, three for segment."""
    if task == "classify":
        return NEU_CLASSES
    if task == "segment":
        return SEG_CLASSES
    raise ConfigError(f"task: expected 'classify' or 'segment', got {task!r}")


def generate_sample(
    seed: int, defect_class: str, index: int, size: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    """One synthetic image and its 0/1 mask (uint8, ``size``²), fixed by (seed, class, index)."""
    code = NEU_CLASSES.index(defect_class)
    rng = np.random.default_rng(np.random.SeedSequence([_STREAM, seed, code, index]))
    image, mask = inject_defect(
        clean_background(rng, size), defect_class, rng, scale=rng.uniform(0.7, 1.35)
    )
    turns = int(rng.integers(4))
    image, mask = np.rot90(image, turns), np.rot90(mask, turns)
    if rng.random() < 0.5:
        image, mask = image[:, ::-1], mask[:, ::-1]
    return np.ascontiguousarray(image), np.ascontiguousarray(mask)


def generate_set(
    task: Task, *, per_class: int, size: int, seed: int, progress: Progress | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """The whole synthetic set in memory: images, masks, labels and NEU-style file names."""
    classes = synth_classes(task)
    total = per_class * len(classes)
    images = np.empty((total, size, size), np.uint8)
    masks = np.empty((total, size, size), np.uint8)
    labels = np.repeat(np.arange(len(classes), dtype=np.int64), per_class)
    names = []
    for k, name in enumerate(classes):
        for i in range(per_class):
            row = k * per_class + i
            images[row], masks[row] = generate_sample(seed, name, i + 1, size)
            names.append(f"{NEU_PREFIX[name]}_{i + 1}")
            if progress is not None:
                progress(row + 1, total)
    return images, masks, labels, names


def _check_args(task: str, per_class: int, size: int) -> tuple[int, int]:
    synth_classes(task)
    per_class = parse_positive_int(per_class, what="--per-class")
    size = parse_positive_int(size, what="--size")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ConfigError(
            f"--size: expected an image size from {MIN_SIZE} to {MAX_SIZE} pixels, got {size}",
            hint="NEU images are 200",
        )
    return per_class, size


def synthesize(
    out: Path,
    *,
    task: Task = "classify",
    per_class: int = 300,
    size: int = 200,
    seed: int = 0,
    overwrite: bool = False,
    preview: bool = False,
    progress: Progress | None = None,
) -> SynthReport:
    """Write the synthetic NEU-like set to ``out`` in the NEU-CLS or NEU-Seg layout.

    Refuses a non-empty ``out`` unless ``overwrite``; then files of the same name are
    replaced and nothing else is deleted. ``preview`` adds one contact sheet per class
    under ``out/preview/``. Same arguments -> byte-identical files.
    """
    from gensynth.paths import prepare_out_dir

    per_class, size = _check_args(task, per_class, size)
    start = time.perf_counter()
    prepare_out_dir(Path(out), overwrite=overwrite)
    image_dir, mask_dir = _layout(Path(out), task)
    samples = _write_images(image_dir, mask_dir, task, per_class, size, seed, progress)
    manifest = _write_manifest(Path(out), task, per_class, size, seed)
    previews = write_previews(Path(out) / "preview", samples) if preview else ()
    return SynthReport(
        out=Path(out),
        task=task,
        counts=dict.fromkeys(synth_classes(task), per_class),
        size=size,
        seed=seed,
        seconds=time.perf_counter() - start,
        image_dir=image_dir,
        mask_dir=mask_dir,
        manifest=manifest,
        previews=previews,
    )


def _write_images(
    image_dir: Path,
    mask_dir: Path,
    task: str,
    per_class: int,
    size: int,
    seed: int,
    progress: Progress | None,
) -> dict[str, list[np.ndarray]]:
    """Write every image (8-bit BMP) and mask (PNG, 0/255); return the first few per class."""
    from PIL import Image

    image_dir.mkdir(parents=True, exist_ok=True)
    mask_dir.mkdir(parents=True, exist_ok=True)
    classes = synth_classes(task)
    total = per_class * len(classes)
    firsts: dict[str, list[np.ndarray]] = {name: [] for name in classes}
    for k, name in enumerate(classes):
        for i in range(1, per_class + 1):
            image, mask = generate_sample(seed, name, i, size)
            stem = f"{NEU_PREFIX[name]}_{i}"
            Image.fromarray(image, "L").save(image_dir / f"{stem}.bmp", format="BMP")
            Image.fromarray(mask * 255, "L").save(mask_dir / f"{stem}.png", format="PNG")
            if i <= PREVIEW_COUNT:
                firsts[name].append(image)
            if progress is not None:
                progress(k * per_class + i, total)
    return firsts


def _layout(out: Path, task: str) -> tuple[Path, Path]:
    if task == "segment":
        return out / "Source Images", out / "Ground truth"
    return out, out / "masks"


def _write_manifest(out: Path, task: str, per_class: int, size: int, seed: int) -> Path:
    """A small JSON note of how the set was made; no timestamps, so bytes stay reproducible."""
    path = out / MANIFEST
    info = {
        "generator": "gensynth synthetic NEU-like steel defects",
        "version": SYNTH_VERSION,
        "task": task,
        "layout": "neu-seg" if task == "segment" else "neu-cls",
        "classes": list(synth_classes(task)),
        "per_class": per_class,
        "size": size,
        "seed": seed,
    }
    path.write_text(json.dumps(info, indent=2) + "\n")
    return path


def contact_sheet(
    images: list[np.ndarray], columns: int = PREVIEW_COLUMNS, gap: int = 4
) -> np.ndarray:
    """Tile equally sized grey images into one uint8 sheet with white gaps."""
    rows = -(-len(images) // columns)
    h, w = images[0].shape
    sheet = np.full((rows * (h + gap) + gap, columns * (w + gap) + gap), 255, np.uint8)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        sheet[gap + r * (h + gap) : gap + r * (h + gap) + h, gap + c * (w + gap) :][:, :w] = image
    return sheet


def write_previews(folder: Path, samples: dict[str, list[np.ndarray]]) -> tuple[Path, ...]:
    """One contact sheet per class, ``preview_<class>.png``, of the first images written."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, images in samples.items():
        if not images:
            continue
        path = folder / f"preview_{name}.png"
        Image.fromarray(contact_sheet(images), "L").save(path, format="PNG", optimize=True)
        paths.append(path)
    return tuple(paths)
