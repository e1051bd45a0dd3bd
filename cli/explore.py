"""`gensynth explore`: (being built)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

#: Top-level commands this module adds to the main app, by name.
COMMANDS: dict[str, Callable[..., Any]] = {}
