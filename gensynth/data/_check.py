"""``check_dataset``: what ``gensynth data check`` reports about a folder, without raising for
problems in the data (only for a path that is missing or in no known layout)."""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from gensynth.data._formats import Problem
from gensynth.data._load import (
    Collected,
    build_dataset,
    check_classes,
    check_input_size,
    check_task,
    collect,
    require_masks,
)
from gensynth.data.dataset import SPLITS
from gensynth.errors import DataError

__all__ = ["CheckReport", "check_dataset"]


@dataclasses.dataclass(frozen=True)
class CheckReport:
    """A data folder as the loaders see it: format, counts, image sizes, and its bad files.

    ``colour`` is ``{"sampled": n, "colour": k}``: of n usable images spread over the folder,
    k have colour content (their R, G and B planes differ), so ``--channels 3`` would keep
    something that grey loses. Files stored as RGB with equal planes count as grey.

    ``counts`` maps class -> ``{"total", "train", "val", "test"}`` over usable images (the
    split is the one training would draw with seed 0). ``image_sizes`` maps ``WxH`` as
    stored on disk -> number of images. ``problems`` lists every bad file by path relative
    to ``root``; the folder is fit for training with ``skip_bad=False`` when it is empty.
    """

    root: str
    format: str
    task: str | None
    class_names: tuple[str, ...]
    counts: dict[str, dict[str, int]]
    image_sizes: dict[str, int]
    masks: str | None
    problems: tuple[Problem, ...]
    fingerprint: str | None
    colour: dict[str, int] = dataclasses.field(default_factory=dict)
    channels: int = 1
    resize: str = "stretch"
    split_file: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def total(self) -> int:
        return sum(c["total"] for c in self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (``--json``)."""
        data = dataclasses.asdict(self)
        data["problems"] = [{"path": p.path, "reason": p.reason} for p in self.problems]
        data["ok"] = self.ok
        data["total"] = self.total
        return data


def _small_classes(counts: dict, reported: set[str], format: str) -> list[Problem]:
    """Classes too small to split (fewer than 3 usable images), unless reported already."""
    found = []
    for name, count in counts.items():
        where = f"{name}/" if format == "generic-cls" else "."
        if count["total"] >= 3 or (count["total"] == 0 and where in reported):
            continue
        what = "zero usable images" if count["total"] == 0 else f"{count['total']} usable image(s)"
        found.append(Problem(where, f"class {name!r} has {what}, expected at least 3"))
    return found


#: Images opened to tell whether a folder has colour content.
COLOUR_SAMPLE = 64
#: Mean absolute difference between colour planes (grey levels) above which an image is
#: colour; JPEG noise in a grey image stored as RGB stays far below it.
COLOUR_LEVEL = 1.0


def _colour(collected: Collected) -> dict[str, int]:
    """How many of a spread sample of usable images have colour content."""
    from gensynth.data._decode import BadFile, _open

    ok = collected.decoded.ok
    pick = ok[np.linspace(0, len(ok) - 1, min(COLOUR_SAMPLE, len(ok))).astype(int)] if len(
        ok) else ok  # fmt: skip
    coloured = 0
    for i in pick:
        rel = collected.scan.items[int(i)].image
        try:
            with _open(collected.scan.root / rel, rel) as image:
                if image.mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"):
                    continue
                planes = np.asarray(image.convert("RGB"), dtype=np.int16)
        except BadFile:
            continue
        spread = np.abs(planes[..., 0] - planes[..., 1]) + np.abs(planes[..., 1] - planes[..., 2])
        coloured += float(spread.mean()) / 2 > COLOUR_LEVEL
    return {"sampled": len(pick), "colour": int(coloured)}


def _split_counts(
    collected: Collected,
    counts: dict[str, dict[str, int]],
    resize: str = "stretch",
    split: Path | None = None,
) -> str:
    """Fill in the train/val/test counts training would use; return the fingerprint."""
    data = build_dataset(
        collected, "classify", seed=0, skip_bad=True, resize=resize, split_file=split
    )
    for name, by_split in data.counts().items():
        counts[name].update(by_split)
    return data.fingerprint


def check_dataset(
    path: Path,
    *,
    format: str | None = None,
    task: str | None = None,
    input_size: int = 200,
    cache_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    channels: int = 1,
    resize: str = "stretch",
    split: Path | str | None = None,
) -> CheckReport:
    """Detect the layout of ``path``, decode every file, and report counts and bad files.

    ``channels`` and ``resize`` decode as training would (and warm its cache); ``split``
    checks a split file (see ``_split_file``): its problems are reported like bad files.

    Raises only when there is nothing to check (missing path, empty folder, no known
    layout, unknown ``format``); every problem inside the data is in the report instead.
    """
    if task is not None:
        check_task(task)
    input_size = check_input_size(input_size)
    collected = collect(
        Path(path), format=format, input_size=input_size, cache_dir=cache_dir, progress=progress,
        channels=channels, resize=resize,
    )  # fmt: skip
    scan, decoded = collected.scan, collected.decoded
    problems = list(collected.problems)
    if task is not None and (why := require_masks(scan, task)):
        problems.append(Problem(".", why))
    if why := check_classes(scan, task):
        problems.append(Problem(".", why))
    counts = {name: dict.fromkeys(("total", *SPLITS), 0) for name in scan.class_names}
    for i in decoded.ok:
        counts[scan.items[i].label]["total"] += 1
    problems += _small_classes(counts, {p.path for p in problems}, scan.format)
    fingerprint = None
    least = 3 if split is None else 1  # a split file may give a class no val or test image
    if all(count["total"] >= least for count in counts.values()):
        try:
            fingerprint = _split_counts(
                collected, counts, resize, None if split is None else Path(split)
            )
        except DataError as error:
            if split is None:
                raise
            problems.append(Problem(str(split), error.message.split(": ", 1)[-1]))
    sizes = collections.Counter(f"{w}x{h}" for w, h in decoded.sizes[decoded.ok].tolist())
    return CheckReport(
        root=str(path),
        format=scan.format,
        task=task,
        class_names=scan.class_names,
        counts=counts,
        image_sizes=dict(sorted(sizes.items(), key=lambda kv: -kv[1])),
        masks=scan.mask_kind,
        problems=tuple(sorted(problems, key=lambda p: p.path)),
        fingerprint=None if problems else fingerprint,
        colour=_colour(collected),
        channels=channels,
        resize=resize,
        split_file=None if split is None else str(split),
    )
