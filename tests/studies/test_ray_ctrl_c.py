"""Ctrl-C under the Ray engine: a stop request Tune polls, never lost inside Ray's own code."""

from __future__ import annotations

import os
import signal

import pytest

from gensynth.search.loop import StopSignal
from gensynth.studies.ray_engine import _ctrl_c_stops


def test_first_ctrl_c_requests_a_stop_and_the_second_interrupts_at_once():
    stop = StopSignal()
    before = signal.getsignal(signal.SIGINT)
    with _ctrl_c_stops(stop) as pressed:
        os.kill(os.getpid(), signal.SIGINT)
        assert pressed and stop() and stop.requested
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before  # the previous handler is back


def test_without_ctrl_c_nothing_is_requested():
    stop = StopSignal()
    with _ctrl_c_stops(stop) as pressed:
        pass
    assert not pressed and not stop()
