"""INT8 by ONNX Runtime's static quantization: an FP32 ONNX model and calibration inputs in,
an INT8 ONNX model out.

The defaults are ONNX Runtime's advice for x86 CPUs with VNNI (this project's target):
QDQ format, uint8 activations, int8 weights quantized per output channel, full 8-bit range,
MinMax calibration, after ``quant_pre_process`` (shape inference and graph optimisation).
Measured on a 147M-MAC ``plain`` net at 200 px (ONNX Runtime 1.32, Xeon with AVX-512 VNNI
and AMX): uint8 activations ran 1.7-2.1x faster than FP32, int8 activations 0.2-0.8x (slower),
and the QOperator format 1.6-1.8x with uint8 and 0.1-0.2x with int8; see benchmarks/int8.py.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

from gensynth.errors import ConfigError, GensynthError

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "QuantSettings",
    "QuantizeError",
    "calibration_batches",
    "quantize_onnx",
    "quantized_op_counts",
]

QuantFormatName = Literal["qdq", "qoperator"]
QuantTypeName = Literal["uint8", "int8"]
CalibrationName = Literal["minmax", "entropy", "percentile"]
_TYPES = {"uint8": "QUInt8", "int8": "QInt8"}
_METHODS = {"minmax": "MinMax", "entropy": "Entropy", "percentile": "Percentile"}
_FORMATS = {"qdq": "QDQ", "qoperator": "QOperator"}
#: Calibration inputs per ``session.run`` while collecting activation ranges.
CALIBRATION_BATCH = 16


class QuantizeError(GensynthError):
    """ONNX Runtime could not quantize a model (an op or shape it cannot handle)."""


@dataclasses.dataclass(frozen=True)
class QuantSettings:
    """How an FP32 ONNX model is quantized; recorded beside every INT8 figure.

    ``format``: ``qdq`` (QuantizeLinear/DequantizeLinear pairs around FP32 ops, fused by ONNX
    Runtime at load) or ``qoperator`` (QLinearConv and kin). ``reduce_range`` quantizes
    weights to 7 bits, for CPUs without VNNI. ``preprocess`` runs ``quant_pre_process``.
    """

    format: QuantFormatName = "qdq"
    per_channel: bool = True
    activation_type: QuantTypeName = "uint8"
    weight_type: QuantTypeName = "int8"
    reduce_range: bool = False
    calibration_method: CalibrationName = "minmax"
    preprocess: bool = True

    def __post_init__(self) -> None:
        choices: dict[str, tuple[str, ...]] = {
            "format": get_args(QuantFormatName),
            "activation_type": get_args(QuantTypeName),
            "weight_type": get_args(QuantTypeName),
            "calibration_method": get_args(CalibrationName),
        }
        for name, valid in choices.items():
            value = getattr(self, name)
            if value not in valid:
                raise ConfigError(
                    f"quantization {name}: expected one of {', '.join(valid)}, got {value!r}"
                )
        for name in ("per_channel", "reduce_range", "preprocess"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(
                    f"quantization {name}: expected true or false, got {getattr(self, name)!r}"
                )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def describe(self) -> str:
        """One line: ``QDQ, per-channel int8 weights, uint8 activations, minmax``."""
        weights = "per-channel" if self.per_channel else "per-tensor"
        bits = ", 7-bit weights (reduce_range)" if self.reduce_range else ""
        return (
            f"{_FORMATS[self.format]}, {weights} {self.weight_type} weights, "
            f"{self.activation_type} activations, {self.calibration_method} calibration{bits}"
        )


def calibration_batches(
    inputs: np.ndarray, batch_size: int = CALIBRATION_BATCH
) -> Iterator[np.ndarray]:
    """``inputs`` (N, C, H, W) float32 in consecutive batches of at most ``batch_size``."""
    import numpy as np

    array = np.ascontiguousarray(inputs, dtype=np.float32)
    for start in range(0, len(array), batch_size):
        yield array[start : start + batch_size]


def _reader(inputs: np.ndarray, name: str, batch_size: int) -> Any:
    """A ``CalibrationDataReader`` that feeds ``inputs`` batch by batch, then None."""
    from onnxruntime.quantization import CalibrationDataReader

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter(calibration_batches(inputs, batch_size))

        def get_next(self) -> dict[str, Any] | None:
            batch = next(self._batches, None)
            return None if batch is None else {name: batch}

        def rewind(self) -> None:
            self._batches = iter(calibration_batches(inputs, batch_size))

    return _Reader()


def quantize_onnx(
    model: bytes,
    calibration: np.ndarray,
    settings: QuantSettings | None = None,
) -> bytes:
    """The INT8 model of the FP32 ONNX ``model``, calibrated on ``calibration``.

    ``calibration``: float32 model inputs (N, C, H, W), already preprocessed exactly as at
    inference; activation ranges come from these alone. The model's ``metadata_props`` are
    carried over, with ``gensynth.precision`` set to ``int8``.
    """
    import numpy as np
    import onnx

    settings = settings or QuantSettings()
    array = np.asarray(calibration)
    if array.ndim != 4 or len(array) == 0:
        raise ConfigError(
            f"calibration: expected a non-empty (N, C, H, W) array, got shape {array.shape}"
        )
    source = onnx.load_model_from_string(model)
    name = source.graph.input[0].name
    with tempfile.TemporaryDirectory(prefix="gensynth-int8-") as folder:
        fp32, pre, out = (Path(folder) / f for f in ("fp32.onnx", "pre.onnx", "int8.onnx"))
        fp32.write_bytes(model)
        try:
            if settings.preprocess:
                _pre_process(fp32, pre)
            else:
                pre = fp32
            # The histogram calibrators (entropy, percentile) stack every batch's outputs
            # into one array: a short last batch breaks them, so they get one image a run.
            size = CALIBRATION_BATCH if settings.calibration_method == "minmax" else 1
            _quantize_static(pre, out, _reader(array, name, size), settings)
        except GensynthError:
            raise
        except Exception as error:
            first = str(error).splitlines()[0] if str(error) else ""
            raise QuantizeError(
                f"ONNX Runtime could not quantize the model: {type(error).__name__}: {first}",
                hint="run with GENSYNTH_DEBUG=1 for the traceback, or try another "
                "quantization format",
            ) from error
        quantized = onnx.load(str(out))
    _carry_metadata(source, quantized)
    return quantized.SerializeToString()


def _pre_process(source: Path, out: Path) -> None:
    """``quant_pre_process``: shape inference and graph optimisation before quantizing.

    Its symbolic shape inference gives up on some graphs (a U-Net's bilinear Resize on a
    dynamic batch); ONNX's own shape inference is enough for our conv nets, so it retries
    without the symbolic pass.
    """
    from onnxruntime.quantization.shape_inference import quant_pre_process

    try:
        quant_pre_process(str(source), str(out))
    except Exception:
        quant_pre_process(str(source), str(out), skip_symbolic_shape=True)


def _quantize_static(source: Path, out: Path, reader: Any, settings: QuantSettings) -> None:
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    quantize_static(
        str(source),
        str(out),
        reader,
        quant_format=getattr(QuantFormat, _FORMATS[settings.format]),
        per_channel=settings.per_channel,
        reduce_range=settings.reduce_range,
        activation_type=getattr(QuantType, _TYPES[settings.activation_type]),
        weight_type=getattr(QuantType, _TYPES[settings.weight_type]),
        calibrate_method=getattr(CalibrationMethod, _METHODS[settings.calibration_method]),
    )


def _carry_metadata(source: Any, quantized: Any) -> None:
    """Copy the FP32 model's ``metadata_props`` (class names, preprocessing) into the INT8."""
    props = {p.key: p.value for p in source.metadata_props}
    props["gensynth.precision"] = "int8"
    del quantized.metadata_props[:]
    for key, value in props.items():
        entry = quantized.metadata_props.add()
        entry.key, entry.value = key, value


def quantized_op_counts(model: bytes) -> dict[str, int]:
    """How many nodes of each quantization op type the model holds (QuantizeLinear, ...)."""
    import collections

    import onnx

    graph = onnx.load_model_from_string(model).graph
    kinds = collections.Counter(node.op_type for node in graph.node)
    wanted = ("QuantizeLinear", "DequantizeLinear", "QLinear", "ConvInteger", "MatMulInteger")
    return {op: count for op, count in sorted(kinds.items()) if op.startswith(wanted)}
