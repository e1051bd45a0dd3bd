"""Timing in a fresh process: results come back, errors arrive whole, a dead child says so."""

from __future__ import annotations

import contextlib
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from backend_helpers import FAST, TINY_SHAPE, DiesWhenUnpickled, tiny_cnn

from gensynth.backends import ParityError, TimedModel, compare_latency_fresh
from gensynth.errors import BackendUnavailable, ConfigError


def test_a_fresh_process_times_every_model_and_says_so():
    models = [TimedModel(tiny_cnn(4), TINY_SHAPE, 1000, "a"),
              TimedModel(tiny_cnn(8), TINY_SHAPE, 2000, "b")]  # fmt: skip
    comparison = compare_latency_fresh(models, **FAST)
    assert comparison.process == "fresh" and comparison.to_dict()["process"] == "fresh"
    assert comparison.labels == ("a", "b")
    assert [r.macs for r in comparison.results] == [1000, 2000]
    assert all(r.median_ms > 0 and len(r.block_medians_ms) == FAST["blocks"]
               for r in comparison.results)  # fmt: skip
    assert len(comparison.speedups) == 1


def test_an_error_raised_in_the_timing_process_arrives_whole():
    with pytest.raises(ParityError) as caught:  # any difference is above a negative tolerance
        compare_latency_fresh([TimedModel(tiny_cnn(), TINY_SHAPE)], parity_tolerance=-1.0, **FAST)
    assert caught.value.tolerance == -1.0 and caught.value.hint
    assert "ONNX outputs differ from torch" in str(caught.value)


def test_a_timing_process_that_dies_is_one_line_not_a_hang():
    with pytest.raises(BackendUnavailable, match="exited with code 3 before it sent a result"):
        compare_latency_fresh([TimedModel(DiesWhenUnpickled(), TINY_SHAPE)], **FAST)


def test_gensynth_errors_pickle_with_their_attributes_and_hint():
    error = pickle.loads(pickle.dumps(ParityError(0.5, 1e-3, where=" on ort")))
    assert type(error) is ParityError and error.max_abs_diff == 0.5 and error.hint
    usage = pickle.loads(pickle.dumps(ConfigError("bad", hint="try x")))
    assert str(usage) == "bad (try x)" and usage.exit_code == 2


_LONG_TIMING = """
import sys
sys.path.insert(0, {helpers!r})
from backend_helpers import TINY_SHAPE, tiny_cnn
from gensynth.backends import TimedModel, compare_latency_fresh
compare_latency_fresh([TimedModel(tiny_cnn(), TINY_SHAPE)], min_time_s=60.0, max_time_s=60.0)
"""


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
    return found


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the child process")
def test_ctrl_c_while_timing_stops_the_caller_and_its_timing_process():
    script = _LONG_TIMING.format(helpers=str(Path(__file__).parent))
    caller = subprocess.Popen(
        [sys.executable, "-c", script], stderr=subprocess.PIPE, text=True,
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


def _running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
