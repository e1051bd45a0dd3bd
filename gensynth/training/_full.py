"""Full training into a model directory: fit, test once, costs, provenance, figures."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.errors import DataError
from gensynth.provenance import stamp
from gensynth.training._config import TrainConfig, primary_metric
from gensynth.training._evaluate import evaluate
from gensynth.training._fit import FitResult, Progress, fit
from gensynth.training._plots import plot_confusion, plot_curves, plot_decision_sweep
from gensynth.training._tensors import seed_everything

if TYPE_CHECKING:
    from torch import nn

    from gensynth.data.dataset import DefectDataset
    from gensynth.prototypes import ArchSpec

__all__ = [
    "CURVES_FILE",
    "check_channels",
    "check_compatible",
    "costs_of",
    "load_teacher",
    "preprocessing_of",
    "train_to_dir",
]

CURVES_FILE = "curves.png"
CONFUSION_FILE = "confusion.png"
SWEEP_FILE = "pr_sweep.png"


def data_channels(data: DefectDataset) -> int:
    """Channels of the data's images: grayscale (N, H, W) is 1, (N, C, H, W) is C."""
    return 1 if data.images.ndim == 3 else int(data.images.shape[1])


def check_channels(spec: ArchSpec, channels: int) -> None:
    """Raise DataError when ``spec`` does not take images of ``channels`` channels."""
    if spec.in_channels != channels:
        raise DataError(
            f"the spec expects {spec.in_channels} input channels, the data has {channels} "
            f"(loaded with --channels {channels})",
            hint=f"pass --channels {spec.in_channels}, or set in_channels in the spec to "
            f"{channels}",
        )


def check_compatible(spec: ArchSpec, data: DefectDataset) -> None:
    """Raise DataError when ``data`` cannot train ``spec`` (channels, classes, masks)."""
    check_channels(spec, data_channels(data))
    data.check_task(spec.task)
    if spec.task == "classify" and spec.num_classes != data.num_classes:
        raise DataError(
            f"the spec has {spec.num_classes} classes, the data has {data.num_classes} "
            f"({', '.join(data.class_names)})",
            hint="set num_classes in the spec, or use the data it was trained on",
        )


def costs_of(spec: ArchSpec) -> dict[str, Any]:
    """MACs and parameters, counted exactly (gensynth.constraints.count_costs)."""
    from gensynth.constraints import count_costs

    costs = count_costs(spec)
    return {
        "macs": int(costs.macs),
        "params": int(costs.params),
        "costs_source": "gensynth.constraints.count_costs",
    }


def load_teacher(path: Path, data: DefectDataset) -> tuple[nn.Module, dict[str, Any]]:
    """A trained classifier model folder as a distillation teacher for ``data``, and what
    metrics.json should record about it.

    The teacher must have been trained on the same files and split (same data fingerprint):
    a teacher that saw the test images would leak them into the student's test score.
    """
    from gensynth.modeldir import load_model_dir

    loaded = load_model_dir(Path(path))
    if loaded.spec.task != "classify":
        raise DataError(
            f"teacher {str(path)!r} is a {loaded.spec.task} model, expected a classifier",
            hint="distil classifiers only",
        )
    print_ = (loaded.metrics.get("data") or {}).get("fingerprint")
    if print_ != data.fingerprint:
        raise DataError(
            f"teacher {str(path)!r} was trained on other data or another split "
            f"(fingerprint {print_}, expected {data.fingerprint})",
            hint="train the teacher on the same --data and --seed, at the same input size",
        )
    test = loaded.metrics.get("test") or {}
    info = {
        "teacher": str(path),
        "teacher_spec_hash": loaded.spec.spec_hash,
        "teacher_test_accuracy": test.get("accuracy"),
    }
    return loaded.model, info


def train_to_dir(
    spec: ArchSpec,
    data: DefectDataset,
    config: TrainConfig,
    out: Path,
    *,
    data_source: str,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    teacher: Path | None = None,
) -> dict[str, Any]:
    """Train ``spec`` on ``data``, test once, and write the model directory; its metrics.

    ``out`` must already be prepared (gensynth.paths.prepare_out_dir). ``teacher`` is a
    classifier model folder to distil from (see :func:`load_teacher`).
    """
    from gensynth.modeldir import save_model_dir

    check_compatible(spec, data)
    started = time.perf_counter()
    tutor, distillation = (None, None) if teacher is None else load_teacher(teacher, data)
    seed_everything(config.seed)
    model = spec.build()
    if config.input_size is None and data.input_size != spec.input_size:
        config = config.replace(input_size=spec.input_size)
    result = fit(
        model,
        data,
        config,
        task=spec.task,
        progress=progress,
        should_stop=should_stop,
        teacher=tutor,
    )
    tick = time.perf_counter()
    kwargs: dict[str, Any] = {"task": spec.task, "input_size": config.input_size}
    test = evaluate(model, data, split="test", seed=config.seed, **kwargs)
    val = evaluate(model, data, split="val", seed=config.seed, **kwargs)
    timings = {
        "train_seconds": result.train_seconds,
        "images_per_second": result.images_per_second,
        "evaluate_seconds": time.perf_counter() - tick,
        "total_seconds": time.perf_counter() - started,
    }
    metrics = {
        "task": spec.task,
        "metric": primary_metric(spec.task),
        "spec_hash": spec.spec_hash,
        "spec": spec.describe(),
        "test": test,
        "val": val,
        **_training_part(result),
        **costs_of(spec),
        "data": _data_part(data, data_source),
        "seed": config.seed,
        "training": config.to_dict(),
        "distillation": distillation,
        "preprocessing": preprocessing_of(spec, data),
        "device": result.device,
        "timings": timings,
        **stamp(),
    }
    save_model_dir(out, spec, model, metrics)
    _figures(out, metrics)
    return metrics


def preprocessing_of(spec: ArchSpec, data: DefectDataset) -> dict[str, Any]:
    """The record ``predict`` applies: the data's channels and resize policy at the
    model's input size."""
    from gensynth.data.preprocess import Preprocessing

    prep = Preprocessing(channels=data.channels, input_size=spec.input_size,
                         resize=data.resize)  # type: ignore[arg-type]  # fmt: skip
    return prep.to_dict()


def _training_part(result: FitResult) -> dict[str, Any]:
    return {
        "history": result.history,
        "best_epoch": result.best_epoch,
        "stopped_early": result.stopped_early,
        "stop_reason": result.stop_reason,
        "weights": "EMA of the training weights" if result.ema else "training weights",
        "epoch_plan": result.plan,
        "train_samples": result.train_samples,
        "input_size": result.input_size,
    }


def _data_part(data: DefectDataset, source: str) -> dict[str, Any]:
    counts = data.counts()
    return {
        "source": source,
        "format": data.format,
        "root": data.root,
        "fingerprint": data.fingerprint,
        "class_names": list(data.class_names),
        "input_size": data.input_size,
        "channels": data.channels,
        "resize": data.resize,
        "split_file": data.split_file,
        "split_counts": {
            s: sum(row[s] for row in counts.values()) for s in ("train", "val", "test")
        },
        "class_counts": counts,
    }


def _figures(out: Path, metrics: dict[str, Any]) -> None:
    plot_curves(metrics["history"], out / CURVES_FILE, metric=metrics["metric"])
    test = metrics["test"]
    if metrics["task"] == "classify":
        plot_confusion(test["confusion"], out / CONFUSION_FILE, title="Confusion matrix (test)")
    else:
        plot_decision_sweep(test["decision"], out / SWEEP_FILE, title="Defect decision (test)")
