"""--device auto|cpu|cuda, mixed precision on CUDA only, and colour images trained end to end
with their preprocessing recorded in metrics.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from train_toys import tiny_classifier, tiny_segmenter, toy_dataset
from typer.testing import CliRunner

from gensynth.cli.main import app
from gensynth.errors import ConfigError, DataError
from gensynth.prototypes import dump_spec, reference_spec
from gensynth.training import CPU, TrainConfig, fit, resolve_device

runner = CliRunner()
HAS_CUDA = torch.cuda.is_available()
no_gpu = pytest.mark.skipif(HAS_CUDA, reason="a CUDA GPU is present: --device cuda works here")
needs_gpu = pytest.mark.skipif(not HAS_CUDA, reason="no CUDA GPU: torch.cuda.is_available()")


def _rgb_folder(root: Path, per_class: int = 8) -> Path:
    """generic-cls: 'rust' images are reddish, 'clean' ones bluish noise, 48x40 px."""
    rng = np.random.default_rng(0)
    for name, tint in (("clean", (0, 0, 120)), ("rust", (120, 40, 0))):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 100, (40, 48, 3)) + np.asarray(tint)
            Image.fromarray(pixels.astype(np.uint8)).save(root / name / f"{i}.png")
    return root


def _plain(tmp_path: Path, channels: int) -> Path:
    spec = reference_spec("plain", in_channels=channels, input_size=32, num_classes=2)
    path = tmp_path / f"plain{channels}.yaml"
    dump_spec(spec, path)
    return path


@no_gpu
def test_cuda_without_a_gpu_is_one_line():
    with pytest.raises(ConfigError, match="--device cuda: ") as info:
        resolve_device("cuda")
    assert "\n" not in str(info.value) and "--device auto or cpu" in str(info.value)


@no_gpu
def test_train_device_cuda_without_a_gpu_fails_before_writing(tmp_path: Path):
    out = tmp_path / "m"
    result = runner.invoke(app, ["train", "--spec", str(_plain(tmp_path, 1)), "--out", str(out),
                                 "--device", "cuda"])  # fmt: skip
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --device cuda:")
    assert not out.exists()


@no_gpu
def test_auto_is_the_cpu_in_float32_here(classify_data):
    assert resolve_device("auto") == CPU and CPU.precision == "float32"
    config = TrainConfig.for_task("classify", epochs=1, batch_size=16)
    result = fit(tiny_classifier(), classify_data, config, task="classify")
    assert result.device == {"type": "cpu", "name": "cpu", "precision": "float32"}


def test_an_unknown_device_is_one_line():
    with pytest.raises(ConfigError, match="device: expected one of auto, cpu, cuda, got 'gpu'"):
        TrainConfig(device="gpu")


def test_cpu_and_auto_train_the_same_weights_without_a_gpu(classify_data):
    if HAS_CUDA:
        pytest.skip("auto is CUDA here")
    states = []
    for device in ("cpu", "auto"):
        torch.manual_seed(0)
        config = TrainConfig.for_task("classify", epochs=1, batch_size=16, device=device)
        states.append(fit(tiny_classifier(), classify_data, config, task="classify").state_dict)
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_train_rgb_end_to_end_records_its_preprocessing(tmp_path: Path):
    data = _rgb_folder(tmp_path / "data")
    out = tmp_path / "m"
    result = runner.invoke(app, [
        "train", "--spec", str(_plain(tmp_path, 3)), "--data", str(data), "--channels", "3",
        "--resize", "pad", "--epochs", "1", "--batch-size", "4", "--out", str(out),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    prep = metrics["preprocessing"]
    assert {k: prep[k] for k in ("channels", "input_size", "resize")} == {
        "channels": 3, "input_size": 32, "resize": "pad",
    }  # fmt: skip
    assert prep["scale"] == pytest.approx(1 / 127.5) and prep["offset"] == -1.0
    assert "RGB" in prep["description"]
    assert metrics["data"]["channels"] == 3 and metrics["data"]["resize"] == "pad"
    assert metrics["device"]["type"] == ("cuda" if HAS_CUDA else "cpu")
    assert metrics["training"]["device"] == "auto"


def test_a_spec_of_other_channels_is_refused_before_loading(tmp_path: Path):
    out = tmp_path / "m"
    args = ["--channels", "1", "--data", str(tmp_path / "missing"), "--out", str(out)]
    result = runner.invoke(app, ["train", "--spec", str(_plain(tmp_path, 3)), *args])
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert "the spec expects 3 input channels, the data has 1" in text
    assert "missing" not in text and not out.exists()


def test_the_grey_default_still_records_a_full_preprocessing(tmp_path: Path, monkeypatch):
    from gensynth.training import train_to_dir

    spec = reference_spec("plain", in_channels=1, input_size=32, num_classes=3)
    config = TrainConfig.for_task("classify", epochs=1, batch_size=16)
    out = tmp_path / "m"
    out.mkdir()
    metrics = train_to_dir(spec, toy_dataset("classify"), config, out, data_source="toy")
    assert metrics["preprocessing"]["channels"] == 1
    assert metrics["preprocessing"]["resize"] == "stretch"
    assert metrics["preprocessing"]["input_size"] == 32


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("amp", [True, False])
def test_fit_on_cuda_returns_cpu_weights(classify_data, amp: bool):
    config = TrainConfig.for_task("classify", epochs=2, batch_size=16, device="cuda", amp=amp)
    model = tiny_classifier()
    result = fit(model, classify_data, config, task="classify")
    assert result.device is not None and result.device["type"] == "cuda"
    expected = ("bfloat16", "float16") if amp else ("float32",)
    assert result.device["precision"] in expected
    assert all(v.device.type == "cpu" for v in result.state_dict.values())
    assert next(model.parameters()).device.type == "cpu"
    assert np.isfinite(result.best_value) and 0 <= result.best_value <= 100


@pytest.mark.gpu
@needs_gpu
def test_segmentation_trains_on_cuda(segment_data):
    config = TrainConfig.for_task("segment", epochs=1, batch_size=8, device="cuda")
    result = fit(tiny_segmenter(), segment_data, config, task="segment")
    assert result.device is not None and result.device["type"] == "cuda"
    assert np.isfinite(result.history[-1]["loss"])


def test_explain_refuses_a_colour_model_in_one_line(tmp_path: Path):
    import dataclasses

    from gensynth.explain._plan import open_audit
    from gensynth.training import train_to_dir

    grey = toy_dataset("classify", classes=2)
    data = dataclasses.replace(grey, images=np.repeat(grey.images[:, None], 3, axis=1))
    spec = reference_spec("plain", in_channels=3, input_size=32, num_classes=2)
    out = tmp_path / "m"
    out.mkdir()
    config = TrainConfig.for_task("classify", epochs=1, batch_size=16)
    train_to_dir(spec, data, config, out, data_source="toy")
    with pytest.raises(DataError, match="explain reads grey images: ") as info:
        open_audit(out, methods="gradcam")
    assert "\n" not in str(info.value)
