"""``load_dataset``: a folder in any supported layout, or the built-in synthetic set, decoded
once into a :class:`DefectDataset` with a seeded split and a fingerprint."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np

from gensynth.constraints.quantities import MAX_INPUT_SIZE, parse_input_size
from gensynth.data import _cache, _decode
from gensynth.data._classes import HIDDEN, is_image
from gensynth.data._formats import DETECT_ORDER, FORMATS, Problem, Scan, scan_folder
from gensynth.data._split import fingerprint, stratified_split
from gensynth.data._split_file import SplitFile, read_split_file
from gensynth.data.dataset import DefectDataset
from gensynth.data.preprocess import Preprocessing
from gensynth.errors import ConfigError, DataError

__all__ = [
    "Collected",
    "bad_files_error",
    "build_dataset",
    "check_classes",
    "check_input_size",
    "check_task",
    "collect",
    "load_dataset",
    "require_masks",
    "resize_stack",
]

Task = Literal["classify", "segment"]
Progress = Callable[[int, int], None]
SYNTHETIC = "synthetic"
SYNTH_PER_CLASS, SYNTH_SIZE = 300, 200
MAX_INPUT = MAX_INPUT_SIZE
SHOW_BAD = 3
#: Classification needs at least this many classes.
MIN_CLASSES = 2
#: Layouts made for segmentation, where one class (``defect``) is the usual case.
SEGMENTATION_LAYOUTS = ("neu-seg", "generic-seg")


@dataclasses.dataclass
class Collected:
    """A scanned and decoded folder: the scan, its decoded samples, and every problem."""

    scan: Scan
    decoded: _decode.Decoded
    from_cache: bool

    @property
    def problems(self) -> list[Problem]:
        return sorted(self.scan.problems + self.decoded.problems, key=lambda p: p.path)


def check_task(task: str) -> Task:
    """``task`` if it is ``classify`` or ``segment``, else a ConfigError."""
    if task not in ("classify", "segment"):
        raise ConfigError(f"task: expected 'classify' or 'segment', got {task!r}")
    return task  # type: ignore[return-value]


def check_input_size(input_size: int) -> int:
    """The input size as an int from ``MIN_INPUT_SIZE`` to ``MAX_INPUT_SIZE``, or a ConfigError.

    The one minimum of every command: ``--input-size``, ``data synth --size``, and the
    ``input_size`` of a spec that ``train`` or ``explain`` loads data for.
    """
    if isinstance(input_size, bool) or not isinstance(input_size, (int, np.integer)):
        raise ConfigError(f"input size: expected a positive integer, got {input_size!r}")
    try:
        return parse_input_size(int(input_size))
    except ConfigError as error:
        where = "it is --input-size, or the input_size of the spec"
        raise ConfigError(
            error.message, hint=f"{where}; {error.hint}" if error.hint else where
        ) from None


def require_masks(scan: Scan, task: str) -> str | None:
    """Why ``task`` cannot run on ``scan`` (segmentation needs pixel masks), or None."""
    if task != "segment" or scan.mask_kind == "pixel":
        return None
    have = "only bounding boxes" if scan.mask_kind == "boxes" else "no masks"
    return f"task 'segment' needs pixel masks, but this {scan.format} folder has {have}"


def check_classes(scan: Scan, task: str | None) -> str | None:
    """Why ``scan`` cannot be classified (fewer than two classes), or None.

    With no task, a classification layout is held to classification's needs and a
    segmentation layout is not.
    """
    if task == "segment" or (task is None and scan.format in SEGMENTATION_LAYOUTS):
        return None
    if len(scan.class_names) >= MIN_CLASSES:
        return None
    names = ", ".join(repr(name) for name in scan.class_names) or "none"
    return f"{len(scan.class_names)} class ({names}), expected at least {MIN_CLASSES} to classify"


def _refuse_lone_class_folder(root: Path) -> None:
    """A folder whose only sub-folder holds images is a one-class generic-cls set, not an
    unknown layout; say so (a wrapper around a known layout is left to detection's hint)."""
    if not root.is_dir():
        return
    entries = [p for p in root.iterdir() if not p.name.startswith(HIDDEN)]
    folders = [p for p in entries if p.is_dir()]
    if len(folders) != 1 or any(is_image(p) for p in entries):
        return
    inner = folders[0]
    if not any(is_image(p) for p in inner.iterdir()):
        return
    if any(FORMATS.get(name).detect(inner) for name in DETECT_ORDER):
        return
    raise DataError(
        f"data folder {str(root)!r} holds one class folder ({inner.name!r}), expected at "
        f"least {MIN_CLASSES} (generic-cls: one sub-folder of images per class)",
        hint="add a folder per defect class; gensynth data check lists what it finds",
    )


def collect(
    root: Path,
    *,
    format: str | None,
    input_size: int,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    task: str | None = None,
    channels: int = 1,
    resize: str = "stretch",
) -> Collected:
    """Scan ``root`` and decode it at ``input_size`` with ``channels`` and the ``resize``
    policy (see :class:`~gensynth.data.preprocess.Preprocessing`), from the cache when
    nothing changed."""
    prep = Preprocessing(channels=channels, input_size=input_size, resize=resize)  # type: ignore[arg-type]
    if format in (None, "generic-cls"):
        _refuse_lone_class_folder(Path(root))
    scan = scan_folder(Path(root), format)
    if task is not None and (why := require_masks(scan, task)):
        raise DataError(f"{why} ({str(root)!r})", hint="use --task classify, or add masks")
    if task == "classify" and (why := check_classes(scan, task)):
        raise DataError(
            f"data folder {str(root)!r} has {why}",
            hint="add images of another class, or use --task segment on a folder with masks",
        )
    folder = _cache.cache_folder(cache_dir)
    key = _cache.folder_key(scan, prep)
    entry = _cache.read_entry(folder, key)
    if entry is not None and _fits(entry, scan, prep):
        return Collected(scan, _from_entry(entry), from_cache=True)
    decoded = _decode.decode_items(scan, prep, progress)
    arrays = {
        "images": decoded.images,
        "masks": decoded.masks,
        "ok": decoded.ok,
        "sizes": decoded.sizes,
    }
    _cache.write_entry(folder, key, arrays, meta=[[p.path, p.reason] for p in decoded.problems])
    return Collected(scan, decoded, from_cache=False)


def _fits(entry: dict, scan: Scan, prep: Preprocessing) -> bool:
    want_masks = scan.mask_kind is not None
    if "images" not in entry or ("masks" in entry) != want_masks or "ok" not in entry:
        return False
    return entry["images"].ndim == (3 if prep.channels == 1 else 4)


def _from_entry(entry: dict) -> _decode.Decoded:
    return _decode.Decoded(
        images=entry["images"],
        masks=entry.get("masks"),
        ok=entry["ok"],
        sizes=entry["sizes"],
        problems=[Problem(path, reason) for path, reason in entry.get("meta") or []],
    )


def bad_files_error(root: Path, problems: list[Problem]) -> DataError:
    """One line naming the first few bad files and how many there are."""
    shown = "; ".join(str(p) for p in problems[:SHOW_BAD])
    more = f"; and {len(problems) - SHOW_BAD} more" if len(problems) > SHOW_BAD else ""
    return DataError(
        f"{len(problems)} bad file(s) in {str(root)!r}: {shown}{more}",
        hint=f"gensynth data check {root} lists them all; pass --skip-bad to leave them out",
    )


def build_dataset(
    collected: Collected,
    task: Task,
    seed: int,
    skip_bad: bool,
    *,
    resize: str = "stretch",
    split_file: Path | str | None = None,
) -> DefectDataset:
    """The DefectDataset of a collected folder: labels, split (seeded, or from
    ``split_file``: see ``_split_file``) and fingerprint."""
    scan, decoded = collected.scan, collected.decoded
    items = [scan.items[i] for i in decoded.ok]
    class_names = scan.class_names
    index = {name: k for k, name in enumerate(class_names)}
    labels = np.asarray([index[item.label] for item in items], dtype=np.int64)
    for k, name in enumerate(class_names):
        if not np.any(labels == k):
            raise DataError(
                f"class {name!r} in {str(scan.root)!r} has zero usable images",
                hint="add images of that class or remove its folder; gensynth data check "
                "lists bad files",
            )
    problems = collected.problems
    if problems and not skip_bad:
        raise bad_files_error(scan.root, problems)
    paths = tuple(item.image for item in items)
    fixed = None
    if split_file is not None:
        fixed = read_split_file(split_file, [item.image for item in scan.items])
        split = _usable_split(fixed, paths, scan.root)
    else:
        split = stratified_split(labels, class_names, seed, root=str(scan.root))
    size = int(decoded.images.shape[-1])
    channels = 1 if decoded.images.ndim == 3 else int(decoded.images.shape[1])
    print_ = fingerprint(
        scan.format, paths, [i.label for i in items], split, size, channels=channels,
        resize=resize, split_file="" if fixed is None else fixed.sha256,
    )  # fmt: skip
    return DefectDataset(
        task=task,
        format=scan.format,
        root=str(scan.root),
        class_names=class_names,
        images=decoded.images,
        labels=labels,
        masks=decoded.masks,
        split=split,
        paths=paths,
        fingerprint=print_,
        skipped=tuple(p.path for p in problems),
        resize=resize,
        split_file=None if fixed is None else fixed.record(),
    )


def _usable_split(fixed: SplitFile, paths: tuple[str, ...], root: Path) -> np.ndarray:
    """The split file's codes of the usable images; every part must keep an image."""
    split = fixed.codes(paths)
    for code, name in enumerate(("train", "val", "test")):
        if not np.any(split == code):
            raise DataError(
                f"split file {fixed.path!r}: every {name} image of {str(root)!r} is a bad "
                f"file, expected at least one usable {name} image",
                hint="gensynth data check lists the bad files; fix them or list others",
            )
    return split


def load_dataset(
    source: str | Path = SYNTHETIC,
    *,
    task: Task = "classify",
    input_size: int = 200,
    format: str | None = None,
    seed: int = 0,
    skip_bad: bool = False,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    channels: int = 1,
    resize: str = "stretch",
    split: Path | str | None = None,
) -> DefectDataset:
    """Load a defect data set for ``task`` at ``input_size``: the synthetic one or a folder.

    ``source="synthetic"`` (the string) is the built-in NEU-like set: 6 classes × 300 for
    classify, inclusion/patches/scratches × 300 for segment, all with masks, generated from
    ``seed``. Anything else is a folder in a supported layout, detected or named by
    ``format`` (see ``gensynth.data.FORMATS``). Images become ``channels`` channels (1: grey,
    the default; 3: RGB, colour kept) at ``input_size`` square by the ``resize`` policy
    (``stretch``, the default, squashes; ``pad`` and ``crop`` keep the aspect ratio; bilinear;
    masks nearest, through the same geometry; see ``gensynth.data.preprocess``). The
    synthetic set is grey: with ``channels=3`` its grey plane is repeated into R, G and B.
    The split is seeded and stratified (see ``_split``), or read from ``split``, a CSV of
    ``path,split`` rows (see ``_split_file``); decoding is cached (see ``_cache``), so a
    second load takes about a second.

    A bad file (corrupt or truncated image, wrong-size mask, missing mask, unknown class)
    raises DataError listing the first few; ``skip_bad=True`` leaves them out and lists them
    in ``DefectDataset.skipped``. ``progress(done, total)`` is called while decoding.
    """
    task = check_task(task)
    input_size = check_input_size(input_size)
    Preprocessing(channels=channels, input_size=input_size, resize=resize)  # type: ignore[arg-type]
    if isinstance(source, str) and source == SYNTHETIC:
        if format is not None:
            raise ConfigError(f"format: the synthetic set has no format to choose, got {format!r}")
        if split is not None:
            raise ConfigError(
                "--split: the synthetic set has its own seeded split, expected a data folder",
                hint="pass --data FOLDER with --split FILE, or leave --split out",
            )
        return _load_synthetic(task, input_size, seed, cache_dir, progress, channels, resize)
    collected = collect(
        Path(source),
        format=format,
        input_size=input_size,
        cache_dir=cache_dir,
        progress=progress,
        task=task,
        channels=channels,
        resize=resize,
    )
    return build_dataset(collected, task, seed, skip_bad, resize=resize, split_file=split)


def _synthetic_arrays(task: Task, seed: int, cache_dir: Path | None, progress: Progress | None):
    """Images, masks, labels and file stems of the synthetic set at 200 px; generated once."""
    from gensynth.data._synth import SYNTH_VERSION, generate_set

    folder = _cache.cache_folder(cache_dir)
    key = f"synthetic-{task}-v{SYNTH_VERSION}-seed{seed}-{SYNTH_PER_CLASS}x{SYNTH_SIZE}"
    entry = _cache.read_entry(folder, key)
    if entry is not None and {"images", "masks", "labels", "names"} <= set(entry):
        return entry["images"], entry["masks"], entry["labels"], entry["names"].tolist()
    images, masks, labels, names = generate_set(
        task, per_class=SYNTH_PER_CLASS, size=SYNTH_SIZE, seed=seed, progress=progress
    )
    arrays = {"images": images, "masks": masks, "labels": labels, "names": np.asarray(names)}
    _cache.write_entry(folder, key, arrays)
    return images, masks, labels, names


def _load_synthetic(
    task: Task,
    input_size: int,
    seed: int,
    cache_dir: Path | None,
    progress: Progress | None,
    channels: int = 1,
    resize: str = "stretch",
) -> DefectDataset:
    """The built-in set: generated at its native 200 px (cached), then resized; grey, or
    the grey plane repeated into ``channels``. Its images are square, so every ``resize``
    policy gives the same pixels; the policy is recorded as the one the model expects."""
    from gensynth.data._synth import SYNTH_VERSION, synth_classes

    images, masks, labels, names = _synthetic_arrays(task, seed, cache_dir, progress)
    classes = synth_classes(task)
    paths = tuple(f"{name}.bmp" for name in names)
    split = stratified_split(labels, classes, seed)
    source = f"synthetic-v{SYNTH_VERSION}-seed{seed}"
    print_ = fingerprint(
        SYNTHETIC, paths, [classes[k] for k in labels], split, input_size, source=source,
        channels=channels, resize=resize,
    )  # fmt: skip
    grey = resize_stack(images, input_size)
    return DefectDataset(
        task=task,
        format=SYNTHETIC,
        root=f"{SYNTHETIC}:seed={seed}",
        class_names=classes,
        images=grey if channels == 1 else np.repeat(grey[:, None], channels, axis=1),
        labels=np.asarray(labels, dtype=np.int64),
        masks=resize_stack(masks, input_size, mask=True),
        split=split,
        paths=paths,
        fingerprint=print_,
        resize=resize,
    )


def resize_stack(stack: np.ndarray, size: int, *, mask: bool = False) -> np.ndarray:
    """Resize every ``(N, H, W)`` uint8 plane to ``size``² (bilinear, or nearest for masks)."""
    if stack.shape[-1] == size and stack.shape[-2] == size:
        return stack
    from PIL import Image

    method = Image.Resampling.NEAREST if mask else Image.Resampling.BILINEAR
    out = np.empty((len(stack), size, size), np.uint8)
    for i, plane in enumerate(stack):
        out[i] = np.asarray(Image.fromarray(plane, "L").resize((size, size), method))
    return out
