"""A fixed split from a file: ``--split FILE``, a CSV of ``path,split`` rows.

Regulated lines keep an audited test set that must not move when the seed or the folder
changes. Paths are relative to the data folder (``/`` or ``\\`` separators, an optional
``./``); the split is ``train``, ``val`` or ``test``; an optional first row ``path,split`` is
a header. The file must name every image of the folder exactly once: an image the file does
not list is an error (naming the first few), never silently dropped or trained on, because a
new image in the folder of an audited set is a change someone has to decide about. A listed
image that is a bad file is left out with the other bad files under ``--skip-bad``.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import numpy as np

from gensynth.errors import DataError

__all__ = ["SplitFile", "read_split_file"]

_CODES = {"train": 0, "val": 1, "test": 2}
_SHOW = 3
_HINT = "one row per image: path relative to the data folder, then train, val or test"


@dataclasses.dataclass(frozen=True)
class SplitFile:
    """The rows of a split file by normalised path, and the digest of its bytes."""

    path: str
    rows: dict[str, int]
    sha256: str

    def codes(self, paths: Sequence[str]) -> np.ndarray:
        """int8 split codes (0 train, 1 val, 2 test) of ``paths``, all listed (see
        :func:`read_split_file`)."""
        return np.asarray([self.rows[_normal(p)] for p in paths], dtype=np.int8)

    def record(self) -> dict[str, str]:
        """What metrics.json and the fingerprint keep about it."""
        return {"path": self.path, "sha256": self.sha256}


def _normal(path: str) -> str:
    text = path.strip().replace("\\", "/")
    return str(PurePosixPath(text)) if text else ""


def _fail(path: Path, message: str, hint: str = _HINT) -> DataError:
    return DataError(f"split file {str(path)!r}: {message}", hint=hint)


def _rows(path: Path) -> dict[str, tuple[int, int]]:
    """``{normalised path: (split code, line number)}``; every malformed row is an error."""
    if not path.is_file():
        raise DataError(
            f"split file {str(path)!r} does not exist",
            hint="give a CSV of path,split rows (--split FILE), or leave --split out for the "
            "seeded split",
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise _fail(path, f"cannot be read as UTF-8 text ({err})") from None
    rows: dict[str, tuple[int, int]] = {}
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and [c.lower() for c in cells] == ["path", "split"]:
            continue
        if len(cells) != 2 or not cells[0]:
            raise _fail(path, f"line {number}: expected 'path,split', got {','.join(row)!r}")
        name, split = _normal(cells[0]), cells[1].lower()
        if split not in _CODES:
            raise _fail(
                path, f"line {number}: unknown split {cells[1]!r}, expected train, val or test"
            )
        if name in rows:
            raise _fail(
                path, f"line {number}: {cells[0]!r} is listed twice (first on line "
                f"{rows[name][1]})", hint="give each image one row",
            )  # fmt: skip
        rows[name] = (_CODES[split], number)
    return rows


def read_split_file(path: Path | str, images: Sequence[str]) -> SplitFile:
    """Read and check ``path`` against ``images``, every image path of the data folder.

    One DataError per problem: a missing file, a malformed row, an unknown split name, a path
    listed twice, a path that is not an image of the folder, an image of the folder that is
    not listed, or a split with no image in it.
    """
    path = Path(path)
    rows = _rows(path)
    known = {_normal(p) for p in images}
    stray = [name for name in rows if name not in known]
    if stray:
        line = rows[stray[0]][1]
        more = f" (and {len(stray) - 1} more)" if len(stray) > 1 else ""
        raise _fail(
            path,
            f"line {line}: {stray[0]!r} is not an image of the data folder{more}",
            hint="paths are relative to --data, as gensynth data check shows them",
        )
    missing = [p for p in images if _normal(p) not in rows]
    if missing:
        shown = ", ".join(repr(p) for p in missing[:_SHOW])
        more = f" and {len(missing) - _SHOW} more" if len(missing) > _SHOW else ""
        raise _fail(
            path,
            f"{len(missing)} image(s) of the data folder are not listed: {shown}{more}",
            hint="add a row for each (train, val or test), or move them out of the folder",
        )
    present = {code for code, _ in rows.values()}
    for split, code in _CODES.items():
        if code not in present:
            raise _fail(
                path,
                f"the {split} split is empty, expected at least one image in it",
                hint="training selects on val and reports on test; list images for each",
            )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return SplitFile(str(path), {name: code for name, (code, _) in rows.items()}, digest)
