"""The child of :func:`~gensynth.backends.compare_latency_fresh`: build, time, send back.

Run as ``python -m gensynth.backends._timing_child``. It reads the request as JSON on stdin
(the models' specs and weight files, runtime options, timing keywords) and writes
``{"comparison": ...}`` or ``{"error": ...}`` as JSON on the stdout it was given; anything
else written to stdout while timing goes to stderr.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gensynth.backends._measure import TimedModel


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the caller handles Ctrl-C and stops us
    result = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a library's prints must not corrupt the result
    sys.stdout = sys.stderr
    request = json.loads(sys.stdin.buffer.read())
    from gensynth.backends._base import RuntimeOptions
    from gensynth.backends._measure import compare_latency
    from gensynth.errors import BackendUnavailable, GensynthError

    reply: dict[str, Any]
    try:
        models = [_build(model) for model in request["models"]]
        options = request["options"]
        comparison = compare_latency(
            models, options=None if options is None else RuntimeOptions(**options),
            **request["kwargs"],
        )  # fmt: skip
        reply = {"comparison": comparison.to_dict()}
    except GensynthError as error:
        reply = {"error": error.to_json()}
    except Exception as error:
        first = (str(error).splitlines() or [""])[0]
        failed = BackendUnavailable(f"timing failed in its own process: "
                                    f"{type(error).__name__}: {first}")  # fmt: skip
        reply = {"error": failed.to_json()}
    result.write(json.dumps(reply).encode())
    result.close()


def _build(model: dict[str, Any]) -> TimedModel:
    """The module a request's model describes, with its weights loaded if it names them."""
    from gensynth.backends._measure import TimedModel
    from gensynth.prototypes import spec_from_dict

    spec = spec_from_dict(model["spec"])
    module = spec.build().eval()
    if model["weights"] is not None:
        from safetensors.torch import load_file

        module.load_state_dict(load_file(model["weights"]))
    return TimedModel(module, spec.input_shape, model["macs"], model["label"])


if __name__ == "__main__":
    main()
