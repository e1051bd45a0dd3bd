"""The built-in format readers: NEU-CLS, NEU-DET, NEU-Seg, magnetic tile, generic folders."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

from gensynth.data._classes import (
    HIDDEN,
    NEU_CLASSES,
    NEU_PREFIX,
    PREFIX_TO_CLASS,
    is_image,
    natural_key,
    split_numbered_stem,
)
from gensynth.data._formats import FORMATS, FormatReader, Item, MaskKind, Problem, Scan
from gensynth.errors import DataError

__all__ = ["GenericCls", "GenericSeg", "MagneticTile", "NeuCls", "NeuDet", "NeuSeg"]

_PREFIXES = ", ".join(NEU_PREFIX.values())
R = TypeVar("R", bound=type[FormatReader])


def _register(cls: R) -> R:
    """Class decorator: register one instance under the reader's ``name``."""
    FORMATS.add(cls.name, cls())
    return cls


def _norm(name: str) -> str:
    """Folder-name matching that ignores case, spaces, dashes and underscores."""
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _listing(folder: Path) -> tuple[list[str], list[str]]:
    """Visible file and sub-folder names of ``folder``, sorted (one scandir, no stat calls:
    a NEU folder holds thousands of files and is listed several times while detecting)."""
    files: list[str] = []
    dirs: list[str] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                if not entry.name.startswith(HIDDEN):
                    (dirs if entry.is_dir() else files).append(entry.name)
    except OSError:
        return [], []
    return sorted(files), sorted(dirs)


def _child(root: Path, *names: str) -> Path | None:
    """The sub-folder of ``root`` whose normalised name is one of ``names``."""
    wanted = {_norm(n) for n in names}
    return next((root / d for d in _listing(root)[1] if _norm(d) in wanted), None)


def _walk(folder: Path, recursive: bool) -> list[Path]:
    """Visible files of ``folder`` (and its visible sub-folders if ``recursive``)."""
    if not recursive:
        return [folder / name for name in _listing(folder)[0]]
    found = []
    for parent, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(HIDDEN)]
        found += [Path(parent, f) for f in files if not f.startswith(HIDDEN)]
    return found


def _images(folder: Path, *, recursive: bool = False) -> list[Path]:
    """Image files of ``folder`` in natural name order (``Cr_2`` before ``Cr_10``)."""
    paths = [p for p in _walk(folder, recursive) if is_image(p)]
    return sorted(paths, key=lambda p: natural_key(p.as_posix()))


def _by_stem(folder: Path | None, suffixes: tuple[str, ...]) -> dict[str, Path]:
    """Files of ``folder`` (recursively) by stem; ``suffixes`` in order of preference."""
    if folder is None:
        return {}
    found: dict[str, Path] = {}
    rank = {s: i for i, s in enumerate(suffixes)}
    for path in sorted(_walk(folder, recursive=True), key=str):
        suffix = path.suffix.lower()
        if suffix not in rank:
            continue
        held = found.get(path.stem)
        if held is None or rank[suffix] < rank[held.suffix.lower()]:
            found[path.stem] = path
    return found


def _require(root: Path, *names: str) -> Path:
    """A sub-folder the layout needs; gone since detection -> DataError."""
    found = _child(root, *names)
    if found is None:
        raise DataError(f"data folder {str(root)!r} has no {names[0]!r} folder")
    return found


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _pair(path: Path, label: str, mask: Path | None, mask_dir: Path, root: Path) -> Item | Problem:
    """The sample of image ``path`` and its ``mask``, or the problem that it has none."""
    if mask is None:
        return Problem(_rel(path, root), f"no mask {_rel(mask_dir, root)}/{path.stem}.png")
    return Item(_rel(path, root), label, _rel(mask, root))


def _sort(found: Item | Problem, items: list[Item], problems: list[Problem]) -> None:
    if isinstance(found, Item):
        items.append(found)
    else:
        problems.append(found)


def _ordered(classes: set[str], order: tuple[str, ...] = NEU_CLASSES) -> tuple[str, ...]:
    return tuple(c for c in order if c in classes) + tuple(sorted(classes - set(order)))


