"""gensynth: machine-driven design of small, fast defect-inspection networks."""

from __future__ import annotations

from gensynth.errors import (
    BackendUnavailable,
    ConfigError,
    ConstraintError,
    DataError,
    GensynthError,
    StorageError,
    TrialFailed,
)

__version__ = "0.1.0"

__all__ = [
    "BackendUnavailable",
    "ConfigError",
    "ConstraintError",
    "DataError",
    "GensynthError",
    "StorageError",
    "TrialFailed",
    "__version__",
]
