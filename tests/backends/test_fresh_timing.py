"""Timing in a fresh process: results come back, errors arrive whole, a dead child says so."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from backend_helpers import FAST
from safetensors.torch import save_file

from gensynth.backends import FreshModel, ParityError, _fresh, compare_latency_fresh
from gensynth.errors import BackendUnavailable, ConfigError, GensynthError, error_from_json
from gensynth.prototypes import reference_spec


def _plain(size: int = 32):
    return reference_spec("plain", in_channels=1, input_size=size, num_classes=3)


def test_a_fresh_process_times_every_model_and_says_so():
    models = [FreshModel(_plain(), macs=1000, label="a"),
              FreshModel(_plain(48), macs=2000, label="b")]  # fmt: skip
    comparison = compare_latency_fresh(models, **FAST)
    assert comparison.process == "fresh" and comparison.to_dict()["process"] == "fresh"
    assert comparison.labels == ("a", "b")
    assert [r.macs for r in comparison.results] == [1000, 2000]
    assert all(r.median_ms > 0 and len(r.block_medians_ms) == FAST["blocks"]
               for r in comparison.results)  # fmt: skip
    assert len(comparison.speedups) == 1 and comparison.results[0].load is not None


def test_trained_weights_are_loaded_there_and_checked_against_torch(tmp_path):
    spec = _plain()
    model = spec.build()
    for tensor in model.state_dict().values():
        if tensor.is_floating_point():
            tensor.fill_(0.01)
    save_file(model.state_dict(), str(tmp_path / "w.safetensors"))
    result = compare_latency_fresh([FreshModel(spec, tmp_path / "w.safetensors")], **FAST)
    assert result.results[0].parity_max_abs_diff is not None
    assert result.results[0].parity_max_abs_diff < 1e-3
    other = reference_spec("plain", in_channels=3, input_size=32, num_classes=3)
    with pytest.raises(BackendUnavailable, match="timing failed in its own process: "
                       "RuntimeError: Error"):  # fmt: skip
        compare_latency_fresh([FreshModel(other, tmp_path / "w.safetensors")], **FAST)


def test_an_error_raised_in_the_timing_process_arrives_as_its_class():
    with pytest.raises(ParityError) as caught:  # any difference is above a negative tolerance
        compare_latency_fresh([FreshModel(_plain())], parity_tolerance=-1.0, **FAST)
    assert caught.value.tolerance == -1.0 and caught.value.hint
    assert "ONNX outputs differ from torch" in str(caught.value)
    with pytest.raises(ConfigError, match="blocks: expected an integer"):
        compare_latency_fresh([FreshModel(_plain())], blocks=1)


def test_a_timing_process_that_dies_is_one_line_not_a_hang(monkeypatch):
    dying = [sys.executable, "-c", "import sys; print('out of memory', file=sys.stderr); "
             "sys.exit(3)"]  # fmt: skip
    monkeypatch.setattr(_fresh, "_command", lambda: dying)
    with pytest.raises(BackendUnavailable, match="exited with code 3 before it sent a result: "
                       "out of memory"):  # fmt: skip
        compare_latency_fresh([FreshModel(_plain())], **FAST)


def test_errors_travel_as_plain_data_with_their_class_attributes_and_hint():
    error = error_from_json(ParityError(0.5, 1e-3, where=" on ort").to_json())
    assert type(error) is ParityError and error.max_abs_diff == 0.5 and error.hint
    usage = error_from_json(ConfigError("bad", hint="try x").to_json())
    assert type(usage) is ConfigError and str(usage) == "bad (try x)" and usage.exit_code == 2
    foreign = error_from_json({"class": "os.PathLike", "message": "m", "hint": None})
    assert type(foreign) is BackendUnavailable and foreign.message == "m"
    assert isinstance(foreign, GensynthError)


_LONG_TIMING = """
from gensynth.backends import FreshModel, compare_latency_fresh
from gensynth.prototypes import reference_spec
spec = reference_spec("plain", in_channels=1, input_size=32, num_classes=3)
compare_latency_fresh([FreshModel(spec)], min_time_s=60.0, max_time_s=60.0)
"""


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the child process")
def test_ctrl_c_while_timing_stops_the_caller_and_its_timing_process():
    caller = subprocess.Popen(
        [sys.executable, "-c", _LONG_TIMING], stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not (children := _children(caller.pid)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert children, "the timing process never started"
    time.sleep(3)  # well inside its 60 s of timed calls
    caller.send_signal(signal.SIGINT)
    _, stderr = caller.communicate(timeout=30)
    assert caller.returncode != 0 and "KeyboardInterrupt" in stderr
    time.sleep(0.5)
    assert not [pid for pid in children if _running(pid)]
