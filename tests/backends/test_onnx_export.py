"""ONNX export: parity with torch, dynamic batch, and refusal without leaving files behind."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch
from backend_helpers import TINY_SHAPE, tiny_cnn

from gensynth.backends import ExportError, ParityError, _export, export_onnx, onnx_bytes
from gensynth.errors import ConfigError


def _ort_matches_torch(path, model, batch: int) -> float:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(batch).standard_normal((batch, *TINY_SHAPE), dtype=np.float32)
    with torch.inference_mode():
        expected = model(torch.from_numpy(x)).numpy()
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    assert got.shape == expected.shape
    return float(np.abs(got - expected).max())


def test_export_has_parity_and_a_dynamic_batch(tmp_path):
    model = tiny_cnn()
    report = export_onnx(model, TINY_SHAPE, tmp_path / "m.onnx")
    assert report.path.is_file() and report.path == tmp_path / "m.onnx"
    assert 0 <= report.max_abs_diff <= 1e-5
    assert report.opset >= 17 and report.seconds > 0
    assert report.exporter == "torchscript" and report.parity_batches == (1, 3)
    for batch in (1, 3):
        assert _ort_matches_torch(report.path, model, batch) <= 1e-5


def test_export_keeps_the_model_in_training_mode_if_it_was(tmp_path):
    model = tiny_cnn().train()
    export_onnx(model, TINY_SHAPE, tmp_path / "m.onnx")
    assert model.training


def test_static_batch_is_checked_at_batch_one_only(tmp_path):
    report = export_onnx(tiny_cnn(), TINY_SHAPE, tmp_path / "m.onnx", dynamic_batch=False)
    assert report.parity_batches == (1,)
    session = ort.InferenceSession(str(report.path), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[0] == 1


def test_parity_failure_refuses_and_writes_nothing(tmp_path, monkeypatch):
    # Simulate a broken export: the bytes come from a different model with the same shapes.
    wrong = tiny_cnn(width=6)
    real = _export.onnx_bytes
    monkeypatch.setattr(_export, "onnx_bytes", lambda _m, shape, **kw: real(wrong, shape, **kw))
    target = tmp_path / "m.onnx"
    target.write_bytes(b"previous export")
    with pytest.raises(ParityError) as info:
        export_onnx(tiny_cnn(), TINY_SHAPE, target)
    assert info.value.max_abs_diff > 1e-4 and info.value.tolerance == 1e-4
    assert f"{info.value.max_abs_diff:.3e}" in info.value.message
    assert target.read_bytes() == b"previous export"  # nothing already written is lost
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.onnx"]  # no temporary left


def test_exporter_failure_is_a_typed_error(tmp_path, monkeypatch):
    def broken(*_args):
        raise RuntimeError("unsupported operator aten::frobnicate")

    monkeypatch.setattr(_export, "_torchscript", broken)
    monkeypatch.setattr(_export, "_dynamo", broken)
    with pytest.raises(ExportError, match="aten::frobnicate"):
        export_onnx(tiny_cnn(), TINY_SHAPE, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_dynamo_exporter_is_the_fallback_and_has_parity(tmp_path, monkeypatch):
    def broken(*_args):
        raise RuntimeError("the TorchScript exporter was removed")

    monkeypatch.setattr(_export, "_torchscript", broken)
    model = tiny_cnn()
    report = export_onnx(model, TINY_SHAPE, tmp_path / "m.onnx")
    assert report.exporter == "dynamo" and report.max_abs_diff <= 1e-5
    assert _ort_matches_torch(report.path, model, 3) <= 1e-5


def test_bad_arguments_are_usage_errors(tmp_path):
    with pytest.raises(ConfigError, match="tolerance"):
        export_onnx(tiny_cnn(), TINY_SHAPE, tmp_path / "m.onnx", tolerance=-1.0)
    with pytest.raises(ConfigError, match="is a folder"):
        export_onnx(tiny_cnn(), TINY_SHAPE, tmp_path)
    with pytest.raises(ConfigError, match="exporter"):
        onnx_bytes(tiny_cnn(), TINY_SHAPE, exporter="tflite")  # type: ignore[arg-type]
