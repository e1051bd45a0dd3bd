"""Defect data: synthetic NEU-like generation, real-format loaders, splits and caching.

- :func:`load_dataset` gives a :class:`DefectDataset` from ``"synthetic"`` or a folder in any
  layout of :data:`FORMATS` (``neu-cls``, ``neu-det``, ``neu-seg``, ``magnetic-tile``,
  ``generic-cls``, ``generic-seg``), decoded once and cached.
- :func:`check_dataset` reports what a folder holds and every bad file by path.
- :mod:`gensynth.data.preprocess` is how an image file becomes model input (channels, resize
  policy, input size, normalisation), shared by training and ``predict``; a ``--split`` CSV
  fixes the split (``_split_file``).
- :func:`synthesize` writes the synthetic set in the NEU-CLS or NEU-Seg layout.
- :func:`clean_background` and :func:`inject_defect` make defect-free steel and paste one
  known defect on it, for explainability audits.

The generator (which needs scipy) is imported on first use, so importing this package for
:class:`DefectDataset` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# The built-in readers register themselves in FORMATS when their module is imported.
from gensynth.data import _readers  # noqa: F401
from gensynth.data._check import CheckReport, check_dataset
from gensynth.data._classes import NEU_CLASSES, NEU_PREFIX, SEG_CLASSES
from gensynth.data._formats import FORMATS, FormatReader, Item, Problem, Scan, detect_format
from gensynth.data._load import load_dataset
from gensynth.data.dataset import SPLITS, DefectDataset, Split

if TYPE_CHECKING:
    from gensynth.data._defects import inject_defect
    from gensynth.data._synth import SynthReport, synthesize
    from gensynth.data._texture import clean_background

__all__ = [
    "FORMATS",
    "NEU_CLASSES",
    "NEU_PREFIX",
    "SEG_CLASSES",
    "SPLITS",
    "CheckReport",
    "DefectDataset",
    "FormatReader",
    "Item",
    "Problem",
    "Scan",
    "Split",
    "SynthReport",
    "check_dataset",
    "clean_background",
    "detect_format",
    "inject_defect",
    "load_dataset",
    "synthesize",
]

_LAZY = {
    "inject_defect": "gensynth.data._defects",
    "clean_background": "gensynth.data._texture",
    "SynthReport": "gensynth.data._synth",
    "synthesize": "gensynth.data._synth",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gensynth.data' has no attribute {name!r}")
