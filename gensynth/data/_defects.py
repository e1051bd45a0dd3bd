"""Synthetic surface defects of the six NEU classes, pasted onto a steel image with a mask.

Each generator returns a *shade* map in [-1, 1] (negative darkens towards black, positive
brightens towards white, in proportion to the local grey level) and a boolean mask of the
pixels where the defect is visible. Sizes are given for a 200-pixel image and scale with the
image size and with ``scale``. The rolling direction is x (see ``_texture``).

Classes are made to overlap in appearance as the real ones do: short inclusions look like
large pits, thin rolled-in-scale flakes look like broken crazing cracks, small patches look
like scale, and a model has to learn the differences in shape statistics, not in brightness.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

from gensynth.data._classes import NEU_CLASSES, NEU_PREFIX
from gensynth.data._texture import smooth_noise, upsample
from gensynth.errors import ConfigError
from gensynth.registry import closest

__all__ = ["DEFECTS", "inject_defect"]

Generator = Callable[[np.random.Generator, int, float], tuple[np.ndarray, np.ndarray]]


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    axis = np.arange(size, dtype=np.float32)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    return yy, xx


def _rotated(yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, theta: float):
    """Pixel coordinates (along, across) in a frame centred on (cy, cx), turned by ``theta``."""
    dy, dx = yy - cy, xx - cx
    c, s = np.cos(theta), np.sin(theta)
    return dx * c + dy * s, -dx * s + dy * c


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _region(rng: np.random.Generator, size: int, coverage: float) -> np.ndarray:
    """A soft blob-shaped area (values 0..1) that covers about ``coverage`` of the image."""
    yy, xx = _grid(size)
    cy, cx = rng.uniform(0.2, 0.8, size=2) * size
    radius = np.sqrt(coverage / np.pi) * size * rng.uniform(0.9, 1.2)
    aspect = rng.uniform(1.0, 2.2)
    along, across = _rotated(yy, xx, cy, cx, rng.normal(0, 0.3))
    r = np.sqrt(
        (along / (radius * np.sqrt(aspect))) ** 2 + (across * np.sqrt(aspect) / radius) ** 2
    )
    r = r + 0.25 * smooth_noise(rng, (size, size), size / 12)
    return _smoothstep((1.15 - r) / 0.35)


def _crazing(rng: np.random.Generator, size: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """A network of fine dark cracks: edges of warped, stretched Voronoi cells."""
    half = size // 2
    stretch = rng.uniform(1.2, 2.6)
    cells = int(rng.uniform(25, 70) / scale**1.5)
    pts = rng.uniform(-0.1, 1.1, size=(max(cells, 6), 2)) * half
    yy, xx = _grid(half)
    warp = rng.uniform(1.0, 3.5) * scale
    wy = yy + warp * smooth_noise(rng, (half, half), 4)
    wx = xx + warp * smooth_noise(rng, (half, half), 4)
    d = np.sqrt((wy[..., None] - pts[:, 0]) ** 2 + ((wx[..., None] - pts[:, 1]) / stretch) ** 2)
    d = np.partition(d, 1, axis=-1)
    edge = upsample(d[..., 1] - d[..., 0], (size, size))
    width = rng.uniform(0.5, 1.2)
    crack = np.exp(-((edge / width) ** 2))
    broken = _smoothstep(smooth_noise(rng, (size, size), 6) * 0.8 + rng.uniform(0.5, 1.1))
    crack = crack * broken * _region(rng, size, rng.uniform(0.5, 1.2))
    shade = -rng.uniform(0.22, 0.5) * crack
    return shade, crack > 0.35


def _inclusion(rng: np.random.Generator, size: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Elongated dark spots and streaks along the rolling direction, sometimes in a chain."""
    yy, xx = _grid(size)
    s = size / 200 * scale
    body = np.zeros((size, size), np.float32)
    rough = 0.35 * smooth_noise(rng, (size, size), 1.5 * s)
    cy0, cx0 = rng.uniform(0.15, 0.85, size=2) * size
    chain = rng.random() < 0.4
    for _ in range(int(rng.integers(1, 6))):
        if chain:
            cy, cx = cy0 + rng.normal(0, 4 * s), cx0 + rng.normal(0, 35 * s)
        else:
            cy, cx = rng.uniform(0.1, 0.9, size=2) * size
        length = rng.uniform(8, 40) * s
        width = rng.uniform(2.5, 6) * s
        along, across = _rotated(yy, xx, cy, cx, rng.normal(0, 0.2))
        r2 = (along / length) ** 2 + (across / width) ** 2 + rough
        body = np.maximum(body, _smoothstep((1.0 - r2) / 0.6) * rng.uniform(0.6, 1.0))
    shade = -rng.uniform(0.35, 0.7) * body
    return shade, body > 0.3


