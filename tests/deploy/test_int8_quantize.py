"""``quantize_onnx``: an FP32 ONNX model and calibration inputs in, an INT8 ONNX model out."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn

from gensynth.backends import QuantSettings, onnx_bytes, quantize_onnx, quantized_op_counts
from gensynth.errors import ConfigError

SHAPE = (1, 16, 16)


def _fp32() -> bytes:
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, 3),
    ).eval()
    data, _ = onnx_bytes(model, SHAPE)
    proto = onnx.load_model_from_string(data)
    entry = proto.metadata_props.add()
    entry.key, entry.value = "gensynth.task", "classify"
    return proto.SerializeToString()


def _inputs(n: int = 12) -> np.ndarray:
    return np.random.default_rng(0).uniform(-1, 1, (n, *SHAPE)).astype(np.float32)


def _run(model: bytes, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})[0]


def test_qdq_model_holds_quantize_nodes_and_stays_close_to_fp32():
    fp32 = _fp32()
    int8 = quantize_onnx(fp32, _inputs())
    ops = quantized_op_counts(int8)
    assert ops.get("QuantizeLinear", 0) > 0 and ops.get("DequantizeLinear", 0) > 0
    assert quantized_op_counts(fp32) == {}
    x = _inputs(4)
    reference, quantized = _run(fp32, x), _run(int8, x)
    assert quantized.shape == reference.shape
    scale = float(np.abs(reference).max())
    assert float(np.abs(reference - quantized).max()) < 0.1 * scale  # 8 bits, not garbage


def test_per_channel_weights_have_one_scale_per_output_channel():
    int8 = onnx.load_model_from_string(quantize_onnx(_fp32(), _inputs()))
    scales = {init.name: init for init in int8.graph.initializer}
    conv_scales = [
        scales[node.input[1]]
        for node in int8.graph.node
        if node.op_type == "DequantizeLinear" and node.input[1] in scales
    ]
    assert any(list(s.dims) == [8] for s in conv_scales), [list(s.dims) for s in conv_scales]


def test_metadata_is_carried_over_and_marked_int8():
    int8 = onnx.load_model_from_string(quantize_onnx(_fp32(), _inputs()))
    props = {p.key: p.value for p in int8.metadata_props}
    assert props["gensynth.task"] == "classify"
    assert props["gensynth.precision"] == "int8"


def test_qoperator_format_uses_quantized_operators():
    int8 = quantize_onnx(_fp32(), _inputs(), QuantSettings(format="qoperator"))
    assert quantized_op_counts(int8).get("QLinearConv", 0) > 0


def test_the_calibration_decides_the_activation_ranges():
    fp32 = _fp32()
    narrow = quantize_onnx(fp32, _inputs() * 0.01)
    wide = quantize_onnx(fp32, _inputs())
    assert narrow != wide


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"format": "qint"}, "format"),
        ({"activation_type": "int4"}, "activation_type"),
        ({"per_channel": "yes"}, "per_channel"),
        ({"calibration_method": "mean"}, "calibration_method"),
    ],
)
def test_bad_settings_are_named(kwargs, word):
    with pytest.raises(ConfigError, match=word):
        QuantSettings(**kwargs)


def test_empty_calibration_is_refused():
    with pytest.raises(ConfigError, match="calibration"):
        quantize_onnx(_fp32(), np.zeros((0, *SHAPE), np.float32))


def test_settings_describe_themselves():
    text = QuantSettings().describe()
    assert text.startswith("QDQ, per-channel int8 weights, uint8 activations")
    assert QuantSettings().to_dict()["per_channel"] is True
