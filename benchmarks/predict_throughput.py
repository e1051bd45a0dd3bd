"""``predict`` throughput (images/s) on a folder of 1000 image files, against the bench figure.

The bench figure is what ``gensynth bench`` reports for the same model: ONNX Runtime CPU at the
batch ``predict`` uses and the same threads, on an input already in memory
(``gensynth.backends.measure_latency``). ``predict`` also opens, decodes, converts and resizes
every file (``gensynth.data.preprocess.prepare_image``), normalises the batch, and turns the
outputs into rows (and, for segmentation, masks at the original size): the gap between the
two is that work. The script times decoding and preprocessing alone as well, so the gap is
split into its parts. Both run in this process, one after the other (never two live sessions
at once).

Models: the residual prototype's default design at 200 px (~100M MACs, the size ``explore``
targets by default) with random weights (throughput does not depend on them), and a small
2M-MAC net at 32 px, where decoding dominates; or the model folders given with ``--model``.
Images: 1000 synthetic NEU-like 200x200 BMPs written by ``gensynth data synth``.

    python benchmarks/predict_throughput.py                  # both models, 1 and 2 threads
    python benchmarks/predict_throughput.py --model runs/best --threads 2

Writes ``benchmarks/results/predict_throughput-<machine>.json``; the load average is
recorded beside every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_results

IMAGES = 1000
SMALL_SPEC: dict[str, Any] = {
    "prototype": "residual",
    "in_channels": 1,
    "input_size": 32,
    "num_classes": 6,
    "stem": {"width": 8, "kernel": 3, "stride": 1, "pool": False},
    "stages": [
        {"block": "basic", "width": 16, "depth": 1, "stride": 2, "kernel": 3, "expansion": 1.0,
         "se": False},
        {"block": "basic", "width": 40, "depth": 1, "stride": 2, "kernel": 3, "expansion": 1.0,
         "se": False},
    ],
    "act": "relu",
}  # fmt: skip


def _model_folder(root: Path, name: str, spec: Any) -> Path:
    """A model folder of ``spec`` with random weights, exported with its metadata."""
    from gensynth.data.preprocess import Preprocessing
    from gensynth.deploy import export_model_dir
    from gensynth.modeldir import save_model_dir

    folder = root / name
    prep = Preprocessing(channels=spec.in_channels, input_size=spec.input_size)
    metrics = {
        "task": spec.task,
        "spec_hash": spec.spec_hash,
        "spec": spec.describe(),
        "preprocessing": prep.to_dict(),
        "data": {"class_names": [f"class{k}" for k in range(spec.num_classes)]},
        "note": "random weights: a throughput benchmark model",
    }
    save_model_dir(folder, spec, spec.build().eval(), metrics)
    export_model_dir(folder)
    return folder


def default_models(root: Path) -> list[Path]:
    from gensynth.constraints import count_costs
    from gensynth.prototypes import get_prototype, spec_from_dict

    big = get_prototype("residual").default_spec(input_size=200, num_classes=6)
    small = spec_from_dict(SMALL_SPEC)
    for spec in (big, small):
        print(f"model {spec.describe()}: {count_costs(spec).macs / 1e6:.1f}M MACs", flush=True)
    return [_model_folder(root, "residual-200px", big), _model_folder(root, "small-32px", small)]


def write_images(root: Path) -> list[Path]:
    from gensynth.data import synthesize

    folder = root / "images"
    synthesize(folder, task="classify", per_class=-(-IMAGES // 6), size=200, seed=0)
    files = sorted(folder.glob("*.bmp"))[:IMAGES]
    if len(files) != IMAGES:
        raise SystemExit(f"expected {IMAGES} images, got {len(files)}")
    return files


def _best_of(repeats: int, run: Any) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def _time_predict(
    model: Path, files: list[Path], threads: int, batch: int, repeats: int
) -> tuple[float, float]:
    """Seconds of ``predict`` over ``files``, and of decoding and preprocessing them alone
    (best of ``repeats``). The session is gone when this returns."""
    from gensynth.deploy import Predictor
    from gensynth.deploy._images import decode

    predictor = Predictor.from_model_dir(model, threads=threads, batch=batch)
    prep = predictor.metadata.preprocessing
    list(predictor.predict(files[: 2 * batch]))  # warm-up: session, caches, page cache
    predict_s = _best_of(repeats, lambda: list(predictor.predict(files)))
    decode_s = _best_of(repeats, lambda: [decode(p, prep) for p in files])
    return predict_s, decode_s


def measure(model: Path, files: list[Path], threads: int, batch: int, repeats: int) -> dict:
    from gensynth.backends import measure_latency
    from gensynth.modeldir import load_model_dir

    load_before = list(os.getloadavg())
    predict_s, decode_s = _time_predict(model, files, threads, batch, repeats)
    loaded = load_model_dir(model)
    bench = measure_latency(
        loaded.model, loaded.spec.input_shape, backend="onnxruntime-cpu", batch=batch,
        threads=threads, parity_tolerance=None,
    )  # fmt: skip
    bench_ips = batch * 1000.0 / bench.median_ms
    predict_ips = len(files) / predict_s
    inference_s = len(files) / bench_ips
    row = {
        "model": model.name,
        "threads": threads,
        "batch": batch,
        "images": len(files),
        "predict_images_per_s": predict_ips,
        "bench_images_per_s": bench_ips,
        "bench_median_ms_per_batch": bench.median_ms,
        "bench_settings": bench.to_dict().get("settings"),
        "predict_over_bench": predict_ips / bench_ips,
        "predict_seconds": predict_s,
        "decode_preprocess_seconds": decode_s,
        "inference_seconds_at_bench_rate": inference_s,
        "decode_preprocess_share": decode_s / predict_s,
        "inference_share": inference_s / predict_s,
        "rest_share": max(0.0, 1 - (decode_s + inference_s) / predict_s),
        "loadavg_before": load_before,
        "loadavg_after": list(os.getloadavg()),
    }
    print(
        f"{model.name:>15} {threads}t b{batch}: predict {predict_ips:7.1f} img/s, bench "
        f"{bench_ips:8.1f} img/s -> predict is {row['predict_over_bench']:.2f}x the bench "
        f"figure; decode+preprocess {100 * row['decode_preprocess_share']:.0f}%, inference "
        f"{100 * row['inference_share']:.0f}%, rest {100 * row['rest_share']:.0f}% of predict "
        f"(load {load_before[0]:.2f})",
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, action="append", help="model folder(s)")
    parser.add_argument("--threads", type=int, action="append", help="default: 1 and 2")
    parser.add_argument("--batch", type=int, default=16, help="predict's default: 16")
    parser.add_argument("--repeats", type=int, default=3, help="passes, best kept")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gensynth-predict-bench-") as tmp:
        root = Path(tmp)
        files = write_images(root)
        models = args.model or default_models(root)
        rows = [
            measure(model, files, threads, args.batch, args.repeats)
            for model in models
            for threads in (args.threads or [1, 2])
        ]
    path = write_results(
        "predict_throughput",
        {"images": IMAGES, "image_size": 200, "format": "bmp (gensynth data synth)",
         "rows": rows},
    )  # fmt: skip
    print(f"wrote {path}")
    keys = ("per_s", "share", "over_bench")
    brief = [{k: round(v, 3) for k, v in r.items() if k.endswith(keys)} for r in rows]
    print(json.dumps(brief))


if __name__ == "__main__":
    main()
