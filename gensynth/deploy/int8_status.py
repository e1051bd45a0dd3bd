"""Whether a model folder's INT8 model may be used: its verdict, read from metrics.json.

``gensynth export --int8`` keeps a ``model.int8.onnx`` that lost too much accuracy (so it
can be inspected) but marks it ``passed: false``; whoever runs it asks here first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from gensynth.errors import DataError
from gensynth.vocabulary import METRICS_FILE

__all__ = ["Int8Rejected", "check_int8_usable", "int8_record"]


class Int8Rejected(DataError):
    """An INT8 model that lost more accuracy than its threshold: a negative verdict (exit 3)."""

    exit_code = 3


def int8_record(model_dir: Path) -> dict[str, Any] | None:
    """metrics.json's ``int8`` record of ``model_dir``, or None when there is none."""
    path = Path(model_dir) / METRICS_FILE
    try:
        record = json.loads(path.read_text()).get("int8") if path.is_file() else None
    except (json.JSONDecodeError, AttributeError):
        raise DataError(f"{path} is not valid JSON") from None
    return record if isinstance(record, dict) else None


def check_int8_usable(model_dir: Path) -> None:
    """Nothing, unless metrics.json says the INT8 model failed its accuracy check."""
    record = int8_record(model_dir)
    if record is None or record.get("passed") is not False:
        return
    raise Int8Rejected(
        f"the INT8 model of {str(model_dir)!r} failed its accuracy check: "
        f"{record.get('verdict', 'marked failed in metrics.json')}",
        hint="run model.onnx (FP32, without --int8), or export INT8 again: "
        f"gensynth export {model_dir} --int8",
    )
