"""gensynth: machine-driven design of small, fast defect-inspection networks.

The Python API is :func:`explore`, :func:`train`, :func:`load_model` and :func:`predict`
(see :mod:`gensynth.api`, which type checkers should import from); they are imported on
first use, so ``import gensynth`` stays cheap and imports no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

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
    "explore",
    "load_model",
    "predict",
    "train",
]

_API = frozenset({"explore", "load_model", "predict", "train"})


def __getattr__(name: str) -> Any:
    if name in _API:  # by module name, not an import statement: the API sits at the top
        return getattr(importlib.import_module("gensynth.api"), name)
    raise AttributeError(f"module 'gensynth' has no attribute {name!r}")