_MASK_SUFFIXES = (".png", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg")


def _prefix_class(stem: str) -> tuple[str | None, str | None]:
    """(class, None) for ``Cr_12``; (None, reason) when the name does not say a NEU class."""
    parsed = split_numbered_stem(stem)
    if parsed is None:
        return None, "file name does not follow <prefix>_<number>, e.g. Cr_1.bmp"
    prefix = parsed[0]
    if prefix.lower() not in PREFIX_TO_CLASS:
        return None, f"unknown class prefix {prefix!r}; expected one of {_PREFIXES}"
    return PREFIX_TO_CLASS[prefix.lower()], None


def _paired_scan(reader: FormatReader, root: Path, image_dir: Path, mask_dir: Path | None) -> Scan:
    """NEU-style prefixed images, each with a same-stem mask in ``mask_dir`` if it exists."""
    masks = _by_stem(mask_dir, _MASK_SUFFIXES)
    items, problems, classes = [], [], set()
    for path in _images(image_dir):
        label, reason = _prefix_class(path.stem)
        if label is None:
            problems.append(Problem(_rel(path, root), reason or "unknown class"))
            continue
        classes.add(label)
        mask = masks.get(path.stem)
        if mask_dir is not None and mask is None:
            where = _rel(mask_dir, root)
            problems.append(Problem(_rel(path, root), f"no mask {where}/{path.stem}.png"))
            continue
        items.append(Item(_rel(path, root), label, _rel(mask, root) if mask else None))
    kind: MaskKind = "pixel" if mask_dir is not None else None
    return Scan(reader.name, root, _ordered(classes), items, problems, kind, mask_threshold=127)


@_register
class NeuCls(FormatReader):
    """NEU-CLS: one flat folder ``Cr_1.bmp`` … ``Sc_300.bmp``; optional ``masks/<stem>.png``.

    The ``masks/`` folder is what ``gensynth data synth`` writes beside every image; when it
    exists every image must have its mask there (0 or 255; above 127 is defect).
    """

    name = "neu-cls"
    layout = "neu-cls (flat Cr_1.bmp … Sc_300.bmp, optional masks/)"

    def detect(self, root: Path) -> bool:
        return any(_prefix_class(p.stem)[0] for p in _images(root))

    def scan(self, root: Path) -> Scan:
        return _paired_scan(self, root, root, _child(root, "masks"))


@_register
class NeuSeg(FormatReader):
    """NEU-Seg / SD-saliency-900: ``Source Images/In_1.bmp`` + ``Ground truth/In_1.png``, 0/255."""

    name = "neu-seg"
    layout = "neu-seg (Source Images/ + Ground truth/)"

    def detect(self, root: Path) -> bool:
        return bool(_child(root, "Source Images") and _child(root, "Ground truth"))

    def scan(self, root: Path) -> Scan:
        images = _require(root, "Source Images")
        masks = _require(root, "Ground truth")
        return _paired_scan(self, root, images, masks)


_SPLIT_DIRS = ("train", "validation", "valid", "val", "test")
_UNKNOWN_DET = (
    f"unknown class in file name; expected <class>_<n>, class one of {', '.join(NEU_CLASSES)}"
)


@_register
class NeuDet(FormatReader):
    """NEU-DET: ``IMAGES/crazing_1.jpg`` + ``ANNOTATIONS/crazing_1.xml`` (PASCAL VOC).

    Also the variant ``train|validation/images/<class>/<class>_N.jpg`` with
    ``train|validation/annotations/*.xml``. The class is the file stem before the last
    ``_N`` (``rolled-in_scale_12`` -> ``rolled-in_scale``). Images may be RGB and any size.
    Masks are the VOC bounding boxes, filled: coarse, but enough to check whether an
    explanation falls on the defect. The folders' own train/validation split is not used;
    the loader draws its seeded split over all images.
    """

    name = "neu-det"
    layout = "neu-det (IMAGES/ + ANNOTATIONS/ VOC, or train|validation/images/<class>/)"

    def _pairs(self, root: Path) -> list[tuple[Path, Path | None]]:
        pairs = []
        for base in [root, *(p for n in _SPLIT_DIRS if (p := _child(root, n)) is not None)]:
            images = _child(base, "images")
            if images is not None:
                pairs.append((images, _child(base, "annotations")))
        return pairs

    def detect(self, root: Path) -> bool:
        return any(ann is not None for _, ann in self._pairs(root))

    def scan(self, root: Path) -> Scan:
        known = {_norm(c): c for c in NEU_CLASSES}
        items, problems, classes = [], [], set()
        for image_dir, ann_dir in self._pairs(root):
            notes = _by_stem(ann_dir, (".xml",))
            for path in _images(image_dir, recursive=True):
                parsed = split_numbered_stem(path.stem)
                label = known.get(_norm(parsed[0])) if parsed else None
                if label is None:
                    problems.append(Problem(_rel(path, root), _UNKNOWN_DET))
                    continue
                classes.add(label)
                note = notes.get(path.stem)
                if note is None:
                    where = _rel(ann_dir, root) if ann_dir else "annotations"
                    reason = f"no annotation {where}/{path.stem}.xml"
                    problems.append(Problem(_rel(path, root), reason))
                    continue
                items.append(Item(_rel(path, root), label, boxes=_rel(note, root)))
        return Scan(self.name, root, _ordered(classes), items, problems, "boxes")


@_register
class GenericSeg(FormatReader):
    """Generic segmentation: ``images/<stem>.*`` + ``masks/<stem>.png``, non-zero = defect.

    The class of an image (for classification) is its stem before a trailing ``_N``
    (``crack_12`` -> ``crack``), or ``defect`` when the stem has no such number.
    """

    name = "generic-seg"
    layout = "generic-seg (images/<stem>.* + masks/<stem>.png)"

    def detect(self, root: Path) -> bool:
        return bool(_child(root, "images") and _child(root, "masks"))

    def scan(self, root: Path) -> Scan:
        image_dir, mask_dir = _require(root, "images"), _require(root, "masks")
        masks = _by_stem(mask_dir, _MASK_SUFFIXES)
        items: list[Item] = []
        problems: list[Problem] = []
        for path in _images(image_dir, recursive=True):
            parsed = split_numbered_stem(path.stem)
            label = parsed[0] if parsed else "defect"
            _sort(_pair(path, label, masks.get(path.stem), mask_dir, root), items, problems)
        classes = _ordered({i.label for i in items}, order=())
        return Scan(self.name, root, classes, items, problems, "pixel", mask_threshold=0)


_MT_PREFIX = "mt_"
#: In the magnetic-tile layout a PNG is a mask; the image beside it is any other image file.
_MT_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


@_register
class MagneticTile(FormatReader):
    """Magnetic tile (Huang et al.): ``MT_<class>/Imgs/<stem>.jpg`` + same-stem ``.png`` mask.

    The class is the folder name after ``MT_`` (``MT_Blowhole`` -> ``Blowhole``); ``MT_Free``
    holds defect-free tiles, whose masks are empty, so they are the real negatives of the
    defect/no-defect decision. Images and masks vary in size; every image needs its mask, of
    its own size (0..255, above 127 is defect). Images may also lie in ``MT_<class>/`` itself.
    """

    name = "magnetic-tile"
    layout = "magnetic-tile (MT_<class>/Imgs/<stem>.jpg + <stem>.png)"

    def _classes(self, root: Path) -> list[tuple[str, Path]]:
        """(class name, image folder) of every ``MT_<class>`` folder, in natural order."""
        found = []
        for name in sorted(_listing(root)[1], key=natural_key):
            if name.lower().startswith(_MT_PREFIX) and len(name) > len(_MT_PREFIX):
                folder = root / name
                found.append((name[len(_MT_PREFIX) :], _child(folder, "Imgs") or folder))
        return found

    def detect(self, root: Path) -> bool:
        return any(
            Path(f).suffix.lower() in _MT_IMAGE_SUFFIXES
            for _, folder in self._classes(root)
            for f in _listing(folder)[0]
        )

    def scan(self, root: Path) -> Scan:
        items: list[Item] = []
        problems: list[Problem] = []
        classes: list[str] = []
        for label, folder in self._classes(root):
            classes.append(label)
            files = _images(folder)
            masks = {p.stem: p for p in files if p.suffix.lower() == ".png"}
            for path in (p for p in files if p.suffix.lower() in _MT_IMAGE_SUFFIXES):
                _sort(_pair(path, label, masks.get(path.stem), folder, root), items, problems)
        return Scan(self.name, root, tuple(classes), items, problems, "pixel", mask_threshold=127)


@_register
class GenericCls(FormatReader):
    """Generic classification: ``root/<class>/*.{png,jpg,jpeg,bmp,tif}``, one folder a class.

    Every visible sub-folder is a class (at least two); one without images is reported as an
    empty class.
    """

    name = "generic-cls"
    layout = "generic-cls (<class>/*.png|jpg|bmp|tif)"

    def _classes(self, root: Path) -> list[Path]:
        return [root / d for d in sorted(_listing(root)[1], key=natural_key)]

    def detect(self, root: Path) -> bool:
        # One lone sub-folder is more often a wrapper around a data set than a single class.
        folders = self._classes(root)
        return len(folders) >= 2 and any(_images(folder) for folder in folders)

    def scan(self, root: Path) -> Scan:
        items, problems, classes = [], [], []
        for folder in self._classes(root):
            classes.append(folder.name)
            found = _images(folder, recursive=True)
            if not found:
                problems.append(Problem(f"{folder.name}/", f"class {folder.name!r} has no images"))
            items += [Item(_rel(p, root), folder.name) for p in found]
        return Scan(self.name, root, tuple(classes), items, problems, None)