def _patches(rng: np.random.Generator, size: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Large irregular blotches, mostly dark, sometimes bright, with texture inside."""
    s = size / 200 * scale
    field = smooth_noise(rng, (size, size), rng.uniform(9, 20) * s)
    threshold = rng.uniform(0.1, 0.9)
    blob = _smoothstep((field - threshold) / 0.6) * _region(rng, size, rng.uniform(0.3, 0.9))
    blob = blob * (1 + 0.25 * smooth_noise(rng, (size, size), 1.5))
    depth = rng.uniform(0.35, 0.7) if rng.random() < 0.8 else -rng.uniform(0.25, 0.45)
    shade = -depth * np.clip(blob, 0, 1)
    return shade, blob > 0.35


def _pits(rng: np.random.Generator, size: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Many small dark pits, clustered in one or two areas, on a slightly darkened surface."""
    s = size / 200 * scale
    region = _region(rng, size, rng.uniform(0.15, 0.7))
    if rng.random() < 0.4:
        region = np.maximum(region, _region(rng, size, rng.uniform(0.1, 0.4)))
    count = int(rng.uniform(25, 220))
    flat = region.ravel() / region.sum()
    where = rng.choice(size * size, size=count, p=flat)
    field = np.zeros(size * size, np.float32)
    for sigma in (0.8, 1.3, 2.1):
        impulses = np.zeros(size * size, np.float32)
        chosen = where[rng.random(count) < 0.45]
        np.add.at(impulses, chosen, rng.uniform(0.5, 1.4, len(chosen)).astype(np.float32))
        sx = sigma * s * rng.uniform(1.0, 1.8)
        blurred = ndimage.gaussian_filter(impulses.reshape(size, size), (sigma * s, sx))
        field += blurred.ravel() * (2 * np.pi * sigma * s * sx)
    pits = np.clip(field.reshape(size, size), 0, 1)
    shade = -rng.uniform(0.3, 0.6) * pits - rng.uniform(0.0, 0.12) * region
    return shade, pits > 0.3


def _scale(rng: np.random.Generator, size: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Rolled-in scale: scattered irregular flakes, stretched along x, with a bright edge."""
    s = size / 200 * scale
    sy = rng.uniform(1.2, 3.0) * s
    noise = rng.standard_normal((size, size)).astype(np.float32)
    field = ndimage.gaussian_filter(noise, (sy, sy * rng.uniform(1.5, 3.5)))
    field /= field.std() + 1e-6
    region = _region(rng, size, rng.uniform(0.3, 1.0))
    flakes = _smoothstep((field - rng.uniform(1.0, 1.6)) / 0.5) * region
    flakes = np.clip(flakes * (1 + 0.3 * smooth_noise(rng, (size, size), 1.0)), 0, 1)
    rim = np.clip(np.roll(flakes, 1, axis=0) - flakes, 0, 1)
    shade = -rng.uniform(0.3, 0.6) * flakes + rng.uniform(0.0, 0.25) * rim
    return shade, flakes > 0.35


def _scratches(rng: np.random.Generator, size: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Long thin straight or slightly curved lines, bright or dark, fading along their length."""
    yy, xx = _grid(size)
    s = size / 200 * scale
    lines = np.zeros((size, size), np.float32)
    theta0 = rng.normal(0, 0.35) if rng.random() < 0.6 else rng.uniform(0, np.pi)
    for _ in range(int(rng.integers(1, 4))):
        theta = theta0 + rng.normal(0, 0.15)
        cy, cx = rng.uniform(0.15, 0.85, size=2) * size
        half = rng.uniform(0.3, 0.75) * size * min(scale, 1.4)
        along, across = _rotated(yy, xx, cy, cx, theta)
        across = across - rng.normal(0, 0.6) * (along / size) ** 2 * size * 0.3
        width = rng.uniform(1.0, 2.4) * s
        fade = _smoothstep((half - np.abs(along)) / (0.2 * half + 1))
        strength = 0.6 + 0.4 * np.clip(smooth_noise(rng, (size, size), 10), -1, 1)
        lines = np.maximum(lines, np.exp(-((across / width) ** 2)) * fade * strength)
    sign = 1.0 if rng.random() < 0.6 else -1.0
    shade = sign * rng.uniform(0.35, 0.65) * lines
    return shade, lines > 0.35


#: class name -> generator of (shade, mask).
DEFECTS: dict[str, Generator] = {
    "crazing": _crazing,
    "inclusion": _inclusion,
    "patches": _patches,
    "pitted_surface": _pits,
    "rolled-in_scale": _scale,
    "scratches": _scratches,
}


def _resolve(defect_class: str) -> str:
    """Accept a class name (``pitted_surface``) or its NEU prefix (``PS``)."""
    if defect_class in DEFECTS:
        return defect_class
    by_prefix = {p.lower(): c for c, p in NEU_PREFIX.items()}
    if defect_class.lower() in by_prefix:
        return by_prefix[defect_class.lower()]
    near = closest(defect_class, list(NEU_CLASSES))
    raise ConfigError(
        f"unknown defect class {defect_class!r}; expected one of: {', '.join(NEU_CLASSES)}",
        hint=f"did you mean {near!r}?" if near else "or a NEU prefix such as Cr or PS",
    )


def inject_defect(
    image: np.ndarray, defect_class: str, rng: np.random.Generator, *, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Paste one synthetic defect of ``defect_class`` onto a steel image; return it and its mask.

    ``image`` is a square uint8 grey image (e.g. from :func:`clean_background`), left
    unchanged. ``defect_class`` is a NEU class name (``crazing`` ... ``scratches``) or prefix
    (``Cr`` ... ``Sc``). Position, size, count, orientation and intensity are drawn from
    ``rng``; ``scale`` multiplies the defect's size (1.0 = as in the synthetic data set).
    Returns ``(uint8 image, uint8 mask)`` with mask 1 exactly where the defect is visible, so
    explanation maps can be scored against it. Same rng state -> same result.
    """
    name = _resolve(defect_class)
    if image.ndim != 2 or image.shape[0] != image.shape[1]:
        raise ConfigError(f"expected a square 2-D grey image, got shape {image.shape}")
    if not scale > 0:
        raise ConfigError(f"scale: expected a positive number, got {scale!r}")
    size = image.shape[0]
    shade, mask = DEFECTS[name](rng, size, float(scale))
    base = image.astype(np.float32)
    out = np.where(shade < 0, base * (1 + shade), base + shade * (255 - base))
    grain = rng.normal(0, 3.0, image.shape).astype(np.float32)
    out = out + grain * np.minimum(np.abs(shade) * 3, 1)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8), mask.astype(np.uint8)
