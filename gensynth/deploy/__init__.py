"""From a trained model folder to an inspection line: ONNX metadata, ``predict``, INT8.

- :mod:`gensynth.deploy.metadata`: the ``gensynth.*`` keys every exported ONNX file carries
  (task, classes, preprocessing, decision rule, spec hash, version), and
  :func:`export_model_dir`, the one export of a model folder that writes them.
- :class:`Predictor`: a model folder or gensynth ONNX file run on image files.
- :func:`export_int8`: ``model.int8.onnx`` by static quantization, calibrated on training
  images, scored beside FP32 on the test split, recorded in metrics.json (``int8``).

Importing this package imports neither torch nor onnxruntime.
"""

from __future__ import annotations

from gensynth.deploy._images import BadImage, expand_paths
from gensynth.deploy._outputs import PredictionOutput, rows_csv
from gensynth.deploy.int8 import DEFAULT_MAX_DROP, Int8Result, export_int8
from gensynth.deploy.int8_status import Int8Rejected, check_int8_usable
from gensynth.deploy.metadata import (
    ModelMetadata,
    export_model_dir,
    metadata_for,
    read_onnx_metadata,
    stamp_onnx,
)
from gensynth.deploy.predict import (
    DEFAULT_BATCH,
    INT8_ONNX_FILE,
    PREDICT_BACKENDS,
    ClassPrediction,
    Prediction,
    Predictor,
    SegmentPrediction,
    resolve_onnx,
    summarize,
)

__all__ = [
    "DEFAULT_BATCH",
    "DEFAULT_MAX_DROP",
    "INT8_ONNX_FILE",
    "PREDICT_BACKENDS",
    "BadImage",
    "ClassPrediction",
    "Int8Rejected",
    "Int8Result",
    "ModelMetadata",
    "Prediction",
    "PredictionOutput",
    "Predictor",
    "SegmentPrediction",
    "check_int8_usable",
    "expand_paths",
    "export_int8",
    "export_model_dir",
    "metadata_for",
    "read_onnx_metadata",
    "resolve_onnx",
    "rows_csv",
    "stamp_onnx",
    "summarize",
]
