"""Optuna's journal file, read with checks and mended after a crash.

Optuna replays a journal line by line and fails deep inside with a ``JSONDecodeError``,
a ``UnicodeDecodeError`` or a ``KeyError`` on a file that holds something else, or quietly
shows no studies when the only line is garbage. Here the first line is checked when the
journal is opened and every later line as it is read, and either problem is one error that
names the file.

A writer killed in the middle of an append (``kill -9``, power loss) leaves a torn last line
with no newline. Optuna skips it on reading, but the next append is glued onto it, and from
then on the journal cannot be read. Every append here first drops such a tail, under the
journal's lock, where no live writer can be half-way through: the torn entry was never
acknowledged to the process that wrote it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from pathlib import Path
from typing import Any

from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

from gensynth.errors import StorageError

__all__ = ["CheckedJournalFile", "check_journal_head", "drop_torn_tail"]

#: The longest first line read to check a journal's head.
_HEAD_BYTES = 1 << 20
_CHUNK = 1 << 16


def _not_a_journal(path: Path, why: str) -> StorageError:
    return StorageError(
        f"journal {str(path)!r} is not an Optuna journal: {why}",
        hint="point --storage at a journal gensynth wrote, or at a new file",
    )


def _is_entry(value: Any) -> bool:
    return isinstance(value, dict) and "op_code" in value


def check_journal_head(path: Path) -> None:
    """Refuse a file whose first line is not a journal entry; a new or empty file is fine."""
    if not path.is_file():
        return
    with path.open("rb") as handle:
        head = handle.readline(_HEAD_BYTES)
    if not head:
        return
    if not head.endswith(b"\n"):
        if head.lstrip().startswith(b"{"):
            return  # another process is writing the first entry right now
        raise _not_a_journal(path, "line 1 is not JSON")
    try:
        entry = json.loads(head)
    except ValueError:  # JSONDecodeError and UnicodeDecodeError both are
        raise _not_a_journal(path, "line 1 is not JSON") from None
    if not _is_entry(entry):
        raise _not_a_journal(path, "line 1 is JSON but not a journal entry")


def _end_of_last_line(handle: Any, size: int) -> int:
    """The offset just past the file's last newline (0 if it has none)."""
    end = size
    while end > 0:
        start = max(0, end - _CHUNK)
        handle.seek(start)
        found = handle.read(end - start).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        end = start
    return 0


def drop_torn_tail(path: Path) -> int:
    """Cut a last line that has no newline (a writer died mid-append); the bytes dropped.

    Call it only while holding the journal's lock.
    """
    with path.open("r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return 0
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return 0
        keep = _end_of_last_line(handle, size)
        handle.truncate(keep)
        handle.flush()
        os.fsync(handle.fileno())
    return size - keep


class _MendingLock(JournalFileSymlinkLock):
    """Optuna's default journal lock, which drops a torn tail once it is held."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self._journal = path

    def acquire(self) -> bool:
        acquired = super().acquire()
        if acquired:
            try:
                drop_torn_tail(self._journal)
            except BaseException:
                self.release()
                raise
        return acquired


class CheckedJournalFile(JournalFileBackend):
    """``JournalFileBackend`` whose reads turn a corrupt line into a StorageError and whose
    appends first drop a torn last line."""

    def __init__(self, file_path: str) -> None:
        self._checked_path = Path(file_path)
        check_journal_head(self._checked_path)
        super().__init__(file_path, lock_obj=_MendingLock(self._checked_path))

    def read_logs(self, log_number_from: int) -> Generator[dict[str, Any], None, None]:
        line = log_number_from
        try:
            for log in super().read_logs(log_number_from):
                line += 1
                if not _is_entry(log):
                    raise _not_a_journal(
                        self._checked_path, f"line {line} is JSON but not a journal entry"
                    )
                yield log
        except ValueError:  # Optuna raises a bad line's error when it reads the next one
            raise _not_a_journal(self._checked_path, f"line {line + 1} is not JSON") from None
