"""A side-by-side timed in a fresh process: the model runs as deployed, alone in its process.

A process that has just trained networks is not the process a model is deployed in: it
holds torch's thread pools, a large heap and what its data loaders left behind. On X-SDD
the side-by-side that ``explore`` timed right after training read a winner 9% slower than
the reference round by round, with block spreads of 46% and 81%; the same two models timed
in a fresh process read 26-35% slower (``benchmarks/real_data.py --retime``).

:func:`compare_latency_fresh` runs :func:`~gensynth.backends.compare_latency` in a spawned
interpreter (one that imports only what the timing needs), sends the models over a pipe and
the result back. Errors raised there arrive whole; a process that dies says so in one line.
The child ignores Ctrl-C: the caller gets it, and the child is stopped with it.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import signal
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gensynth.backends._measure import TimedModel, compare_latency
from gensynth.errors import BackendUnavailable, GensynthError

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from gensynth.backends._result import LatencyComparison

__all__ = ["compare_latency_fresh"]


def compare_latency_fresh(models: Sequence[TimedModel], **kwargs: Any) -> LatencyComparison:
    """:func:`~gensynth.backends.compare_latency` of ``models`` in a fresh process.

    Keywords are those of ``compare_latency``. The result's ``process`` is ``"fresh"``.
    """
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(
        target=_time_here, args=(send, list(models), kwargs), name="gensynth-timing", daemon=True
    )
    child.start()
    send.close()  # only the child writes: its exit closes the pipe
    try:
        outcome, value = receive.recv()
    except EOFError:
        child.join()
        raise BackendUnavailable(
            f"the timing process exited with code {child.exitcode} before it sent a result",
            hint="rerun; if it keeps dying, check free memory, or time the models with "
            "gensynth bench",
        ) from None
    except BaseException:  # Ctrl-C, or anything else: stop the child with the caller
        child.terminate()
        child.join()
        raise
    finally:
        receive.close()
    child.join(timeout=5)
    if child.is_alive():
        child.terminate()
        child.join()
    if outcome == "error":
        raise value
    return dataclasses.replace(value, process="fresh")


def _time_here(send: Connection, models: list[TimedModel], kwargs: dict[str, Any]) -> None:
    """The child's side: time, and send ``("ok", comparison)`` or ``("error", exception)``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        message: tuple[str, Any] = ("ok", compare_latency(models, **kwargs))
    except GensynthError as error:
        message = ("error", error)
    except Exception as error:
        message = ("error", BackendUnavailable(
            f"timing failed in its own process: {type(error).__name__}: {error}"
        ))  # fmt: skip
    send.send(message)
    send.close()
