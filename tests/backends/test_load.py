"""Load detection: other processes' CPU, the verdict's reasons, and waiting for idle threads."""

from __future__ import annotations

import pytest
from backend_helpers import FAST, TINY_SHAPE, tiny_cnn

from gensynth.backends import LoadReport, _load, _measure, measure_latency
from gensynth.backends._load import (
    OTHERS_CPU_LIMIT,
    SPREAD_LIMIT,
    CpuProbe,
    load_reasons,
    wait_until_idle,
)


def _sequence(*values):
    items = iter(values)
    return lambda: next(items)


def test_probe_counts_busy_cpu_time_that_is_not_ours():
    # 2 CPUs for 1 s: 1.5 s busy in all, 0.5 s of it ours, so others used 1 s of 2 = 50%.
    probe = CpuProbe(
        busy=_sequence((10.0, 2), (11.5, 2)), own=_sequence(3.0, 3.5), clock=_sequence(0.0, 1.0)
    )
    assert probe.start().stop() == pytest.approx(0.5)


def test_probe_says_none_where_the_cpu_counters_cannot_be_read():
    probe = CpuProbe(busy=lambda: None, own=_sequence(0.0, 1.0), clock=_sequence(0.0, 1.0))
    assert probe.start().stop() is None


def test_probe_reads_this_machine():
    busy = _load._cpu_busy()
    if busy is None:
        pytest.skip("no /proc/stat here")
    seconds, cpus = busy
    assert seconds > 0 and cpus >= 1
    share = CpuProbe().start().stop()
    assert share is None or 0.0 <= share <= 1.0


@pytest.mark.parametrize(
    ("others", "spread", "before", "expected"),
    [
        (0.0, 0.01, (9.0, 9.0, 9.0), ()),  # our own earlier work raised the load average
        (OTHERS_CPU_LIMIT * 3, 0.01, (0.0, 0.0, 0.0), ("other processes used",)),
        (0.0, SPREAD_LIMIT * 2, (0.0, 0.0, 0.0), ("block medians spread",)),
        (None, 0.01, (1.5, 1.0, 1.0), ("load average 1.50 on 2 cores",)),
        (None, 0.01, (0.1, 1.0, 1.0), ()),
    ],
)
def test_reasons_name_each_sign_of_load(others, spread, before, expected):
    reasons = load_reasons(before=before, others_cpu=others, spread=spread, cores=2)
    assert len(reasons) == len(expected)
    for reason, start in zip(reasons, expected, strict=True):
        assert reason.startswith(start)


def test_a_figure_taken_while_others_use_the_cpu_is_flagged(monkeypatch):
    class _Busy(CpuProbe):
        def stop(self) -> float:
            return 0.5

    monkeypatch.setattr(_measure, "CpuProbe", _Busy)
    result = measure_latency(tiny_cnn(), TINY_SHAPE, threads=1, **FAST)
    assert result.loaded and result.load.others_cpu == 0.5
    assert any("50% of the CPU" in reason for reason in result.load.reasons)
    assert result.to_dict()["loaded"] is True


def test_load_report_round_trips():
    report = LoadReport((1.0, 2.0, 3.0), (1.5, 2.0, 3.0), 0.2, 2, ("busy",))
    data = report.to_dict()
    assert data["flagged"] is True
    assert LoadReport.from_dict(data) == report


def test_waiting_stops_once_our_threads_stop_spinning():
    # Our CPU time grows by a full interval twice (a spinning pool), then stays flat.
    times = iter([0.0, 0.005, 0.010, 0.0101, 0.0102])
    sleeps = []
    waited = wait_until_idle(
        interval_s=0.005, own=lambda: next(times), sleep=sleeps.append, clock=_sequence(0, 1)
    )
    assert len(sleeps) == 3 and waited == 1


def test_waiting_gives_up_after_its_limit():
    sleeps = []
    clock = iter(range(1000))
    counter = iter(range(1000))
    wait_until_idle(
        max_s=0.05,
        interval_s=0.005,
        own=lambda: 0.005 * next(counter),
        sleep=sleeps.append,
        clock=lambda: next(clock),
    )
    assert len(sleeps) == 10
