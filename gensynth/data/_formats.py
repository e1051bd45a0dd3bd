"""Data-set layouts on disk: a registry of format readers, and auto-detection of a folder.

A reader turns a folder into a :class:`Scan`: the images it found (paths relative to the
root), each with its class and where its mask comes from, plus the problems it could see
without decoding anything (unknown class prefix, image without mask, empty class folder).
Decoding, and the problems only decoding finds, happen in ``_decode``.
"""

from __future__ import annotations

import abc
import dataclasses
import os
from pathlib import Path
from typing import Literal

from gensynth.data._classes import HIDDEN, natural_key
from gensynth.errors import ConfigError, DataError
from gensynth.registry import Registry

__all__ = [
    "DETECT_ORDER",
    "FORMATS",
    "FormatReader",
    "Item",
    "MaskKind",
    "Problem",
    "Scan",
    "detect_format",
    "scan_folder",
]

#: ``pixel``: a mask image per sample; ``boxes``: VOC boxes, filled; None: no masks.
MaskKind = Literal["pixel", "boxes"] | None


@dataclasses.dataclass(frozen=True)
class Item:
    """One sample on disk: image path, class name and mask source, relative to the root."""

    image: str
    label: str
    mask: str | None = None
    boxes: str | None = None


@dataclasses.dataclass(frozen=True)
class Problem:
    """A bad file (or folder), by path relative to the root, and what is wrong with it."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclasses.dataclass
class Scan:
    """What a reader found in a folder, before any image is decoded."""

    format: str
    root: Path
    class_names: tuple[str, ...]
    items: list[Item]
    problems: list[Problem]
    mask_kind: MaskKind
    mask_threshold: int = 0


class FormatReader(abc.ABC):
    """Reads one layout. Subclasses set ``name`` and ``layout`` and implement two methods."""

    name: str = ""
    #: One line describing the layout, listed when no layout matches a folder.
    layout: str = ""

    @abc.abstractmethod
    def detect(self, root: Path) -> bool:
        """Whether ``root`` looks like this layout (cheap: directory listings only)."""

    @abc.abstractmethod
    def scan(self, root: Path) -> Scan:
        """Every image with its class and mask source, and the problems seen so far."""


FORMATS: Registry[FormatReader] = Registry("data format")
#: Most specific first: a NEU-DET or magnetic-tile folder would also pass for generic class
#: folders (with the magnetic tile's PNG masks taken for images).
DETECT_ORDER = ("neu-seg", "neu-det", "generic-seg", "magnetic-tile", "neu-cls", "generic-cls")


def _has_files(root: Path) -> bool:
    """Whether any visible file lies in ``root`` or below (stops at the first one)."""
    for _, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(HIDDEN)]
        if any(not f.startswith(HIDDEN) for f in files):
            return True
    return False


def _check_root(root: Path) -> None:
    if not root.exists():
        raise ConfigError(f"data folder {str(root)!r} does not exist", hint="check the path")
    if not root.is_dir():
        raise ConfigError(
            f"data path {str(root)!r} is a file, expected a folder of images",
            hint="pass the folder that holds the images",
        )
    if not _has_files(root):
        raise DataError(
            f"data folder {str(root)!r} is empty, expected images in a supported layout",
            hint="see gensynth data check --help for the layouts",
        )


def _layouts() -> str:
    return "; ".join(FORMATS.get(name).layout for name in DETECT_ORDER)


def detect_format(root: Path) -> str:
    """The name of the first layout (in :data:`DETECT_ORDER`) that ``root`` matches."""
    _check_root(root)
    for name in DETECT_ORDER:
        if FORMATS.get(name).detect(root):
            return name
    hint = "pass --format NAME if the layout is one of these"
    subdirs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(HIDDEN)]
    if len(subdirs) == 1:
        inner = next((n for n in DETECT_ORDER if FORMATS.get(n).detect(subdirs[0])), None)
        if inner:
            hint = f"did you mean {str(subdirs[0])!r}? it looks like {inner}"
    raise DataError(
        f"data folder {str(root)!r} matches no known layout; looked for: {_layouts()}", hint=hint
    )


def scan_folder(root: Path, format: str | None = None) -> Scan:
    """Detect (or take) the format of ``root`` and scan it; items in class, then name order."""
    root = Path(root)
    if format is None:
        format = detect_format(root)
    else:
        reader = FORMATS.get(format)
        _check_root(root)
        if not reader.detect(root):
            raise DataError(
                f"data folder {str(root)!r} is not in the {format} layout; "
                f"expected {reader.layout}",
                hint="leave out --format to detect the layout",
            )
    scan = FORMATS.get(format).scan(root)
    rank = {name: k for k, name in enumerate(scan.class_names)}
    scan.items.sort(key=lambda item: (rank[item.label], natural_key(item.image)))
    scan.problems.sort(key=lambda p: natural_key(p.path))
    return scan
