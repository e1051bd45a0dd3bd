"""The one error hierarchy of gensynth: every failure a user can cause is one of these."""

from __future__ import annotations

import json
import os
from typing import Any

__all__ = [
    "BackendUnavailable",
    "ConfigError",
    "ConstraintError",
    "DataError",
    "FileAccessError",
    "GensynthError",
    "RequirementUnmet",
    "StorageError",
    "TrialFailed",
    "debug_enabled",
    "error_from_json",
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

    def to_json(self) -> dict[str, Any]:
        """The error as plain data (class path, message, hint, plain attributes), to send
        from another process; :func:`error_from_json` raises it again there."""
        state = {}
        for name, value in vars(self).items():
            if name in ("message", "hint"):
                continue
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                continue
            state[name] = value
        kind = type(self)
        return {"class": f"{kind.__module__}.{kind.__qualname__}", "message": self.message,
                "hint": self.hint, "state": state}  # fmt: skip


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


class RequirementUnmet(GensynthError):
    """A negative verdict: a requirement such as ``--accuracy-min`` that no candidate met."""

    exit_code = 3


class StorageError(GensynthError):
    """A study storage that cannot be opened or read; messages never hold passwords."""


class TrialFailed(GensynthError):
    """A candidate that could not be evaluated (e.g. diverging loss); the study goes on."""


def error_from_json(data: dict[str, Any]) -> GensynthError:
    """The error :meth:`GensynthError.to_json` described, as its own class where that is a
    gensynth error class (else a BackendUnavailable), with its attributes and hint."""
    import importlib

    module, _, name = str(data.get("class", "")).rpartition(".")
    kind: type[GensynthError] = BackendUnavailable
    if module == "gensynth" or module.startswith("gensynth."):
        try:
            found = getattr(importlib.import_module(module), name, None)
        except ImportError:
            found = None
        if isinstance(found, type) and issubclass(found, GensynthError):
            kind = found
    error = kind.__new__(kind)
    GensynthError.__init__(error, str(data.get("message", "")), hint=data.get("hint"))
    error.__dict__.update(data.get("state") or {})
    return error


def debug_enabled() -> bool:
    """Whether ``GENSYNTH_DEBUG`` asks for tracebacks: any value but empty or ``0``."""
    return os.environ.get("GENSYNTH_DEBUG", "") not in ("", "0")
