"""An independent timer: a plain ``session.run`` loop in a fresh process, no gensynth code.

Run by ``benchmarks/latency.py``; by hand:

    python benchmarks/_plain_timer.py MODEL.onnx --threads 2 --batch 1 [--profile DIR]

The session is made as a deployed one would be (``threads`` intra-op threads, one inter-op
thread, sequential, all graph optimisations, spinning left at ONNX Runtime's default). After
``--warmup`` calls, calls are timed with ``time.perf_counter`` until there are ``--runs`` of
them and ``--seconds`` have passed. With ``--profile``, ONNX Runtime's own profiler times the
same loop instead, and its ``model_run`` events give the figure. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import onnxruntime as ort


def session(path: str, threads: int, profile: str | None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if profile:
        options.enable_profiling = True
        options.profile_file_prefix = f"{profile}/ort-profile"
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def loop(run, warmup: int, runs: int, seconds: float) -> list[float]:
    for _ in range(warmup):
        run()
    times: list[float] = []
    while len(times) < runs or sum(times) < seconds:
        tick = time.perf_counter()
        run()
        times.append(time.perf_counter() - tick)
    return times


def profiled_ms(path: str, warmup: int) -> list[float]:
    """``model_run`` durations after the warm-up ones, from ONNX Runtime's trace, in ms."""
    with open(path) as handle:
        events = json.load(handle)
    runs = [
        e["dur"] / 1e3
        for e in events
        if e.get("cat") == "Session" and e.get("name") == "model_run"
    ]
    return runs[warmup:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--profile", default=None, help="folder for ONNX Runtime's trace")
    args = parser.parse_args()
    sess = session(args.model, args.threads, args.profile)
    meta = sess.get_inputs()[0]
    shape = [args.batch if not isinstance(d, int) else d for d in meta.shape]
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    feed = {meta.name: x}
    times = loop(lambda: sess.run(None, feed), args.warmup, args.runs, args.seconds)
    out = {"timer": "plain-loop", "median_ms": statistics.median(times) * 1e3, "runs": len(times)}
    if args.profile:
        runs = profiled_ms(sess.end_profiling(), args.warmup)
        out = {"timer": "ort-profiler", "median_ms": statistics.median(runs), "runs": len(runs)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
