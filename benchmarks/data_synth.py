"""Data benchmark: synthesising the NEU-like set, and cold (decode) against warm (cache) loads.

Run: python benchmarks/data_synth.py [--per-class 300] [--learnability [--epochs 24]]

Times ``synthesize`` of 6 × 300 images at 200×200 (NEU-CLS layout, masks beside), then
``load_dataset`` of that folder with an empty cache (every file decoded) and again from the
cache, which is the baseline-relative figure: the warm load as a fraction of the cold one.
``--learnability`` also trains, in plain torch on 1 thread, a tiny 2-conv model for 1 epoch
and a small 4-conv CNN for ``--epochs`` epochs at 100×100 on the synthetic set (80/20 split
per class) and reports test accuracy: the set should be neither trivial nor unlearnable.
Results go to ``benchmarks/results/data_synth-<machine>.json`` with machine, versions and
the load average (the CPU may be shared).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from gensynth.data import load_dataset, synthesize
from gensynth.data._synth import SYNTH_VERSION
from gensynth.provenance import git_sha, machine, versions

RESULTS = Path(__file__).parent / "results"


def _timed(function, repeats: int = 1) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def time_data(per_class: int, work: Path) -> dict[str, Any]:
    """Seconds to synthesise, cold-load and warm-load the set, and the warm/cold ratio."""
    folder, cache = work / "neu-synth", work / "cache"
    cpu = time.process_time()
    synth_s, report = _timed(lambda: synthesize(folder, per_class=per_class, seed=0))
    synth_cpu_s = time.process_time() - cpu
    cold_s, data = _timed(lambda: load_dataset(folder, cache_dir=cache))
    warm_s, _ = _timed(lambda: load_dataset(folder, cache_dir=cache), repeats=3)
    cache_mb = sum(p.stat().st_size for p in cache.rglob("*.npz")) / 1e6
    return {
        "images": report.total,
        "size": report.size,
        "synthesise_s": synth_s,
        "synthesise_images_per_s": report.total / synth_s,
        "synthesise_cpu_s": synth_cpu_s,
        "load_cold_s": cold_s,
        "load_warm_s": warm_s,
        "warm_over_cold": warm_s / cold_s,
        "cache_mb": cache_mb,
        "fingerprint": data.fingerprint,
    }


def learnability(epochs: int, seed: int = 0) -> dict[str, Any]:
    """Test accuracy of a tiny model after 1 epoch and of a small CNN after ``epochs``."""
    import numpy as np
    import torch
    import torch.nn.functional as F
    from torch import nn

    from gensynth.data._synth import generate_set

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    images, _, labels, _ = generate_set("classify", per_class=300, size=200, seed=seed)
    x = F.avg_pool2d(torch.from_numpy(images).float().unsqueeze(1) / 255, 2)
    x = (x - x.mean()) / x.std()
    y = torch.from_numpy(labels)
    rng = np.random.default_rng(seed)
    test = np.zeros(len(y), bool)
    for k in range(6):
        members = np.flatnonzero(labels == k)
        test[rng.permutation(members)[: len(members) // 5]] = True
    data = (x[~test], y[~test], x[test], y[test])

    tiny = nn.Sequential(
        nn.Conv2d(1, 8, 3, 2, 1), nn.ReLU(), nn.Conv2d(8, 8, 3, 2, 1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 6),
    )  # fmt: skip
    blocks = []
    for cin, cout in ((1, 16), (16, 32), (32, 64), (64, 64)):
        blocks += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout)]
        blocks += [nn.ReLU(), nn.MaxPool2d(2)]
    small = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 6))
    start = time.perf_counter()
    tiny_acc, _ = _train(tiny, data, epochs=1, augment=False)
    tiny_s = time.perf_counter() - start
    start = time.perf_counter()
    small_acc, confusion = _train(small, data, epochs=epochs, augment=True)
    return {
        "input": "100x100 (200 px averaged 2x2), standardised; 1440 train / 360 test",
        "tiny_1_epoch_acc": tiny_acc,
        "tiny_s": tiny_s,
        "small_cnn_epochs": epochs,
        "small_cnn_acc": small_acc,
        "small_cnn_s": time.perf_counter() - start,
        "small_cnn_confusion": confusion,
    }


def _train(model, data, *, epochs: int, augment: bool) -> tuple[float, list[list[int]]]:
    """AdamW + one-cycle, batch 32, flips and 90° turns if ``augment``; test accuracy."""
    import torch
    import torch.nn.functional as F

    xtr, ytr, xte, yte = data
    steps = epochs * -(-len(xtr) // 32)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 3e-3, total_steps=steps)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 32):
            batch, xb = order[i : i + 32], xtr[order[i : i + 32]]
            if augment:
                xb = torch.rot90(xb, int(torch.randint(4, (1,))), (2, 3))
                xb = xb.flip(3) if torch.rand(1) < 0.5 else xb
            loss = F.cross_entropy(model(xb), ytr[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            pred = model(xte).argmax(1)
        print(f"  epoch {epoch + 1}/{epochs}: test accuracy {(pred == yte).float().mean():.3f}")
    confusion = torch.zeros(6, 6, dtype=torch.int64)
    confusion.index_put_((yte, pred), torch.ones_like(yte), accumulate=True)
    return float((pred == yte).float().mean()), confusion.tolist()


def _slug() -> str:
    info = machine()
    return re.sub(r"[^a-z0-9]+", "-", f"{info['cpu']}-{info['cores']}c".lower()).strip("-")


def _earlier_learnability(path: Path) -> dict[str, Any] | None:
    """The learnability figures of an earlier run, kept while the generator is unchanged."""
    try:
        earlier = json.loads(path.read_text()).get("learnability")
    except (OSError, ValueError):
        return None
    if not earlier or earlier.get("synth_version") != SYNTH_VERSION:
        return None
    earlier.setdefault("note", "carried over from an earlier --learnability run")
    return earlier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=300)
    parser.add_argument("--learnability", action="store_true")
    parser.add_argument("--epochs", type=int, default=24)
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="gensynth-bench-") as work:
        figures = time_data(args.per_class, Path(work))
    print(
        f"synthesise {figures['images']} images at 200x200: {figures['synthesise_s']:.1f} s "
        f"({figures['synthesise_images_per_s']:.0f} images/s; "
        f"{figures['synthesise_cpu_s']:.1f} s of CPU time, one process)\n"
        f"load, cold (decode): {figures['load_cold_s']:.2f} s\n"
        f"load, warm (cache):  {figures['load_warm_s']:.2f} s "
        f"= {figures['warm_over_cold']:.2f}x the cold load ({figures['cache_mb']:.0f} MB cache)"
    )
    result: dict[str, Any] = {"benchmark": "data_synth", "figures": figures}
    path = RESULTS / f"data_synth-{_slug()}.json"
    if args.learnability:
        learn = learnability(args.epochs)
        learn["synth_version"] = SYNTH_VERSION
    else:
        learn = _earlier_learnability(path)
    if learn:
        print(
            f"tiny model, 1 epoch: {learn['tiny_1_epoch_acc']:.3f}; small CNN, "
            f"{learn['small_cnn_epochs']} epochs: {learn['small_cnn_acc']:.3f}"
        )
        result["learnability"] = learn
    result.update(
        loadavg_before=load_before,
        loadavg_after=os.getloadavg(),
        machine=machine(),
        versions=versions(),
        git_sha=git_sha(),
    )
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
