"""Ctrl-C under the pooled engines: a stop request the parent polls, never lost in Ray's code."""

from __future__ import annotations

import os
import signal

import pytest

from gensynth.engines import ctrl_c_requests_stop
from gensynth.search.stop import StopSignal


def test_first_ctrl_c_requests_a_stop_and_the_second_interrupts_at_once():
    stop = StopSignal()
    before = signal.getsignal(signal.SIGINT)
    with ctrl_c_requests_stop(stop):
        os.kill(os.getpid(), signal.SIGINT)
        assert stop() and stop.requested
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    assert signal.getsignal(signal.SIGINT) is before  # the previous handler is back


def test_without_ctrl_c_nothing_is_requested():
    stop = StopSignal()
    with ctrl_c_requests_stop(stop):
        pass
    assert not stop()


def test_an_external_request_is_polled_at_most_every_poll_interval():
    calls = []

    def asked() -> bool:
        calls.append(1)
        return len(calls) >= 2

    stop = StopSignal(external=asked, poll_s=3600)
    assert not stop() and not stop()  # polled once, then not again within the interval
    assert len(calls) == 1
    stop = StopSignal(external=asked, poll_s=0)
    assert stop() and stop.requested  # the second answer is yes: a request, not a timeout
