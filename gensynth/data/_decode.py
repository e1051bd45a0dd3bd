"""Decoding: images through the preprocessing (channels, resize policy, input size), masks
to 0/1 through the same geometry, VOC boxes to filled masks.

Every failure becomes a :class:`Problem` naming the file, never an exception, so that one
pass reports every bad file and ``skip_bad`` can leave them out.
"""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import numpy as np

from gensynth.data._formats import Item, Problem, Scan
from gensynth.data.preprocess import Preprocessing, geometry_of, prepare_image, prepare_mask

__all__ = ["BadFile", "Decoded", "decode_image", "decode_items", "decode_mask", "voc_boxes"]

Progress = Callable[[int, int], None]


class BadFile(Exception):
    """Raised inside this module for a file that cannot be used; turned into a Problem."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.problem = Problem(path, reason)


@dataclasses.dataclass
class Decoded:
    """The decoded usable samples of a scan, in scan order, and the files that failed."""

    images: np.ndarray  # uint8 (n_ok, size, size) grey, or (n_ok, 3, size, size) RGB
    masks: np.ndarray | None  # uint8 0/1 (n_ok, size, size)
    ok: np.ndarray  # int64 indices into scan.items
    sizes: np.ndarray  # int32 (n_items, 2): original (width, height); -1 where unreadable
    problems: list[Problem]


def _open(path: Path, rel: str):
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(path)
        image.load()
    except UnidentifiedImageError:
        raise BadFile(rel, "not a readable image (unknown or corrupt format)") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        text = str(err)
        reason = "truncated image" if "truncated" in text.lower() else f"corrupt image ({text})"
        raise BadFile(rel, reason) from None
    return image


def _gray(image):
    """Any PIL mode to 8-bit grey; 16-bit and float images are scaled by their maximum."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(image, dtype=np.float32)
        top = float(arr.max()) or 1.0
        from PIL import Image

        return Image.fromarray(np.clip(arr / top * 255, 0, 255).astype(np.uint8), "L")
    return image.convert("L")


def _prep(prep: Preprocessing | int) -> Preprocessing:
    """A bare input size means the default preprocessing (grey, stretched) at that size."""
    return prep if isinstance(prep, Preprocessing) else Preprocessing(input_size=int(prep))


def decode_image(
    path: Path, rel: str, prep: Preprocessing | int
) -> tuple[np.ndarray, tuple[int, int]]:
    """One image through :func:`~gensynth.data.preprocess.prepare_image`: uint8 ``(S, S)``
    grey or ``(3, S, S)`` RGB, and its original (width, height)."""
    with _open(path, rel) as image:
        original = image.size
        array = prepare_image(image, _prep(prep))
    return array, original


_CUT = "its defect lies outside the centre square that --resize crop keeps"


def decode_mask(
    path: Path, rel: str, prep: Preprocessing | int, expected: tuple[int, int], threshold: int
) -> np.ndarray:
    """A mask image as 0/1 through its image's geometry (nearest); its size must equal its
    image's. A defect never vanishes (see :func:`~gensynth.data.preprocess.prepare_mask`);
    one that a crop would cut away entirely makes the file bad, not defect-free.
    """
    with _open(path, rel) as image:
        if image.size != expected:
            w, h = image.size
            raise BadFile(
                rel, f"mask is {w}x{h}, expected {expected[0]}x{expected[1]} like its image"
            )
        binary = np.asarray(_gray(image), dtype=np.uint8) > threshold
    mask, cut = prepare_mask(binary, _prep(prep))
    if cut:
        raise BadFile(rel, _CUT)
    return mask


