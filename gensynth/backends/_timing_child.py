"""The child of :func:`~gensynth.backends.compare_latency_fresh`: time, and send the result.

Run as ``python -m gensynth.backends._timing_child``. It reads ``(models, keywords)`` as a
pickle on stdin and writes ``("ok", comparison)`` or ``("error", exception)`` as a pickle on
the stdout it was given; anything else written to stdout while timing goes to stderr.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
from typing import Any


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the caller handles Ctrl-C and stops us
    result = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a library's prints must not corrupt the result
    sys.stdout = sys.stderr
    models, kwargs = pickle.loads(sys.stdin.buffer.read())
    from gensynth.backends._measure import compare_latency
    from gensynth.errors import BackendUnavailable, GensynthError

    message: tuple[str, Any]
    try:
        message = ("ok", compare_latency(models, **kwargs))
    except GensynthError as error:
        message = ("error", error)
    except Exception as error:
        message = ("error", BackendUnavailable(
            f"timing failed in its own process: {type(error).__name__}: {error}"
        ))  # fmt: skip
    pickle.dump(message, result, protocol=pickle.HIGHEST_PROTOCOL)
    result.close()


if __name__ == "__main__":
    main()
