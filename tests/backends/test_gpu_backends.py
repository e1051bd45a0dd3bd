"""The GPU backends (``onnxruntime-cuda``, ``tensorrt``) on a real prototype, colour input
included: skipped with the backend's own one-line reason where no GPU or package is present."""

from __future__ import annotations

import numpy as np
import pytest

from gensynth.backends import BACKENDS, get_backend, measure_latency
from gensynth.prototypes import reference_spec

GPU_BACKENDS = ("onnxruntime-cuda", "tensorrt")


def _available(name: str) -> None:
    ok, reason = BACKENDS.get(name)().is_available()
    if not ok:
        pytest.skip(f"{name}: {reason}")


@pytest.mark.gpu
@pytest.mark.parametrize("name", GPU_BACKENDS)
@pytest.mark.parametrize("channels", [1, 3])
def test_a_prototype_runs_on_the_gpu_backend_like_torch(name: str, channels: int):
    _available(name)
    spec = reference_spec("plain", in_channels=channels, input_size=64, num_classes=6)
    model = spec.build().eval()
    result = measure_latency(
        model, spec.input_shape, backend=name, batch=8, repeats=5, min_time_s=0,
        parity_tolerance=2e-2 if name == "tensorrt" else 1e-3,  # TensorRT may pick TF32
    )  # fmt: skip
    assert result.device != "cpu" and result.median_ms > 0
    assert result.parity_max_abs_diff is not None


@pytest.mark.gpu
@pytest.mark.parametrize("name", GPU_BACKENDS)
def test_the_gpu_runner_takes_and_returns_host_arrays(name: str):
    import torch

    _available(name)
    spec = reference_spec("plain", in_channels=3, input_size=32, num_classes=2)
    model = spec.build().eval()
    x = np.random.default_rng(0).standard_normal((4, *spec.input_shape)).astype(np.float32)
    with get_backend(name).prepare(model, spec.input_shape, batch=4, threads=1) as runner:
        y = np.asarray(runner(x))
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    assert y.shape == (4, 2) and np.abs(y - expected).max() < 2e-2


def test_gpu_backends_without_a_gpu_say_why_in_one_line():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    for name in GPU_BACKENDS:
        ok, reason = BACKENDS.get(name)().is_available()
        assert not ok and reason and "\n" not in reason
