"""The words every layer shares: tasks, default backend and storage, file names, cache folder.

A ground file: it imports nothing of gensynth but the errors, so any module may use it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, get_args

__all__ = [
    "DEFAULT_BACKEND",
    "DEFAULT_STORAGE",
    "METRICS_FILE",
    "ONNX_FILE",
    "SPEC_FILE",
    "TASKS",
    "WEIGHTS_FILE",
    "Task",
    "cache_dir",
]

#: What a network is for: image classes, or a per-pixel defect mask.
Task = Literal["classify", "segment"]
TASKS: tuple[str, ...] = get_args(Task)

#: The latency backend used when none is named (always installed with gensynth).
DEFAULT_BACKEND = "onnxruntime-cpu"
#: The study storage used when none is named: one SQLite file in the current folder.
DEFAULT_STORAGE = "sqlite:///gensynth.db"

#: The files of a model folder.
SPEC_FILE = "spec.yaml"
WEIGHTS_FILE = "weights.safetensors"
METRICS_FILE = "metrics.json"
ONNX_FILE = "model.onnx"


def cache_dir() -> Path:
    """``$GENSYNTH_CACHE``, else the user cache folder (``$XDG_CACHE_HOME/gensynth`` on Linux).

    Decoded images and measured latency are kept below it.
    """
    if os.environ.get("GENSYNTH_CACHE"):
        return Path(os.environ["GENSYNTH_CACHE"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("gensynth", appauthor=False))
