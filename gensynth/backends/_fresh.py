"""A side-by-side timed in a fresh process: the model runs as deployed, alone in its process.

A process that has just trained networks is not the process a model is deployed in: it
holds torch's thread pools, a large heap and what its data loaders left behind. On X-SDD
the side-by-side that ``explore`` timed right after training read a winner 9% slower than the
reference round by round, with block spreads of 46% and 81%; the same two models timed
in a fresh process read 26-35% slower (``benchmarks/real_data.py --retime``). A fresh
process does not make batch-1 timing of a 1 ms net quiet on a 2-vCPU machine, though.

:func:`compare_latency_fresh` runs :func:`~gensynth.backends.compare_latency` in a new
interpreter (``python -m gensynth.backends._timing_child``, with this process's import
path). The models go as JSON (each spec, and the path of its safetensors weights if any),
the child builds them, and the result and any error come back as JSON: nothing is
unpickled. A caller's script needs no ``__main__`` guard (no :mod:`multiprocessing`).
Errors raised there arrive as their own class with their hint; a process that dies says so
in one line. The child ignores Ctrl-C: the caller gets it, and stops the child with it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.backends._result import LatencyComparison
from gensynth.errors import BackendUnavailable, error_from_json

if TYPE_CHECKING:
    from gensynth.backends._base import RuntimeOptions
    from gensynth.prototypes import ArchSpec

__all__ = ["FreshModel", "compare_latency_fresh"]

CHILD_MODULE = "gensynth.backends._timing_child"


@dataclasses.dataclass(frozen=True)
class FreshModel:
    """A model to time in a fresh process: its spec, its trained weights (a safetensors file;
    None times the spec's initial weights: latency does not depend on them), MACs, label."""

    spec: ArchSpec
    weights: Path | None = None
    macs: int | None = None
    label: str = ""

    def to_json(self) -> dict[str, Any]:
        weights = None if self.weights is None else str(self.weights)
        return {"spec": self.spec.to_dict(), "weights": weights, "macs": self.macs,
                "label": self.label}  # fmt: skip


def compare_latency_fresh(
    models: Sequence[FreshModel], *, options: RuntimeOptions | None = None, **kwargs: Any
) -> LatencyComparison:
    """:func:`~gensynth.backends.compare_latency` of ``models`` in a fresh process.

    Keywords are those of ``compare_latency`` (plain values). The result's ``process`` is
    ``"fresh"``.
    """
    request = {
        "models": [model.to_json() for model in models],
        "options": None if options is None else dataclasses.asdict(options),
        "kwargs": kwargs,
    }
    child = subprocess.Popen(
        _command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p or os.getcwd() for p in sys.path)},
    )  # fmt: skip
    try:
        output, errors = child.communicate(json.dumps(request).encode())
    except BaseException:  # Ctrl-C, or anything else: stop the child with the caller
        child.kill()
        child.wait()
        raise
    try:
        reply = json.loads(output)
    except ValueError:  # it died, or wrote no result: say how, in one line
        last = next((line.strip() for line in reversed(errors.decode(errors="replace")
                     .splitlines()) if line.strip()), "")  # fmt: skip
        raise BackendUnavailable(
            f"the timing process exited with code {child.returncode} before it sent a result"
            + (f": {last}" if last else ""),
            hint="rerun; if it keeps dying, check free memory, or time the models with "
            "gensynth bench",
        ) from None
    if "error" in reply:
        raise error_from_json(reply["error"])
    comparison = LatencyComparison.from_dict(reply["comparison"])
    return dataclasses.replace(comparison, process="fresh")


def _command() -> list[str]:
    """How the child starts: this interpreter, running the child module."""
    return [sys.executable, "-m", CHILD_MODULE]
