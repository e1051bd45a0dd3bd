"""The report's PNG images: input, defect-mask outline, heat-map overlay, critical region."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from gensynth.explain._audit import AuditResult

__all__ = ["critical_image", "heat_image", "mask_image", "write_sample_images"]

MASK_COLOUR = np.array([0, 230, 255], np.float32)  # cyan: the known defect
FOUND_COLOUR = np.array([255, 40, 40], np.float32)  # red: a critical region with impact
MISSED_COLOUR = np.array([255, 170, 0], np.float32)  # amber: the largest region, no impact


@functools.cache
def _lut() -> np.ndarray:
    """The 'inferno' colour map as a (256, 3) float table."""
    from matplotlib import colormaps

    return colormaps["inferno"](np.linspace(0.0, 1.0, 256))[:, :3].astype(np.float32) * 255


def _rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(image.astype(np.float32)[..., None], 3, axis=2)


def _outline(mask: np.ndarray) -> np.ndarray:
    from scipy import ndimage

    inside = np.asarray(mask) > 0
    return inside & ~ndimage.binary_erosion(inside)


def _tint(rgb: np.ndarray, where: np.ndarray, colour: np.ndarray, alpha: float) -> np.ndarray:
    rgb[where] = rgb[where] * (1 - alpha) + colour * alpha
    return rgb


def _finish(rgb: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    if mask is not None:
        rgb = _tint(rgb, _outline(mask), MASK_COLOUR, 1.0)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def mask_image(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The input with the defect mask lightly filled and outlined in cyan."""
    return _finish(_tint(_rgb(image), np.asarray(mask) > 0, MASK_COLOUR, 0.25), mask)


def heat_image(image: np.ndarray, attribution: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The evidence map over the input (inferno, stronger = more opaque), mask outlined."""
    energy = np.clip(np.nan_to_num(attribution.astype(np.float32)), 0, None)
    top = float(energy.max())
    norm = energy / top if top > 0 else energy
    colour = _lut()[np.clip((norm * 255).astype(np.int64), 0, 255)]
    alpha = (0.25 + 0.6 * norm)[..., None]
    return _finish(_rgb(image) * (1 - alpha) + colour * alpha, mask)


def critical_image(
    image: np.ndarray, region: np.ndarray, found: bool, mask: np.ndarray | None
) -> np.ndarray:
    """The input with the critical region tinted: red when it had impact, amber when not."""
    rgb = _rgb(image)
    inside = np.asarray(region) > 0
    colour = FOUND_COLOUR if found else MISSED_COLOUR
    rgb = _tint(rgb, inside, colour, 0.5)
    rgb = _tint(rgb, _outline(inside), colour, 1.0)
    return _finish(rgb, mask)


def _save(array: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray(array).save(path, optimize=False, compress_level=6)


def write_sample_images(out: Path, result: AuditResult, i: int, files: dict[str, Any]) -> None:
    """Write every PNG of sample ``i`` under ``out`` at the paths ``files`` names."""
    (out / files["input"]).parent.mkdir(parents=True, exist_ok=True)
    image = result.images[i]
    mask = None if result.masks is None else result.masks[i]
    _save(image, out / files["input"])
    if mask is not None and "mask" in files:
        _save(mask_image(image, mask), out / files["mask"])
    for name, method in result.methods.items():
        _save(heat_image(image, method.maps[i], mask), out / files[name]["heat"])
        crit = critical_image(
            image, method.critical.regions[i], bool(method.critical.found[i]), mask
        )
        _save(crit, out / files[name]["crit"])
