"""The decoded-array cache: one ``.npz`` per (files, their sizes and mtimes, preprocessing).

Lives in ``cache_dir``, else :func:`gensynth.vocabulary.cache_dir`, under ``data/``. A key
covers every file's relative path, byte size and modification time, so an
edited, added or removed file gives a new key, and so does another input size, channel count
or resize policy (the old entry is simply no longer read).
Writes are atomic (temporary file, then rename), so concurrent trials never read half a file;
an unreadable entry counts as a miss. The cache is an optimisation: failing to write it only
costs time.

0/1 masks are bit-packed and deflated (a 200² mask takes a few hundred bytes). Images are
stored without compression: steel texture deflates by only about a quarter, and inflating
it would make a warm load of the 1800-image set several times slower than reading it raw.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from gensynth.data._formats import Scan
from gensynth.data.preprocess import Preprocessing

__all__ = ["cache_folder", "folder_key", "read_entry", "write_entry"]

#: Bumped when the cached content or the decoding changes.
CACHE_VERSION = 3
log = logging.getLogger(__name__)


def cache_folder(cache_dir: Path | str | None = None) -> Path:
    """Where decoded arrays are kept (see module docstring for the order of choices)."""
    from gensynth.vocabulary import cache_dir as default_cache_dir

    base = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return base.expanduser() / "data"


def _stat(root: Path, rel: str | None) -> list[Any]:
    if rel is None:
        return []
    try:
        info = (root / rel).stat()
    except OSError:
        return [rel, -1, -1]
    return [rel, info.st_size, info.st_mtime_ns]


def folder_key(scan: Scan, prep: Preprocessing | int) -> str:
    """Cache key of a scanned folder decoded by ``prep`` (a bare size: grey, stretched): a
    hash of every file's stat, the input size, the channels and the resize policy."""
    if not isinstance(prep, Preprocessing):
        prep = Preprocessing(input_size=int(prep))
    size = prep.input_size
    files = [
        [item.label, *_stat(scan.root, item.image), *_stat(scan.root, item.mask or item.boxes)]
        for item in scan.items
    ]
    head = [CACHE_VERSION, scan.format, scan.mask_kind, scan.mask_threshold, size,
            prep.channels, prep.resize]  # fmt: skip
    text = json.dumps([head, files], separators=(",", ":"))
    look = ("" if prep.channels == 1 else "rgb-") + ("" if prep.resize == "stretch" else
                                                     f"{prep.resize}-")  # fmt: skip
    return f"{scan.format}-{size}-{look}" + hashlib.sha256(text.encode()).hexdigest()[:24]


_BITS = "__bits"


def read_entry(folder: Path, key: str) -> dict[str, Any] | None:
    """The arrays stored under ``key``, or None if absent or unreadable."""
    path = folder / f"{key}.npz"
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as data:
            entry = {name: data[name] for name in data.files}
        for name in [n for n in entry if n.endswith(_BITS)]:
            bits = entry.pop(name)
            width = int(entry.pop(name[: -len(_BITS)] + "__width"))
            entry[name[: -len(_BITS)]] = np.unpackbits(bits, axis=-1, count=width)
        if "meta" in entry:
            entry["meta"] = json.loads(str(entry["meta"]))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        log.warning("ignoring unreadable data cache %s (%s)", path, err)
        return None
    return entry


def _save(handle: Any, payload: dict[str, np.ndarray], packed: set[str]) -> None:
    """An ``.npz``: arrays named in ``packed`` bit-packed and deflated, the rest stored raw."""
    with zipfile.ZipFile(handle, "w", allowZip64=True) as archive:
        for name, array in payload.items():
            method = zipfile.ZIP_STORED
            if name in packed:
                array, method = np.packbits(array, axis=-1), zipfile.ZIP_DEFLATED
                payload_width = np.asarray(payload[name].shape[-1])
                with archive.open(f"{name}__width.npy", "w") as member:
                    np.lib.format.write_array(member, payload_width)
                name += _BITS
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(array, order="C"))


def write_entry(
    folder: Path,
    key: str,
    arrays: dict[str, Any],
    meta: Any = None,
    *,
    packed: tuple[str, ...] = ("masks",),
) -> Path | None:
    """Store ``arrays`` (and JSON ``meta``) under ``key`` atomically; None if it failed.

    Arrays named in ``packed`` must hold only 0 and 1; they are stored as bits.
    """
    path = folder / f"{key}.npz"
    payload = {k: np.asarray(v) for k, v in arrays.items() if v is not None}
    if meta is not None:
        payload["meta"] = np.asarray(json.dumps(meta))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".npz", dir=folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                _save(handle, payload, set(packed))
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; a team may share the cache folder
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as err:
        log.warning("could not write data cache %s (%s)", path, err)
        return None
    return path
