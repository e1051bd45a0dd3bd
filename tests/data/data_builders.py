"""Small data folders in every supported layout, written by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from gensynth.data import NEU_CLASSES, NEU_PREFIX

SEG_PREFIXES = ("In", "Pa", "Sc")


def gray(seed: int, size: int = 200) -> np.ndarray:
    """A noise image that differs per seed."""
    return np.random.default_rng(seed).integers(0, 256, (size, size), dtype=np.uint8)


def save(path: Path, array: np.ndarray, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, format=fmt)
    return path


def rgb(seed: int, size: int) -> np.ndarray:
    g = gray(seed, size)
    return np.stack([g, g // 2, 255 - g], axis=-1)


def truncate(path: Path, keep: float = 0.5) -> Path:
    """Cut a file to a fraction of its bytes, as an interrupted copy would."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def neu_cls(root: Path, per_class: int = 5, prefixes=tuple(NEU_PREFIX.values())) -> Path:
    for k, prefix in enumerate(prefixes):
        for i in range(1, per_class + 1):
            save(root / f"{prefix}_{i}.bmp", gray(100 * k + i))
    return root


def voc(path: Path, name: str, size: tuple[int, int], boxes: list[tuple[int, int, int, int]]):
    objects = "".join(
        f"<object><name>{name}</name><bndbox><xmin>{x0}</xmin><ymin>{y0}</ymin>"
        f"<xmax>{x1}</xmax><ymax>{y1}</ymax></bndbox></object>"
        for x0, y0, x1, y1 in boxes
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"<annotation><filename>{path.stem}.jpg</filename><size><width>{size[0]}</width>"
        f"<height>{size[1]}</height><depth>3</depth></size>{objects}</annotation>"
    )


def neu_det(root: Path, per_class: int = 5, size: int = 416, classes=NEU_CLASSES) -> Path:
    """``IMAGES/<class>_N.jpg`` (RGB, ``size``²) + ``ANNOTATIONS/<class>_N.xml``."""
    for k, name in enumerate(classes):
        for i in range(1, per_class + 1):
            save(root / "IMAGES" / f"{name}_{i}.jpg", rgb(100 * k + i, size), "JPEG")
            voc(root / "ANNOTATIONS" / f"{name}_{i}.xml", name, (size, size), [(1, 1, 208, 104)])
    return root


def neu_det_variant(root: Path, per_split: dict[str, int], classes=NEU_CLASSES) -> Path:
    """``train|validation/images/<class>/<class>_N.jpg`` + ``.../annotations/*.xml``."""
    n = 0
    for split, count in per_split.items():
        for name in classes:
            for _ in range(count):
                n += 1
                save(root / split / "images" / name / f"{name}_{n}.jpg", rgb(n, 200), "JPEG")
                voc(root / split / "annotations" / f"{name}_{n}.xml", name, (200, 200), [])
    return root


def neu_seg(root: Path, per_class: int = 5) -> Path:
    for k, prefix in enumerate(SEG_PREFIXES):
        for i in range(1, per_class + 1):
            save(root / "Source Images" / f"{prefix}_{i}.bmp", gray(100 * k + i))
            mask = np.zeros((200, 200), np.uint8)
            mask[50:100, 20:60] = 255
            save(root / "Ground truth" / f"{prefix}_{i}.png", mask)
    return root


def generic_cls(root: Path, counts: dict[str, int]) -> Path:
    exts = (".png", ".jpg", ".bmp", ".tif")
    for k, (name, count) in enumerate(counts.items()):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            ext = exts[i % len(exts)]
            save(root / name / f"img{i}{ext}", gray(10 * k + i, 64 + 8 * i))
    return root


def generic_seg(root: Path, stems: list[str], size: int = 96) -> Path:
    for i, stem in enumerate(stems):
        save(root / "images" / f"{stem}.png", gray(i, size))
        mask = np.zeros((size, size), np.uint8)
        mask[: size // 4] = 1  # non-zero, not 255: still defect
        save(root / "masks" / f"{stem}.png", mask)
    return root


def magnetic_tile(
    root: Path, counts: dict[str, int], sizes: tuple[tuple[int, int], ...] = ((120, 90),)
) -> Path:
    """``MT_<class>/Imgs/<stem>.jpg`` + same-stem ``.png`` masks; ``Free`` masks are empty.

    Image ``i`` of a class has size ``sizes[i % len(sizes)]`` (width, height); a defect
    mask marks the left half of the top third (0/255), so it is easy to follow a resize.
    """
    for k, (name, count) in enumerate(counts.items()):
        folder = root / f"MT_{name}" / "Imgs"
        for i in range(count):
            w, h = sizes[i % len(sizes)]
            save(folder / f"exp{k}_num_{i}.jpg", gray(50 * k + i, max(w, h))[:h, :w], "JPEG")
            mask = np.zeros((h, w), np.uint8)
            if name != "Free":
                mask[: h // 3, : w // 2] = 255
            save(folder / f"exp{k}_num_{i}.png", mask)
    return root
