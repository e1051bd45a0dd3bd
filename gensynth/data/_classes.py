"""The NEU defect classes, their file-name prefixes, and file-name helpers shared by loaders."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = [
    "HIDDEN",
    "IMAGE_EXTS",
    "NEU_CLASSES",
    "NEU_PREFIX",
    "PREFIX_TO_CLASS",
    "SEG_CLASSES",
    "is_image",
    "natural_key",
    "split_numbered_stem",
]

#: The six NEU surface-defect classes, in the order labels use.
NEU_CLASSES: tuple[str, ...] = (
    "crazing",
    "inclusion",
    "patches",
    "pitted_surface",
    "rolled-in_scale",
    "scratches",
)
#: NEU-CLS / NEU-Seg file-name prefix of each class (``Cr_1.bmp``).
NEU_PREFIX: dict[str, str] = {
    "crazing": "Cr",
    "inclusion": "In",
    "patches": "Pa",
    "pitted_surface": "PS",
    "rolled-in_scale": "RS",
    "scratches": "Sc",
}
#: Lower-cased prefix -> class name; prefixes are matched case-insensitively.
PREFIX_TO_CLASS: dict[str, str] = {p.lower(): c for c, p in NEU_PREFIX.items()}
#: The three classes of NEU-Seg / SD-saliency-900.
SEG_CLASSES: tuple[str, ...] = ("inclusion", "patches", "scratches")

#: Names the loaders never read: dot files, and folders like __MACOSX that zip tools leave.
HIDDEN = (".", "__")
IMAGE_EXTS: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})

_NUMBERED = re.compile(r"^(?P<name>.+?)_(?P<n>\d+)$")
_DIGITS = re.compile(r"(\d+)")


def is_image(path: Path) -> bool:
    """Whether ``path`` is a visible file with an image extension we decode."""
    return path.suffix.lower() in IMAGE_EXTS and not path.name.startswith(HIDDEN)


def split_numbered_stem(stem: str) -> tuple[str, int] | None:
    """``rolled-in_scale_12`` -> (``rolled-in_scale``, 12); None without a trailing ``_N``."""
    match = _NUMBERED.match(stem)
    if not match:
        return None
    return match.group("name"), int(match.group("n"))


def natural_key(text: str) -> tuple[tuple[int, str | int], ...]:
    """Sort key that orders ``Cr_2`` before ``Cr_10`` (numbers compared as numbers)."""
    parts = _DIGITS.split(text)
    return tuple((1, int(p)) if p.isdigit() else (0, p) for p in parts)
