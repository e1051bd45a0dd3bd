"""Recognising a dead worker by its pid, including one killed but not yet reaped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from gensynth.studies.recovery import _process_is_dead


def _worker(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}"


def test_a_live_process_is_alive_and_a_reaped_one_is_dead():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert not _process_is_dead(_worker(child.pid))
    finally:
        child.kill()
        child.wait()
    assert _process_is_dead(_worker(child.pid))


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="zombie check reads /proc")
def test_a_killed_process_that_nobody_reaped_is_dead():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    os.kill(child.pid, signal.SIGKILL)
    try:
        for _ in range(100):  # until the kernel has made it a zombie
            with open(f"/proc/{child.pid}/stat") as handle:
                if handle.read().rpartition(")")[2].split()[0] == "Z":
                    break
            time.sleep(0.02)
        os.kill(child.pid, 0)  # still "exists" for kill(0): the case this guards against
        assert _process_is_dead(_worker(child.pid))
    finally:
        child.wait()


def test_other_hosts_and_malformed_workers_are_never_declared_dead():
    assert not _process_is_dead("some-other-host:1")
    assert not _process_is_dead(None)
    assert not _process_is_dead("no-pid-here")
    assert not _process_is_dead(_worker(os.getpid()))
