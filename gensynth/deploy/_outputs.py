"""Where ``predict`` writes: a CSV or JSON file of rows, or a folder with predictions.csv and
the masks. Nothing appears half-written: files are staged and moved into place at the end.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gensynth.deploy.predict import ClassPrediction, Prediction, SegmentPrediction
from gensynth.errors import ConfigError
from gensynth.paths import check_out_dir, require_writable_folder, write_atomically

__all__ = ["MASKS_DIR", "PREDICTIONS_FILE", "PredictionOutput", "rows_csv"]

PREDICTIONS_FILE = "predictions.csv"
MASKS_DIR = "masks"
_FILE_SUFFIXES = (".csv", ".json")


def _row_dict(row: Prediction, mask_dir: str | None) -> dict[str, Any]:
    data = row.to_dict()
    if isinstance(row, ClassPrediction):
        probs = data.pop("probabilities")
        data.update({f"p_{name}": value for name, value in probs.items()})
    if isinstance(row, SegmentPrediction):
        name = data.pop("mask_name")
        data["mask"] = f"{mask_dir}/{name}" if mask_dir else ""
    return data


def rows_csv(rows: Sequence[Prediction], mask_dir: str | None = None) -> str:
    """The rows as CSV text, one line per image (class probabilities as ``p_<class>``)."""
    dicts = [_row_dict(r, mask_dir) for r in rows]
    buffer = io.StringIO()
    fields = list(dicts[0]) if dicts else ["path"]
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(dicts)
    return buffer.getvalue()


class PredictionOutput:
    """``--out``: checked before any work, masks staged while predicting, committed at the end.

    A path ending in .csv or .json is a rows file; anything else is a folder that gets
    ``predictions.csv`` and (segmentation) ``masks/<image path>.png`` at the original size.
    """

    def __init__(self, out: Path | None, *, overwrite: bool = False) -> None:
        self.out = None if out is None else Path(out)
        self.is_file = self.out is not None and self.out.suffix.lower() in _FILE_SUFFIXES
        self._staging: Path | None = None
        if self.out is None:
            return
        if self.is_file:
            if self.out.is_dir():
                raise ConfigError(f"--out {str(self.out)!r} is a folder, expected a .csv/.json")
            if self.out.exists() and not overwrite:
                raise ConfigError(
                    f"--out {str(self.out)!r} exists",
                    hint="choose a new file, or pass --overwrite to replace it",
                )
            require_writable_folder(self.out.parent, what="folder for --out")
        else:
            check_out_dir(self.out, overwrite=overwrite, what="--out folder")

    @property
    def mask_dir(self) -> str | None:
        return None if self.out is None or self.is_file else MASKS_DIR

    def add(self, row: Prediction) -> None:
        """Stage the row's mask (segmentation rows into a folder); nothing else yet."""
        if not isinstance(row, SegmentPrediction) or self.mask_dir is None or self.out is None:
            return
        from PIL import Image

        if self._staging is None:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            here = self.out.resolve()
            self._staging = here.parent / f".{here.name}.predict-{os.getpid()}"
            self._staging.mkdir(exist_ok=True)
        target = self._staging / MASKS_DIR / row.mask_name
        target.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(row.mask, "L").save(target)

    def commit(self, rows: Sequence[Prediction], document: dict[str, Any]) -> list[Path]:
        """Write the rows (and move the staged masks) into place; the paths written."""
        if self.out is None:
            return []
        if self.is_file:
            text = (
                json.dumps(document, indent=2, default=str) + "\n"
                if self.out.suffix.lower() == ".json"
                else rows_csv(rows)
            )
            write_atomically(self.out, text)
            return [self.out]
        self.out.mkdir(parents=True, exist_ok=True)
        written = []
        if self._staging is not None:
            staged = self._staging / MASKS_DIR
            for source in sorted(staged.rglob("*.png")):
                target = self.out / MASKS_DIR / source.relative_to(staged)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(source, target)
            written.append(self.out / MASKS_DIR)
            self.abort()
        write_atomically(self.out / PREDICTIONS_FILE, rows_csv(rows, self.mask_dir))
        return [self.out / PREDICTIONS_FILE, *written]

    def abort(self) -> None:
        """Remove what was staged (after an error, or once committed)."""
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
