"""The preprocessing a model was trained with, as a record: written into metrics.json and the
ONNX metadata, read back by ``predict`` so that a deployed model sees what training saw.

One function turns a decoded PIL image into the uint8 model-sized array
(:func:`prepare_image`); :func:`normalize` turns uint8 pixels into the float model input.
Training (``data/_decode.py``) and ``predict`` both go through them. Masks go through the
same geometry (:func:`geometry_of`: crop box, resized size, padding) with
:func:`prepare_mask`, which never loses a defect in the resize, and a model-space mask goes
back onto the original image's pixels with :func:`restore_mask`.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from gensynth.errors import ConfigError

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = [
    "CHANNELS",
    "RESIZE_POLICIES",
    "Geometry",
    "Preprocessing",
    "geometry_of",
    "normalize",
    "prepare_image",
    "prepare_mask",
    "restore_mask",
]

Resize = Literal["stretch", "pad", "crop"]

#: Resize policies: ``stretch`` squashes to a square (the default, as before), ``pad`` keeps the
#: aspect ratio and pads the short side with the image's edge pixels, ``crop`` keeps the aspect
#: ratio and cuts the centre square.
RESIZE_POLICIES: tuple[str, ...] = ("stretch", "pad", "crop")
CHANNELS: tuple[int, ...] = (1, 3)

#: The float model input is ``x * SCALE + OFFSET`` on uint8 pixels x: [-1, 1].
SCALE = 1.0 / 127.5
OFFSET = -1.0


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """How an image file becomes the model's input tensor.

    ``channels``: 1 (grey) or 3 (RGB); ``input_size``: the square side the model takes;
    ``resize``: one of :data:`RESIZE_POLICIES`; pixels are then mapped to ``x * scale + offset``.
    """

    channels: int = 1
    input_size: int = 200
    resize: Resize = "stretch"
    scale: float = SCALE
    offset: float = OFFSET

    def __post_init__(self) -> None:
        if self.channels not in CHANNELS:
            raise ConfigError(
                f"channels: expected 1 (grey) or 3 (RGB), got {self.channels!r}",
                hint="pass --channels 1 or --channels 3",
            )
        if self.resize not in RESIZE_POLICIES:
            raise ConfigError(
                f"resize: expected one of {', '.join(RESIZE_POLICIES)}, got {self.resize!r}",
                hint="pass --resize stretch, pad or crop",
            )

    def describe(self) -> str:
        colour = "grayscale" if self.channels == 1 else "RGB"
        return (
            f"{colour} uint8 -> {self.resize} to {self.input_size}x{self.input_size} "
            f"(bilinear, antialias) -> x / 127.5 - 1"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "description": self.describe()}

    @classmethod
    def from_dict(cls, record: Any, *, input_size: int | None = None) -> Preprocessing:
        """From metrics.json's ``preprocessing``. Older folders hold only a text: they were
        trained on grey, stretched images (``input_size`` then comes from the caller)."""
        if isinstance(record, str) or record is None:
            return cls(channels=1, input_size=int(input_size or 200), resize="stretch")
        if not isinstance(record, dict):
            raise ConfigError(f"preprocessing: expected a mapping, got {type(record).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in record.items() if k in known}
        if input_size is not None and "input_size" not in values:
            values["input_size"] = int(input_size)
        return cls(**values)


def _to_mode(image: PILImage.Image, channels: int) -> PILImage.Image:
    """Any PIL mode to 8-bit L (channels 1) or RGB (channels 3); 16-bit and float images
    are scaled by their maximum."""
    from PIL import Image

    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(image, dtype=np.float32)
        top = float(arr.max()) or 1.0
        image = Image.fromarray(np.clip(arr / top * 255, 0, 255).astype(np.uint8), "L")
    if image.mode in ("RGBA", "LA", "P", "PA") and channels == 3:
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (0, 0, 0, 255))
        image = Image.alpha_composite(background, image)
    return image.convert("L" if channels == 1 else "RGB")


@dataclasses.dataclass(frozen=True)
class Geometry:
    """Where an image of one size lands in the square model input.

    ``box`` (left, top, right, bottom) is the part of the original that is kept (all of it,
    or the centre square for ``crop``); it is resized to ``resized`` (width, height) and
    placed at ``offset`` (left, top) of the ``size`` square; the rest is padding (``pad``).
    """

    box: tuple[int, int, int, int]
    resized: tuple[int, int]
    offset: tuple[int, int]
    size: int

    @property
    def padding(self) -> list[tuple[int, int]]:
        """numpy pad widths (rows, columns) around the resized part."""
        (nw, nh), (left, top) = self.resized, self.offset
        return [(top, self.size - nh - top), (left, self.size - nw - left)]


def geometry_of(width: int, height: int, prep: Preprocessing) -> Geometry:
    """The geometry ``prep.resize`` gives an image of ``width`` x ``height`` pixels."""
    size = prep.input_size
    if prep.resize == "crop":
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        return Geometry((left, top, left + side, top + side), (size, size), (0, 0), size)
    if prep.resize == "pad":
        scale = size / max(width, height)
        nw = min(size, max(1, round(width * scale)))
        nh = min(size, max(1, round(height * scale)))
        offset = ((size - nw) // 2, (size - nh) // 2)
        return Geometry((0, 0, width, height), (nw, nh), offset, size)
    return Geometry((0, 0, width, height), (size, size), (0, 0), size)


def _fit(image: PILImage.Image, prep: Preprocessing) -> PILImage.Image:
    """Crop, resize (bilinear) and pad ``image`` by :func:`geometry_of`."""
    from PIL import Image

    size = prep.input_size
    if image.size == (size, size):
        return image
    geometry = geometry_of(*image.size, prep)
    if geometry.box != (0, 0, *image.size):
        image = image.crop(geometry.box)
    if image.size != geometry.resized:
        image = image.resize(geometry.resized, Image.Resampling.BILINEAR)
    if geometry.resized == (size, size):
        return image
    array = np.asarray(image)
    pad = geometry.padding + [(0, 0)] * (array.ndim - 2)
    # Edge pixels, not black: a black band would be a strong artificial feature.
    return Image.fromarray(np.pad(array, pad, mode="edge"))


def prepare_mask(binary: np.ndarray, prep: Preprocessing) -> tuple[np.ndarray, bool]:
    """A 0/1 ``(H, W)`` mask through its image's geometry: uint8 ``(S, S)``, and whether a
    defect was cut away (``crop`` keeps only the centre square).

    Resizing never loses a defect: one that nearest sampling would miss entirely (a hairline
    crack in a large image) is kept as the output pixels it touches, since an empty mask means
    a defect-free image to the defect/no-defect decision. Padding repeats the edge, as the
    image's does, so every padded pixel keeps the label of the pixel it copies.
    """
    from PIL import Image

    binary = np.asarray(binary) > 0
    height, width = binary.shape
    geometry = geometry_of(width, height, prep)
    left, top, right, bottom = geometry.box
    kept = binary[top:bottom, left:right]
    cut = bool(binary.any()) and not bool(kept.any())
    if kept.shape != geometry.resized[::-1]:
        small = Image.fromarray(kept.astype(np.uint8) * 255, "L")
        resized = np.asarray(small.resize(geometry.resized, Image.Resampling.NEAREST)) > 127
        if kept.any() and not resized.any():
            touched = Image.fromarray(kept.astype(np.float32), "F")
            resized = np.asarray(touched.resize(geometry.resized, Image.Resampling.BOX)) > 0
        kept = resized
    if geometry.resized != (geometry.size, geometry.size):
        kept = np.pad(kept, geometry.padding, mode="edge")
    return kept.astype(np.uint8), cut


def restore_mask(mask: np.ndarray, original: tuple[int, int], prep: Preprocessing) -> np.ndarray:
    """A model-space ``(S, S)`` mask (or probability map) back on the original image's
    ``(width, height)`` grid: padding removed, resized (nearest), outside a crop zero."""
    from PIL import Image

    width, height = original
    geometry = geometry_of(width, height, prep)
    (nw, nh), (left, top) = geometry.resized, geometry.offset
    part = np.asarray(mask)[top : top + nh, left : left + nw]
    bl, bt, br, bb = geometry.box
    mode = "F" if part.dtype.kind == "f" else "L"
    plane = Image.fromarray(part.astype(np.float32 if mode == "F" else np.uint8), mode)
    inside = np.asarray(plane.resize((br - bl, bb - bt), Image.Resampling.NEAREST))
    full = np.zeros((height, width), inside.dtype)
    full[bt:bb, bl:br] = inside
    return full


def prepare_image(image: PILImage.Image, prep: Preprocessing) -> np.ndarray:
    """A decoded image as uint8 ``(S, S)`` for grey or ``(3, S, S)`` for RGB."""
    fitted = _fit(_to_mode(image, prep.channels), prep)
    array = np.asarray(fitted, dtype=np.uint8)
    return array if prep.channels == 1 else np.ascontiguousarray(array.transpose(2, 0, 1))


def normalize(pixels: np.ndarray, prep: Preprocessing | None = None) -> np.ndarray:
    """uint8 pixels ``(N, H, W)`` or ``(N, C, H, W)`` to the float32 NCHW model input."""
    scale, offset = (SCALE, OFFSET) if prep is None else (prep.scale, prep.offset)
    array = np.asarray(pixels, dtype=np.float32)
    if array.ndim == 3:
        array = array[:, None]
    return array * np.float32(scale) + np.float32(offset)
