from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from gensynth.cli.main import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _in_empty_folder(tmp_path, monkeypatch):
    """Run in an empty folder: a default --out left by `make explore` in the checkout (which
    asks for --overwrite, exit 2) must not answer before the error each test is about."""
    monkeypatch.chdir(tmp_path)


def _error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.output
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error:")
    return lines[0]


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["--trials", "0"], 2, "--trials"),
        (["--timeout", "5x"], 2, "--timeout"),
        (["--flops", "-5M"], 2, "--flops"),
        (["--prototype", "residul"], 2, "did you mean 'residual'?"),
        (["--task", "segment", "--prototype", "residual"], 2, "is for --task classify"),
        (["--latency", "2ms", "--backend", "tensorrtx"], 2, "unknown backend"),
        (["--engine", "spark"], 2, "--engine"),
        (["--storage", "postgres"], 1, "has no scheme"),
    ],
)
def test_bad_flags(tmp_path, monkeypatch, args, code, text):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["explore", *args])
    assert result.exit_code == code, result.output
    assert text in _error_line(result)


def test_unknown_task_is_a_usage_error():
    result = runner.invoke(app, ["explore", "--task", "detect"])
    assert result.exit_code == 2
    assert "classify" in result.output  # Typer lists the valid choices


def test_config_with_an_unknown_key(tmp_path):
    config = tmp_path / "study.yaml"
    config.write_text("flops: 100M\nepochs_per_trial: 3\n")
    result = runner.invoke(app, ["explore", "--config", str(config)])
    assert result.exit_code == 2
    assert "epochs_per_trial: unknown key" in _error_line(result)


def test_storage_that_cannot_be_opened_hides_the_password(tmp_path):
    url = f"sqlite:///{tmp_path}/missing/dir/s.db"
    result = runner.invoke(app, ["explore", "--storage", url])
    assert result.exit_code == 1
    assert "does not exist" in _error_line(result)
    secret = "postgresql://alice:s3cret@127.0.0.1:1/db"
    result = runner.invoke(app, ["explore", "--storage", secret, "--data", str(tmp_path)])
    assert "s3cret" not in result.output
    assert result.exit_code != 0


def test_classification_data_for_a_segmentation_task(tmp_path):
    data = tmp_path / "classes"
    for name in ("a", "b"):
        (data / name).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(np.full((32, 32), 40 * i, np.uint8)).save(data / name / f"{i}.png")
    result = runner.invoke(
        app,
        ["explore", "--task", "segment", "--data", str(data), "--storage",
         f"sqlite:///{tmp_path}/s.db", "--input-size", "32"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "mask" in _error_line(result)
