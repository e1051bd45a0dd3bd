"""`gensynth explain` refuses bad input with one `Error:` line and the right exit code."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from explain_helpers import tiny_spec
from PIL import Image
from typer.testing import CliRunner

from gensynth.cli.main import app
from gensynth.modeldir import SPEC_FILE, WEIGHTS_FILE, save_model_dir
from gensynth.prototypes import dump_spec

runner = CliRunner()


def _explain(model: Path, out: Path, *args: str):
    base = ["explain", str(model), "--out", str(out), "--samples", "2", "--threads", "1"]
    return runner.invoke(app, [*base, "--methods", "gradcam", *args])


def _one_error(result, code: int, *needles: str) -> str:
    assert result.exit_code == code, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.stderr
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _copy(model_dir: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(model_dir, tmp_path / "model"))


def test_missing_weights(model_dir, tmp_path):
    model = _copy(model_dir, tmp_path)
    (model / WEIGHTS_FILE).unlink()
    _one_error(_explain(model, tmp_path / "r"), 1, "weights.safetensors")


def test_corrupt_weights_are_never_unpickled(model_dir, tmp_path):
    model = _copy(model_dir, tmp_path)
    (model / WEIGHTS_FILE).write_bytes(b"\x80\x04not a safetensors file")
    _one_error(_explain(model, tmp_path / "r"), 1, "missing or corrupt")


def test_spec_weights_mismatch_names_the_layer(model_dir, tmp_path):
    model = _copy(model_dir, tmp_path)
    dump_spec(tiny_spec().scale_width(2.0), model / SPEC_FILE)
    _one_error(_explain(model, tmp_path / "r"), 1, "layer", "expected shape")


def _saved(tmp_path: Path, spec, toy_root: Path) -> Path:
    metrics = {"data": {"source": str(toy_root)}, "seed": 0}
    return save_model_dir(tmp_path / "odd", spec, spec.build(), metrics)


def test_three_channel_model_on_grayscale_data(tmp_path, toy_root):
    model = _saved(tmp_path, tiny_spec(in_channels=3), toy_root)
    _one_error(_explain(model, tmp_path / "r"), 1, "3 input channel", "has 1")


def test_class_count_mismatch(tmp_path, toy_root):
    model = _saved(tmp_path, tiny_spec(num_classes=6), toy_root)
    _one_error(_explain(model, tmp_path / "r"), 1, "6 classes", "has 3", "a&b <script>")


def test_samples_zero(model_dir, tmp_path):
    _one_error(_explain(model_dir, tmp_path / "r", "--samples", "0"), 2, "--samples", "got 0")


def test_unknown_method_lists_valid_ones_and_the_closest(model_dir, tmp_path):
    result = _explain(model_dir, tmp_path / "r", "--methods", "gradcam,oclusion")
    line = _one_error(result, 2, "oclusion", "critical, gradcam, ig, occlusion")
    assert "did you mean 'occlusion'" in line
    assert not (tmp_path / "r").exists()  # refused before anything was written


def test_non_empty_report_folder_needs_overwrite(model_dir, tmp_path):
    out = tmp_path / "r"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    _one_error(_explain(model_dir, out), 2, "not empty")
    assert (out / "keep.txt").read_text() == "mine"


@pytest.mark.parametrize(
    ("gate", "needles"),
    [
        ("impact=0.5", ["unknown metric 'impact'", "impact_score, coverage", "did you mean"]),
        ("impact_score=high", ["expected a number from 0 to 1", "'high'"]),
        ("impact_score=60", ["expected a number from 0 to 1", "'60'"]),
        ("impact_score", ["expected METRIC=VALUE"]),
        ("ig.impact_score=0.5", ["method 'ig' is not explained"]),
    ],
)
def test_malformed_fail_under(model_dir, tmp_path, gate, needles):
    _one_error(_explain(model_dir, tmp_path / "r", "--fail-under", gate), 2, *needles)


def test_tau_out_of_range(model_dir, tmp_path):
    _one_error(_explain(model_dir, tmp_path / "r", "--tau", "1.5"), 2, "--tau")


def test_mask_gate_without_masks_is_refused(model_dir, tmp_path):
    root = tmp_path / "nomask"
    for name in ("patches", "scratches", "a&b <script>"):
        (root / name).mkdir(parents=True)
        for n in range(4):
            Image.fromarray(np.full((32, 32), 40 * n, np.uint8)).save(root / name / f"{n}.png")
    result = _explain(model_dir, tmp_path / "r", "--data", str(root), "--fail-under",
                      "mask_energy=0.3")  # fmt: skip
    _one_error(result, 2, "no defect masks")