def voc_boxes(path: Path, rel: str) -> tuple[tuple[int, int] | None, list[tuple[float, ...]]]:
    """The ``<size>`` (width, height) of a PASCAL VOC file, if given, and its boxes."""
    try:
        tree = ET.parse(path)
    except (ET.ParseError, OSError) as err:
        raise BadFile(rel, f"annotation is not valid VOC XML ({err})") from None
    root = tree.getroot()
    frame = None
    width, height = root.findtext("size/width"), root.findtext("size/height")
    try:
        if width and height and float(width) > 0 and float(height) > 0:
            frame = (round(float(width)), round(float(height)))
        boxes = [
            tuple(float(box.findtext(k) or "nan") for k in ("xmin", "ymin", "xmax", "ymax"))
            for box in root.iter("bndbox")
        ]
    except ValueError:
        raise BadFile(rel, "annotation has a non-numeric size or box coordinate") from None
    if any(not np.all(np.isfinite(b)) for b in boxes):
        raise BadFile(rel, "annotation has a box without xmin, ymin, xmax and ymax")
    return frame, boxes


def box_mask(
    path: Path, rel: str, prep: Preprocessing | int, original: tuple[int, int]
) -> np.ndarray:
    """VOC boxes filled into a 0/1 mask through the image's geometry; coordinates are
    1-based, inclusive. A box cut away entirely by a crop makes the file bad."""
    prep = _prep(prep)
    frame, boxes = voc_boxes(path, rel)
    fw, fh = frame or original
    geometry = geometry_of(*original, prep)
    left, top, right, bottom = geometry.box
    (nw, nh), size = geometry.resized, prep.input_size
    # the kept box of the original, in the annotation's frame
    bx, by = left * fw / original[0], top * fh / original[1]
    bw, bh = (right - left) * fw / original[0], (bottom - top) * fh / original[1]
    mask = np.zeros((nh, nw), np.uint8)
    for xmin, ymin, xmax, ymax in boxes:
        x0, x1 = int((xmin - 1 - bx) * nw / bw), int(np.ceil((xmax - bx) * nw / bw))
        y0, y1 = int((ymin - 1 - by) * nh / bh), int(np.ceil((ymax - by) * nh / bh))
        mask[max(y0, 0) : max(y1, 0), max(x0, 0) : max(x1, 0)] = 1
    if boxes and not mask.any() and geometry.box != (0, 0, *original):
        raise BadFile(rel, _CUT)
    if (nw, nh) != (size, size):
        mask = np.pad(mask, geometry.padding, mode="edge")
    return mask


def _decode_one(scan: Scan, item: Item, prep: Preprocessing):
    root = scan.root
    image, original = decode_image(root / item.image, item.image, prep)
    mask = None
    if item.mask is not None:
        mask = decode_mask(root / item.mask, item.mask, prep, original, scan.mask_threshold)
    elif item.boxes is not None:
        mask = box_mask(root / item.boxes, item.boxes, prep, original)
    return image, mask, original


def decode_items(
    scan: Scan, prep: Preprocessing | int, progress: Progress | None = None
) -> Decoded:
    """Decode every item of ``scan`` (a bare size: grey, stretched); bad files are collected,
    not raised."""
    prep = _prep(prep)
    n, size = len(scan.items), prep.input_size
    shape = (n, size, size) if prep.channels == 1 else (n, prep.channels, size, size)
    images = np.zeros(shape, np.uint8)
    masks = np.zeros((n, size, size), np.uint8) if scan.mask_kind else None
    sizes = np.full((n, 2), -1, np.int32)
    ok, problems = [], []
    for i, item in enumerate(scan.items):
        try:
            image, mask, original = _decode_one(scan, item, prep)
        except BadFile as bad:
            problems.append(bad.problem)
        else:
            images[i], sizes[i] = image, original
            if masks is not None and mask is not None:
                masks[i] = mask
            ok.append(i)
        if progress is not None:
            progress(i + 1, n)
    keep = np.asarray(ok, dtype=np.int64)
    return Decoded(
        images=images[keep],
        masks=None if masks is None else masks[keep],
        ok=keep,
        sizes=sizes,
        problems=problems,
    )
