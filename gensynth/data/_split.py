"""The fixed, seeded, stratified train/val/test split, and the data fingerprint.

Per class with n images: ``round(0.2 n)`` go to test, then ``round(0.2 × rest)`` of the rest
to validation, the others to training. For NEU's 300 images a class that is the
TinyDefectNet protocol, 240 train (of which 48 are validation for search) and 60 test.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import numpy as np

from gensynth.errors import DataError

__all__ = ["TEST_FRACTION", "VAL_FRACTION", "fingerprint", "split_counts", "stratified_split"]

TEST_FRACTION = 0.2
VAL_FRACTION = 0.2
TRAIN, VAL, TEST = 0, 1, 2


def _round(x: float) -> int:
    return int(np.floor(x + 0.5))


def split_counts(n: int) -> tuple[int, int, int]:
    """(train, val, test) sizes for a class of ``n`` images; each at least one."""
    test = max(1, _round(n * TEST_FRACTION))
    val = max(1, _round((n - test) * VAL_FRACTION))
    return n - test - val, val, test


def stratified_split(
    labels: np.ndarray, class_names: Sequence[str], seed: int, *, root: str = ""
) -> np.ndarray:
    """int8 split codes (0 train, 1 val, 2 test), drawn per class from ``seed``.

    Samples must be in a fixed order (the loaders sort by file name), so the same files and
    seed always give the same split. A class with fewer than 3 images cannot be split.
    """
    split = np.zeros(len(labels), np.int8)
    for k, name in enumerate(class_names):
        members = np.flatnonzero(labels == k)
        if len(members) < 3:
            where = f" in {root!r}" if root else ""
            raise DataError(
                f"class {name!r}{where} has {len(members)} usable image(s), expected at "
                "least 3 (one each for train, val and test)",
                hint="add images of that class, or remove it",
            )
        rng = np.random.default_rng(np.random.SeedSequence([seed, k]))
        order = members[rng.permutation(len(members))]
        _, val, test = split_counts(len(members))
        split[order[:test]] = TEST
        split[order[test : test + val]] = VAL
    return split


def fingerprint(
    format: str,
    paths: Sequence[str],
    labels: Sequence[str],
    split: np.ndarray,
    input_size: int,
    source: str = "",
    *,
    channels: int = 1,
    resize: str = "stretch",
    split_file: str = "",
) -> str:
    """A short, stable hash of what a model saw: files, labels, split, input size, channels
    and resize policy.

    ``source`` adds what the file list cannot tell (the generator version and seed of the
    synthetic set); ``split_file`` the digest of a ``--split`` file. The folder's own location
    is left out, so a moved copy keeps its print. Channels, resize policy and split file enter
    the hash only when they differ from the defaults (grey, stretch, seeded split), so the
    prints of data loaded the way it always was stay what they were.
    """
    order = sorted(range(len(paths)), key=lambda i: paths[i])
    body = {
        "format": format,
        "source": source,
        "input_size": int(input_size),
        "files": [[paths[i], labels[i], int(split[i])] for i in order],
    }
    extra = {"channels": int(channels), "resize": resize, "split_file": split_file}
    body |= {k: v for k, v in extra.items() if v not in (1, "stretch", "")}
    text = json.dumps(body, separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
