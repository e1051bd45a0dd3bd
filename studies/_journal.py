"""Optuna's journal file, read with checks: a file that is no journal is a StorageError.

Optuna replays a journal line by line and fails deep inside with a ``JSONDecodeError``,
a ``UnicodeDecodeError`` or a ``KeyError`` on a file that holds something else, or quietly
shows no studies when the only line is garbage. Here the first line is checked when the
journal is opened and every later line as it is read, and either problem is one error that
names the file.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

from optuna.storages.journal import JournalFileBackend

from gensynth.errors import StorageError

__all__ = ["CheckedJournalFile", "check_journal_head"]

#: The longest first line read to check a journal's head.
_HEAD_BYTES = 1 << 20


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


class CheckedJournalFile(JournalFileBackend):
    """``JournalFileBackend`` whose reads turn a corrupt line into a StorageError."""

    def __init__(self, file_path: str) -> None:
        self._checked_path = Path(file_path)
        check_journal_head(self._checked_path)
        super().__init__(file_path)

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
