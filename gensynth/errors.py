"""The one error hierarchy of gensynth: every failure a user can cause is one of these."""

from __future__ import annotations

from typing import Any

__all__ = [
    "BackendUnavailable",
    "ConfigError",
    "ConstraintError",
    "DataError",
    "FileAccessError",
    "GensynthError",
    "StorageError",
    "TrialFailed",
]


class GensynthError(Exception):
    """Base of all errors the CLI turns into one ``Error:`` line.

    ``message`` says what was wrong and what was expected ("expected X, got Y");
    ``hint`` says what to try next. Exit code 1 unless a subclass says otherwise.
    """

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with its attributes, whatever the subclass's ``__init__`` takes (an error
        raised in a worker or timing process reaches the parent whole, hint included)."""
        return _restore, (type(self), self.args, dict(self.__dict__))


def _restore(cls: type[GensynthError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class ConfigError(GensynthError):
    """Bad flags, bad config or spec files, unknown names: a usage error (exit 2)."""

    exit_code = 2


class DataError(GensynthError):
    """A data set that is missing, malformed, or does not fit the task or model."""


class ConstraintError(GensynthError):
    """An operational limit that cannot be met, or a cost that cannot be counted."""


class BackendUnavailable(GensynthError):
    """A latency backend whose hardware or package is missing on this machine."""


class FileAccessError(GensynthError):
    """A file or folder the system refused: no permission, a read-only or a full disk."""


class StorageError(GensynthError):
    """A study storage that cannot be opened or read; messages never hold passwords."""


class TrialFailed(GensynthError):
    """A candidate that could not be evaluated (e.g. diverging loss); the study goes on."""
