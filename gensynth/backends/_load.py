"""Is the machine quiet while we time? Load average, other processes' CPU, our own idle threads.

Three signals, recorded with every figure:

- the load average before and after (what ``uptime`` says; it also counts our own earlier
  work, such as the training of the previous trial, so alone it does not flag a figure);
- the CPU time *other* processes used while we timed, from ``/proc/stat`` minus our own CPU
  time: the direct measure of contention (Linux; ``None`` elsewhere);
- the spread of the block medians, which load on the machine widens.

:func:`wait_until_idle` waits for our own runtime threads (ONNX Runtime's intra-op pool spins
for tens of milliseconds after a run) to go to sleep before another model's block starts.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "LOAD_AVG_PER_CORE",
    "OTHERS_CPU_LIMIT",
    "SPREAD_LIMIT",
    "CpuProbe",
    "LoadReport",
    "load_avg",
    "load_reasons",
    "wait_until_idle",
]

#: Share of the machine's CPU time other processes may use while we time (10%: a daemon or
#: two; a training job on one of two cores is 50%).
OTHERS_CPU_LIMIT = 0.10
#: Largest (max - min) / median of the block medians on a quiet machine.
SPREAD_LIMIT = 0.10
#: Load average per core above which a figure is flagged, where other processes' CPU time
#: cannot be read (not Linux).
LOAD_AVG_PER_CORE = 0.5

_STAT = Path("/proc/stat")


def load_avg() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages, or zeros where the OS has none."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return (0.0, 0.0, 0.0)
    return (one, five, fifteen)


def _cpu_busy() -> tuple[float, int] | None:
    """Seconds of busy CPU time since boot, all CPUs, and the CPU count; None if unreadable."""
    try:
        lines = _STAT.read_text().splitlines()
    except OSError:
        return None
    if not lines or not lines[0].startswith("cpu "):
        return None
    # user nice system idle iowait irq softirq steal (guest time is already in user)
    fields = [int(value) for value in lines[0].split()[1:9]]
    busy = sum(fields) - fields[3] - fields[4]
    cpus = sum(1 for line in lines if line.startswith("cpu") and line[3:4].isdigit())
    return busy / os.sysconf("SC_CLK_TCK"), max(cpus, 1)


class CpuProbe:
    """CPU time other processes used between ``start`` and ``stop``, as a share of the machine.

    Stolen time (a hypervisor giving our cores to other guests) counts as other processes'.
    """

    def __init__(
        self,
        busy: Callable[[], tuple[float, int] | None] = _cpu_busy,
        own: Callable[[], float] = time.process_time,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._busy, self._own, self._clock = busy, own, clock
        self._start: tuple[tuple[float, int] | None, float, float] | None = None

    def start(self) -> CpuProbe:
        self._start = (self._busy(), self._own(), self._clock())
        return self

    def stop(self) -> float | None:
        """Others' share of all CPUs over the span (0 to 1), or None where it cannot be read."""
        if self._start is None:
            raise RuntimeError("CpuProbe.stop() before start()")
        busy0, own0, wall0 = self._start
        busy1, own1, wall1 = self._busy(), self._own(), self._clock()
        if busy0 is None or busy1 is None or wall1 <= wall0:
            return None
        others = (busy1[0] - busy0[0]) - (own1 - own0)
        return min(1.0, max(0.0, others / ((wall1 - wall0) * busy1[1])))


@dataclasses.dataclass(frozen=True)
class LoadReport:
    """How busy the machine was while a figure was taken; ``reasons`` empty means quiet."""

    load_avg_before: tuple[float, float, float]
    load_avg_after: tuple[float, float, float]
    others_cpu: float | None
    cores: int
    reasons: tuple[str, ...] = ()

    @property
    def flagged(self) -> bool:
        """True when the figure was measured under load and should be read as such."""
        return bool(self.reasons)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "flagged": self.flagged}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoadReport:
        return cls(
            load_avg_before=tuple(data["load_avg_before"]),
            load_avg_after=tuple(data["load_avg_after"]),
            others_cpu=data["others_cpu"],
            cores=data["cores"],
            reasons=tuple(data.get("reasons", ())),
        )


def load_reasons(
    *,
    before: tuple[float, float, float],
    others_cpu: float | None,
    spread: float,
    cores: int,
) -> tuple[str, ...]:
    """Why a figure counts as measured under load; empty when nothing says so."""
    reasons = []
    if others_cpu is not None and others_cpu > OTHERS_CPU_LIMIT:
        reasons.append(f"other processes used {others_cpu:.0%} of the CPU while timing")
    if others_cpu is None and before[0] > LOAD_AVG_PER_CORE * cores:
        reasons.append(f"load average {before[0]:.2f} on {cores} cores before timing")
    if spread > SPREAD_LIMIT:
        reasons.append(f"block medians spread {spread:.0%} (quiet: <= {SPREAD_LIMIT:.0%})")
    return tuple(reasons)


def wait_until_idle(
    *,
    max_s: float = 0.5,
    interval_s: float = 0.005,
    busy_share: float = 0.2,
    own: Callable[[], float] = time.process_time,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Sleep until this process's threads stop using CPU; the seconds waited (about ``max_s``
    at most).

    The calling thread sleeps, so CPU time this process spends meanwhile is its runtime
    threads spinning. Idle means under ``busy_share`` of one core over one ``interval_s``.
    """
    start = clock()
    last = own()
    for _ in range(max(1, round(max_s / interval_s))):
        sleep(interval_s)
        now = own()
        if now - last < busy_share * interval_s:
            break
        last = now
    return clock() - start
