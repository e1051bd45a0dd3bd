"""Paths users type: one-line errors that name the path and say what is wrong with it.

A file where a folder is expected (or the reverse) says so instead of "does not exist"; a
folder that cannot be written is refused before any work; and :func:`error_from_os` turns
any ``OSError`` into a typed error naming the path and the system's reason, which is what
the CLI does with every ``OSError`` that reaches it.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from gensynth.errors import ConfigError, FileAccessError, GensynthError

__all__ = [
    "check_out_dir",
    "error_from_os",
    "prepare_out_dir",
    "require_file",
    "require_folder",
    "require_writable_folder",
    "write_atomically",
]


def _show(path: Path | str) -> str:
    return repr(str(path))


def _file_above(path: Path) -> Path | None:
    """The nearest part of ``path`` (itself included) that is a file, if any."""
    for part in (path, *path.parents):
        if part.is_file():
            return part
    return None


def _missing(path: Path, what: str, hint: str | None) -> ConfigError:
    blocker = _file_above(path.parent)
    if blocker is not None:
        return ConfigError(
            f"{what} {_show(path)}: {_show(blocker)} is a file, expected a folder",
            hint=hint or "check the path",
        )
    return ConfigError(f"{what} {_show(path)} does not exist", hint=hint or "check the path")


def require_file(path: Path, *, what: str, hint: str | None = None) -> Path:
    """``path`` if it is a file; else a ConfigError that says what it is instead."""
    if path.is_file():
        return path
    if path.is_dir():
        raise ConfigError(f"{what} {_show(path)} is a folder, expected a file", hint=hint)
    raise _missing(path, what, hint)


def require_folder(path: Path, *, what: str, hint: str | None = None) -> Path:
    """``path`` if it is a folder; else a ConfigError that says what it is instead."""
    if path.is_dir():
        return path
    if path.exists():
        raise ConfigError(f"{what} {_show(path)} is a file, expected a folder", hint=hint)
    raise _missing(path, what, hint)


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def require_writable_folder(path: Path, *, what: str) -> None:
    """Refuse ``path`` (a folder, or one to be made) when this process cannot write it.

    For a folder that does not exist yet, its nearest existing parent must be writable.
    """
    target = _nearest_existing(path)
    if target.exists() and not target.is_dir():
        raise ConfigError(
            f"{what} {_show(path)}: {_show(target)} is a file, expected a folder",
            hint="choose another path",
        )
    if os.access(target, os.W_OK | os.X_OK):
        return
    where = "" if target == path else f" (its folder {_show(target)})"
    if _read_only(target):
        raise FileAccessError(
            f"{what} {_show(path)}{where} is on a read-only file system",
            hint="choose a folder on a writable disk",
        )
    raise FileAccessError(
        f"{what} {_show(path)}{where} is not writable: permission denied",
        hint=f"check its owner and mode (ls -ld {target}), or choose a folder you can write",
    )


def _filename(error: OSError) -> str | None:
    name = error.filename
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    return name if isinstance(name, str) else None


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _denied(path: Path) -> FileAccessError:
    if path.exists():
        return FileAccessError(
            f"permission denied: {_show(path)}",
            hint=f"check its owner and mode (ls -ld {path}), or choose a path you can use",
        )
    folder = _nearest_existing(path.parent)
    return FileAccessError(
        f"cannot create {_show(path)}: folder {_show(folder)} is not writable (permission denied)",
        hint=f"check its owner and mode (ls -ld {folder}), or choose a folder you can write",
    )


def error_from_os(error: OSError) -> GensynthError:
    """A typed one-line error for an ``OSError``: the path, and what the system said."""
    name = _filename(error)
    reason = error.strerror or str(error)
    if name is None:
        return GensynthError(reason)
    path, code = Path(name), error.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        return FileAccessError(
            f"disk full: cannot write {_show(path)}",
            hint="free some space, or write to another disk",
        )
    if code in (errno.EACCES, errno.EPERM):
        return _denied(path)
    if code == errno.EROFS:
        return FileAccessError(
            f"{_show(path)} is on a read-only file system", hint="choose a writable disk"
        )
    if code in (errno.EEXIST, errno.ENOTDIR):
        blocker = _file_above(path)
        if blocker is not None:
            where = "" if blocker == path else f" (in {_show(path)})"
            return ConfigError(f"{_show(blocker)} is a file, expected a folder{where}")
        return ConfigError(f"{_show(path)} exists already", hint="choose a new path")
    if code == errno.EISDIR:
        return ConfigError(f"{_show(path)} is a folder, expected a file")
    if code == errno.ENOENT:
        return _missing(path, "path", None)
    return FileAccessError(f"{_show(path)}: {reason}")


def check_out_dir(path: Path, *, overwrite: bool, what: str = "output folder") -> Path:
    """Refuse ``path`` as an output folder before any work: a file, a folder that is not
    empty (unless ``overwrite``), or one this process cannot write. Writes nothing."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {str(path)!r} is a file, expected a folder")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise ConfigError(
            f"{what} {str(path)!r} exists and is not empty",
            hint="choose a new folder, or pass --overwrite to write into it",
        )
    require_writable_folder(path, what=what)
    return path


def prepare_out_dir(path: Path, *, overwrite: bool, what: str = "output folder") -> Path:
    """Create ``path``; refuse a non-empty folder unless ``overwrite`` (never deletes files)."""
    check_out_dir(path, overwrite=overwrite, what=what)
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_atomically(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it, so a reader never sees
    a half-written file and a failure leaves the old one (or none) in place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        if isinstance(data, str):
            temporary.write_text(data, encoding="utf-8")
        else:
            temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
