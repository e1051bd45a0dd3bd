"""Images in for ``predict``: paths expanded to image files, decoded, fitted to the model.

Decoding and fitting go through :mod:`gensynth.data.preprocess`, the functions training uses,
so a deployed model sees the pixels it was trained on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gensynth.data.preprocess import Preprocessing, prepare_image
from gensynth.errors import DataError

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = ["IMAGE_EXTS", "BadImage", "Decoded", "decode", "expand_paths", "native_channels"]

#: The image files a folder is searched for (the suffixes the data loaders read).
IMAGE_EXTS: frozenset[str] = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})
_GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})


class BadImage(DataError):
    """An image file that cannot be read: named by path, with the reason."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(
            f"image {path!r}: {reason}",
            hint="fix or remove the file, or pass --skip-bad to leave bad images out",
        )
        self.path = path
        self.reason = reason


@dataclasses.dataclass(frozen=True)
class Decoded:
    """One image: its path, original (width, height), channels on disk, and model pixels."""

    path: Path
    size: tuple[int, int]
    channels: int
    pixels: np.ndarray  # uint8 (S, S) or (3, S, S)


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_EXTS and not path.name.startswith(".")


def _mask_files(folder: Path) -> set[Path]:
    """The mask files of the data set ``folder`` is (or lies in, up to two levels down) when
    that is a known layout: NEU-Seg's ``Ground truth/``, magnetic tile's PNGs beside its
    JPGs, ``masks/``. They are labels, not inputs."""
    from gensynth.data import FORMATS, detect_format

    folder = folder.resolve()
    for root in (folder, *folder.parents[:2]):
        try:
            scan = FORMATS.get(detect_format(root)).scan(root)
        except (DataError, OSError):
            continue
        return {(root / item.mask).resolve() for item in scan.items if item.mask}
    return set()


def _folder_images(folder: Path) -> list[Path]:
    masks = _mask_files(folder)
    found = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).parts
        if any(part.startswith(".") for part in rel):
            continue
        if path.is_file() and _is_image(path) and path.resolve() not in masks:
            found.append(path)
    return found


def expand_paths(paths: Iterable[str | Path]) -> list[tuple[Path, Path]]:
    """Every image named, or found (recursively, sorted) in a folder named, with the folder
    it was found in (the file's own folder when named directly). Duplicates are kept once.
    A folder that is a data set in a known layout gives its images, not its masks.

    A path that does not exist, or a folder without images, is a DataError.
    """
    seen: set[Path] = set()
    out: list[tuple[Path, Path]] = []
    given = list(paths)
    if not given:
        raise DataError("expected at least one image or folder, got none")
    for raw in given:
        path = Path(raw)
        if path.is_dir():
            images = _folder_images(path)
            if not images:
                raise DataError(
                    f"folder {str(path)!r} holds no images "
                    f"(expected {', '.join(sorted(IMAGE_EXTS))} files)",
                    hint="give image files or a folder that holds some",
                )
            pairs = [(image, path) for image in images]
        elif path.is_file():
            pairs = [(path, path.parent)]
        else:
            raise DataError(f"{str(path)!r} does not exist", hint="give image files or folders")
        for image, root in pairs:
            key = image.resolve()
            if key not in seen:
                seen.add(key)
                out.append((image, root))
    return out


def native_channels(image: PILImage.Image) -> int:
    """Channels of an image as stored: 1 for grey modes (alpha ignored), 3 for colour."""
    return 1 if image.mode in _GREY_MODES else 3


def _open(path: Path) -> PILImage.Image:
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(path)
        image.load()
    except UnidentifiedImageError:
        raise BadImage(str(path), "not a readable image (unknown or corrupt format)") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        text = str(err)
        reason = "truncated image" if "truncated" in text.lower() else f"corrupt image ({text})"
        raise BadImage(str(path), reason) from None
    return image


def decode(path: Path, prep: Preprocessing) -> Decoded:
    """One image file as model-sized uint8 pixels (see :func:`prepare_image`)."""
    with _open(path) as image:
        channels = native_channels(image)
        try:
            pixels = prepare_image(image, prep)
        except (OSError, ValueError) as err:
            raise BadImage(str(path), f"cannot be converted ({err})") from None
        return Decoded(path, (int(image.size[0]), int(image.size[1])), channels, pixels)


def mask_names(items: Sequence[tuple[Path, Path]]) -> list[str]:
    """A unique relative PNG name per image: its path below the folder it was found in."""
    names: list[str] = []
    taken: set[str] = set()
    for image, root in items:
        try:
            rel = image.relative_to(root).with_suffix(".png")
        except ValueError:
            rel = Path(image.stem + ".png")
        name, k = rel.as_posix(), 2
        while name in taken:
            name, k = rel.with_name(f"{rel.stem}-{k}.png").as_posix(), k + 1
        taken.add(name)
        names.append(name)
    return names
