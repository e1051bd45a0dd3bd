"""`gensynth export`: writes a checked ONNX file, refuses bad ones, maps errors to exit codes."""

from __future__ import annotations

import json

import onnxruntime as ort
import pytest
from backend_helpers import tiny_spec
from typer.testing import CliRunner

from gensynth.backends import _export
from gensynth.cli.main import app
from gensynth.modeldir import ONNX_FILE, WEIGHTS_FILE, save_model_dir

runner = CliRunner()


@pytest.fixture()
def model_dir(tmp_path):
    spec = tiny_spec()
    folder = tmp_path / "model"
    save_model_dir(folder, spec, spec.build(), {"accuracy": 0.5})
    return folder


def test_export_writes_model_onnx_and_reports_parity(model_dir):
    result = runner.invoke(app, ["export", str(model_dir)])
    assert result.exit_code == 0, result.output
    assert "Parity: max |torch - ONNX|" in result.stdout and "batch 1 and 3" in result.stdout
    assert str(model_dir / ONNX_FILE) in result.stdout.replace("\n", "")
    session = ort.InferenceSession(str(model_dir / ONNX_FILE), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape[1:] == [1, 16, 16]


def test_export_to_a_chosen_path_as_json(model_dir, tmp_path):
    target = tmp_path / "out" / "best.onnx"
    result = runner.invoke(app, ["export", str(model_dir), "--onnx", str(target), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["path"] == str(target) and target.is_file()
    assert data["max_abs_diff"] <= 1e-5 and data["parity_batches"] == [1, 3]
    assert not (model_dir / ONNX_FILE).exists()


def test_model_dir_without_weights_is_an_error(model_dir):
    (model_dir / WEIGHTS_FILE).unlink()
    result = runner.invoke(app, ["export", str(model_dir)])
    assert result.exit_code == 1
    assert "Error:" in result.stderr and WEIGHTS_FILE in result.stderr
    assert "Traceback" not in result.output


def test_parity_failure_is_refused_with_the_difference(model_dir, monkeypatch):
    monkeypatch.setattr(_export, "_session_parity", lambda *_args: 0.25)
    result = runner.invoke(app, ["export", str(model_dir)])
    assert result.exit_code == 1
    assert "Error:" in result.stderr and "2.500e-01" in result.stderr
    assert "1.0e-04" in result.stderr
    assert not (model_dir / ONNX_FILE).exists()


def test_a_looser_tolerance_is_honoured(model_dir, monkeypatch):
    monkeypatch.setattr(_export, "_session_parity", lambda *_args: 0.25)
    result = runner.invoke(app, ["export", str(model_dir), "--tolerance", "0.5"])
    assert result.exit_code == 0, result.output
    assert (model_dir / ONNX_FILE).is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--tolerance", "-1"], "--tolerance: expected a number >= 0"), ([], "does not exist")],
)
def test_usage_errors_exit_2(tmp_path, model_dir, args, message):
    folder = model_dir if args else tmp_path / "missing"
    result = runner.invoke(app, ["export", str(folder), *args])
    assert result.exit_code == 2
    assert message in result.stderr
