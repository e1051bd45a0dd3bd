"""The registry contract, run against every backend: available ones run, others say why."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from backend_helpers import TINY_SHAPE, tiny_cnn

from gensynth.backends import (
    BACKENDS,
    RuntimeOptions,
    RuntimeSettings,
    _onnxruntime,
    _openvino,
    available_backends,
    get_backend,
    list_backends,
)
from gensynth.errors import BackendUnavailable, ConfigError

EXPECTED = {"torch-cpu", "onnxruntime-cpu", "onnxruntime-cuda", "tensorrt", "openvino"}


def test_every_documented_backend_is_registered():
    assert set(list_backends()) >= EXPECTED
    assert {"torch-cpu", "onnxruntime-cpu"} <= set(available_backends())


@pytest.mark.parametrize("name", sorted(BACKENDS.names()))
def test_backend_contract(name: str):
    backend = BACKENDS.get(name)()
    ok, reason = backend.is_available()
    assert isinstance(ok, bool) and isinstance(reason, str)
    if not ok:
        assert "\n" not in reason and "pip install" in reason
        with pytest.raises(BackendUnavailable) as info:
            get_backend(name)
        assert "\n" not in str(info.value) and name in str(info.value)
        assert "pip install" in str(info.value)
        return
    model = tiny_cnn()
    x = np.random.default_rng(1).standard_normal((2, *TINY_SHAPE), dtype=np.float32)
    options = RuntimeOptions(spinning=False)
    with get_backend(name).prepare(
        model, TINY_SHAPE, batch=2, threads=1, options=options
    ) as runner:
        y = runner(x)
        assert (runner.backend, runner.batch, runner.threads) == (name, 2, 1)
        settings = runner.settings()
        assert isinstance(settings, RuntimeSettings) and settings.threads == 1
        assert settings.spinning in (False, None)  # honoured, or not a setting of this runtime
    with torch.inference_mode():
        expected = model(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(y, expected, atol=1e-5)


def test_unknown_backend_lists_the_valid_ones_and_the_closest():
    with pytest.raises(ConfigError) as info:
        get_backend("onnxruntime-cpux")
    assert info.value.exit_code == 2
    assert "torch-cpu" in info.value.message and "onnxruntime-cpu" in info.value.message
    assert "did you mean 'onnxruntime-cpu'" in str(info.value.hint)


@pytest.mark.parametrize(
    ("module", "name", "hint"),
    [
        (_onnxruntime, "onnxruntime-cpu", "pip install onnxruntime"),
        (_onnxruntime, "onnxruntime-cuda", "onnxruntime-gpu"),
        (_openvino, "openvino", "pip install 'gensynth[openvino]'"),
    ],
)
def test_missing_package_gives_one_line_with_install_hint(monkeypatch, module, name, hint):
    monkeypatch.setattr(module, "has_module", lambda _name: False)
    with pytest.raises(BackendUnavailable) as info:
        get_backend(name)
    assert hint in str(info.value) and "\n" not in str(info.value)
    assert info.value.exit_code == 1


def test_torch_runner_restores_thread_count_and_training_flag():
    before = torch.get_num_threads()
    model = tiny_cnn().train()
    with get_backend("torch-cpu").prepare(model, TINY_SHAPE, batch=1, threads=1) as runner:
        assert torch.get_num_threads() == 1
        assert not model.training
        runner(np.zeros((1, *TINY_SHAPE), dtype=np.float32))
    assert torch.get_num_threads() == before
    assert model.training


@pytest.mark.parametrize("threads", [0, -2, 1.5])
def test_bad_thread_count_is_a_usage_error(threads):
    with pytest.raises(ConfigError, match="threads: expected a positive integer"):
        get_backend("torch-cpu").prepare(tiny_cnn(), TINY_SHAPE, batch=1, threads=threads)


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["onnxruntime-cuda", "tensorrt"])
def test_gpu_backend_measures_with_the_device_named(name):
    from gensynth.backends import measure_latency

    ok, reason = BACKENDS.get(name)().is_available()
    if not ok:
        pytest.skip(reason)
    result = measure_latency(tiny_cnn(), TINY_SHAPE, backend=name, repeats=5, min_time_s=0)
    assert result.device != "cpu" and result.median_ms > 0
    assert result.parity_max_abs_diff is not None and result.parity_max_abs_diff < 1e-3
