"""A side-by-side timed in a fresh process: the model runs as deployed, alone in its process.

A process that has just trained networks is not the process a model is deployed in: it
holds torch's thread pools, a large heap and what its data loaders left behind. On X-SDD
the side-by-side that ``explore`` timed right after training read a winner 9% slower than the
reference round by round, with block spreads of 46% and 81%; the same two models timed
in a fresh process read 26-35% slower (``benchmarks/real_data.py --retime``).

:func:`compare_latency_fresh` runs :func:`~gensynth.backends.compare_latency` in a new
interpreter (``python -m gensynth.backends._timing_child``, with this process's import
path), sends it the models as a pickle on stdin and reads the result back. It does not go
through :mod:`multiprocessing`, so a caller's script needs no ``__main__`` guard. Errors
raised there arrive whole; a process that dies says so in one line. The child ignores
Ctrl-C: the caller gets it, and stops the child with it.
"""

from __future__ import annotations

import dataclasses
import os
import pickle
import subprocess
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gensynth.errors import BackendUnavailable

if TYPE_CHECKING:
    from gensynth.backends._measure import TimedModel
    from gensynth.backends._result import LatencyComparison

__all__ = ["compare_latency_fresh"]

CHILD_MODULE = "gensynth.backends._timing_child"


def compare_latency_fresh(models: Sequence[TimedModel], **kwargs: Any) -> LatencyComparison:
    """:func:`~gensynth.backends.compare_latency` of ``models`` in a fresh process.

    Keywords are those of ``compare_latency``. The result's ``process`` is ``"fresh"``.
    """
    payload = pickle.dumps((list(models), kwargs), protocol=pickle.HIGHEST_PROTOCOL)
    path = os.pathsep.join(entry or os.getcwd() for entry in sys.path)
    env = {**os.environ, "PYTHONPATH": path}
    child = subprocess.Popen(
        [sys.executable, "-m", CHILD_MODULE],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    try:
        output, errors = child.communicate(payload)
    except BaseException:  # Ctrl-C, or anything else: stop the child with the caller
        child.kill()
        child.wait()
        raise
    try:
        outcome, value = pickle.loads(output)
    except Exception:
        last = next((line for line in reversed(errors.decode(errors="replace").splitlines())
                     if line.strip()), "")  # fmt: skip
        raise BackendUnavailable(
            f"the timing process exited with code {child.returncode} before it sent a result"
            + (f": {last.strip()}" if last else ""),
            hint="rerun; if it keeps dying, check free memory, or time the models with "
            "gensynth bench",
        ) from None
    if outcome == "error":
        raise value
    return dataclasses.replace(value, process="fresh")
