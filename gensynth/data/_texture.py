"""Hot-rolled steel strip texture: the defect-free background of the synthetic NEU-like set.

Convention used by the whole synthetic generator: the rolling direction runs along x
(image columns, left to right). Grain and streaks are stretched along it; defects that
follow the rolling direction (inclusion, rolled-in scale) are elongated along x too.
The sample generator turns finished images by a random multiple of 90 degrees.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["background_field", "clean_background", "finish", "smooth_noise", "upsample"]


def upsample(field: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a float32 field to ``shape`` (PIL's C code: much faster than zoom)."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(field, dtype=np.float32), "F")
    resized = image.resize((shape[1], shape[0]), Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


def smooth_noise(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Gaussian-filtered white noise with unit standard deviation (float32).

    Large ``sigma`` is drawn on a coarser grid and zoomed up, so the cost stays small.
    """
    h, w = shape
    factor = max(1, int(sigma // 3))
    noise = rng.standard_normal((-(-h // factor), -(-w // factor))).astype(np.float32)
    noise = ndimage.gaussian_filter(noise, sigma / factor, mode="wrap")
    if factor > 1:
        noise = upsample(noise, shape)
    return (noise - noise.mean()) / (noise.std() + 1e-6)


def _streaks(rng: np.random.Generator, size: int) -> np.ndarray:
    """Thin streaks along the rolling direction: noise smeared far along x, little along y."""
    length = max(3, int(rng.uniform(15, 70) * size / 200))
    noise = rng.standard_normal((size, size)).astype(np.float32)
    noise = ndimage.uniform_filter1d(noise, length, axis=1, mode="wrap")
    noise = ndimage.uniform_filter1d(noise, length, axis=1, mode="wrap")
    noise = ndimage.gaussian_filter1d(noise, rng.uniform(0.5, 1.4), axis=0, mode="wrap")
    return (noise - noise.mean()) / (noise.std() + 1e-6)


def _illumination(rng: np.random.Generator, size: int) -> np.ndarray:
    """A linear gradient in a random direction plus a soft off-centre vignette."""
    grid = (np.arange(size, dtype=np.float32) - size / 2) / size
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    cx, cy = rng.uniform(-0.5, 0.5, size=2)
    vignette = (xx - cx) ** 2 + (yy - cy) ** 2
    return rng.uniform(0, 40) * ramp - rng.uniform(0, 30) * vignette


def background_field(rng: np.random.Generator, size: int) -> np.ndarray:
    """The steel surface as float32 grey levels (about 0..255, not yet clipped or noised).

    Brightness, contrast, grain strength, streak length, mottling and illumination all vary
    from image to image, as they do between NEU photographs.
    """
    level = rng.uniform(85, 170)
    contrast = rng.uniform(0.6, 1.4)
    s = size / 200
    field = rng.uniform(3, 11) * _streaks(rng, size)
    field += rng.uniform(2.5, 8) * smooth_noise(rng, (size, size), rng.uniform(0.6, 1.3) * s)
    field += rng.uniform(3, 12) * smooth_noise(rng, (size, size), rng.uniform(12, 35) * s)
    rows = ndimage.gaussian_filter1d(rng.standard_normal(size), rng.uniform(2, 10) * s)
    field += rng.uniform(0, 5) * (rows / (rows.std() + 1e-6))[:, None].astype(np.float32)
    field = contrast * field + _illumination(rng, size)
    return (level + field).astype(np.float32)


def finish(rng: np.random.Generator, field: np.ndarray) -> np.ndarray:
    """Sensor noise, a little optical blur, clip and round: float grey levels -> uint8."""
    blur = rng.uniform(0.0, 0.8)
    if blur > 0.3:
        field = ndimage.gaussian_filter(field, blur)
    field = field + rng.normal(0, rng.uniform(1.5, 4.5), field.shape).astype(np.float32)
    return np.clip(np.rint(field), 0, 255).astype(np.uint8)


def clean_background(rng: np.random.Generator, size: int) -> np.ndarray:
    """A defect-free hot-rolled steel image, uint8 ``(size, size)``, for audits and synthesis.

    Grain and streaks run along the rolling direction (x, left to right), with sensor noise,
    illumination gradients and per-image brightness and contrast drawn from ``rng``. Paste a
    known defect on it with :func:`gensynth.data.inject_defect`.
    """
    return finish(rng, background_field(rng, size))
