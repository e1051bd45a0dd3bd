"""Self-describing ONNX: what a deployed model needs to know, in the file's ``metadata_props``.

Every ONNX file gensynth writes for a model folder carries the task, the class names, the
input size and channels, the preprocessing (resize policy, ``x * scale + offset``), the
segmentation decision rule, the spec hash and the gensynth version, under keys that start
with ``gensynth.``. ``predict`` reads them back, so nobody re-types the preprocessing; a
foreign ONNX file without them is refused, naming the keys it lacks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.data.preprocess import Preprocessing
from gensynth.errors import DataError
from gensynth.paths import write_atomically
from gensynth.vocabulary import ONNX_FILE

if TYPE_CHECKING:
    from gensynth.backends import ExportReport
    from gensynth.modeldir import LoadedModel
    from gensynth.prototypes import ArchSpec

__all__ = [
    "DEFAULT_AREA_THRESHOLD",
    "DEFAULT_PIXEL_THRESHOLD",
    "METADATA_VERSION",
    "PREFIX",
    "ModelMetadata",
    "export_model_dir",
    "metadata_for",
    "read_onnx_metadata",
    "stamp_onnx",
]

PREFIX = "gensynth."
#: Bumped when a key changes meaning; readers accept what they know.
METADATA_VERSION = "1"
#: The pixel-probability threshold of the masks, IoU and the verdict when metrics.json does not
#: store one (it is ``training._metrics.PIXEL_THRESHOLD``, recorded as ``test.pixel_threshold``).
DEFAULT_PIXEL_THRESHOLD = 0.5
#: An image is a defect when this share of its pixels (at the model's input size) is predicted
#: defect; training records it as ``test.decision.area_threshold``.
DEFAULT_AREA_THRESHOLD = 0.0002

_COMMON = ("metadata_version", "task", "class_names", "input_size", "channels", "resize",
           "scale", "offset", "spec_hash", "version")  # fmt: skip
_SEGMENT = ("pixel_threshold", "area_threshold")


@dataclasses.dataclass(frozen=True)
class ModelMetadata:
    """What a model file says about itself: task, classes, preprocessing and decision rule.

    ``pixel_threshold`` and ``area_threshold`` are the segmentation verdict (an image is a
    defect when at least ``area_threshold`` of its pixels have p >= ``pixel_threshold``);
    ``None`` for a classifier. ``threshold_source`` says where they came from.
    """

    task: str
    class_names: tuple[str, ...]
    preprocessing: Preprocessing
    spec_hash: str
    gensynth_version: str
    pixel_threshold: float | None = None
    area_threshold: float | None = None
    threshold_source: str = ""

    def to_props(self) -> dict[str, str]:
        """The ``metadata_props`` entries (all strings, keys prefixed ``gensynth.``)."""
        prep = self.preprocessing
        values: dict[str, Any] = {
            "metadata_version": METADATA_VERSION,
            "task": self.task,
            "class_names": json.dumps(list(self.class_names)),
            "input_size": prep.input_size,
            "channels": prep.channels,
            "resize": prep.resize,
            "scale": repr(float(prep.scale)),
            "offset": repr(float(prep.offset)),
            "preprocessing": prep.describe(),
            "spec_hash": self.spec_hash,
            "version": self.gensynth_version,
            "output": _OUTPUT[self.task],
        }
        if self.task == "segment":
            values["pixel_threshold"] = repr(float(self.pixel_threshold or 0.0))
            values["area_threshold"] = repr(float(self.area_threshold or 0.0))
            values["threshold_source"] = self.threshold_source
        return {PREFIX + key: str(value) for key, value in values.items()}

    @classmethod
    def from_props(
        cls, props: Mapping[str, str], *, source: str = "the ONNX file"
    ) -> ModelMetadata:
        """Back from ``metadata_props``; missing or malformed keys are one DataError."""
        task = props.get(PREFIX + "task")
        needed = _COMMON + (_SEGMENT if task == "segment" else ())
        missing = [PREFIX + key for key in needed if PREFIX + key not in props]
        if missing:
            some = any(key.startswith(PREFIX) for key in props)
            raise DataError(
                f"{source} has {'incomplete' if some else 'no'} gensynth metadata: "
                f"missing {', '.join(missing)}",
                hint="its preprocessing and classes are unknown, so it is not run; export "
                "the model folder with gensynth export MODEL_DIR",
            )
        get = {key: props[PREFIX + key] for key in needed}
        try:
            prep = Preprocessing(
                channels=int(get["channels"]),
                input_size=int(get["input_size"]),
                resize=get["resize"],  # type: ignore[arg-type]  # checked by Preprocessing
                scale=float(get["scale"]),
                offset=float(get["offset"]),
            )
            names = json.loads(get["class_names"])
            seg = task == "segment"
            return cls(
                task=str(task),
                class_names=tuple(str(n) for n in names),
                preprocessing=prep,
                spec_hash=get["spec_hash"],
                gensynth_version=get["version"],
                pixel_threshold=float(get["pixel_threshold"]) if seg else None,
                area_threshold=float(get["area_threshold"]) if seg else None,
                threshold_source=props.get(PREFIX + "threshold_source", ""),
            )
        except (ValueError, TypeError) as error:
            raise DataError(
                f"{source} has malformed gensynth metadata ({error})",
                hint="export it again: gensynth export MODEL_DIR",
            ) from None

    def describe_rule(self) -> str:
        """The segmentation verdict in words, with its figures and where they came from."""
        if self.task != "segment":
            return "class with the highest probability"
        return (
            f"defect when >= {100 * (self.area_threshold or 0):g}% of the pixels (at "
            f"{self.preprocessing.input_size}x{self.preprocessing.input_size}) have "
            f"p >= {self.pixel_threshold:g} ({self.threshold_source or 'stored in the model'})"
        )


_OUTPUT = {
    "classify": "class logits (N, C); softmax gives probabilities",
    "segment": "defect logit per pixel (N, 1, H, W); sigmoid gives probabilities",
}


def _thresholds(metrics: Mapping[str, Any]) -> tuple[float, float, str]:
    """The segmentation decision rule stored in metrics.json (test split), or the defaults."""
    test = metrics.get("test") or {}
    decision = test.get("decision") or {}
    pixel, area = test.get("pixel_threshold"), decision.get("area_threshold")
    if isinstance(pixel, (int, float)) and isinstance(area, (int, float)):
        return (
            float(pixel),
            float(area),
            "metrics.json (test.pixel_threshold, test.decision.area_threshold)",
        )
    return (
        DEFAULT_PIXEL_THRESHOLD,
        DEFAULT_AREA_THRESHOLD,
        "default: metrics.json stores no decision rule",
    )


def metadata_for(spec: ArchSpec, metrics: Mapping[str, Any]) -> ModelMetadata:
    """The metadata of a model folder, from its spec and metrics.json.

    The preprocessing is metrics.json's ``preprocessing`` record (older folders hold a text,
    some none: the default pipeline, stretched to the spec's input size, with the spec's
    channels); channels and size must match the spec.
    """
    from gensynth import __version__

    record = metrics.get("preprocessing")
    if isinstance(record, Mapping):
        prep = Preprocessing.from_dict(dict(record), input_size=spec.input_size)
    else:  # a text (older folders) or nothing: the default pipeline at the spec's shape
        prep = Preprocessing(channels=spec.in_channels, input_size=spec.input_size)
    if (prep.channels, prep.input_size) != (spec.in_channels, spec.input_size):
        raise DataError(
            f"metrics.json's preprocessing ({prep.channels} channel(s), {prep.input_size} px) "
            f"does not match the spec ({spec.in_channels} channel(s), {spec.input_size} px)",
            hint="retrain the model folder: gensynth train --spec SPEC.yaml --out MODEL_DIR",
        )
    names = tuple((metrics.get("data") or {}).get("class_names") or ())
    if spec.task == "classify" and len(names) != spec.num_classes:
        names = tuple(f"class{k}" for k in range(spec.num_classes))
    pixel, area, source = _thresholds(metrics) if spec.task == "segment" else (None, None, "")
    return ModelMetadata(
        task=spec.task,
        class_names=names,
        preprocessing=prep,
        spec_hash=spec.spec_hash,
        gensynth_version=__version__,
        pixel_threshold=pixel,
        area_threshold=area,
        threshold_source=source,
    )


def stamp_onnx(path: Path, metadata: ModelMetadata) -> None:
    """Write ``metadata`` into the ONNX file at ``path`` (replacing earlier gensynth keys).

    The file is replaced atomically: a reader sees the old file or the stamped one.
    """
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    kept = [(p.key, p.value) for p in model.metadata_props if not p.key.startswith(PREFIX)]
    del model.metadata_props[:]
    for key, value in [*kept, *metadata.to_props().items()]:
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    write_atomically(path, model.SerializeToString())


def onnx_props(path: Path) -> dict[str, str]:
    """The ``metadata_props`` of an ONNX file; an unreadable file is a DataError."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # onnx raises DecodeError, ValueError, OSError...
        raise DataError(
            f"{str(path)!r} is not a readable ONNX file ({type(error).__name__})",
            hint="export it again: gensynth export MODEL_DIR",
        ) from None
    return {p.key: p.value for p in model.metadata_props}


def read_onnx_metadata(path: Path) -> ModelMetadata:
    """The gensynth metadata of an ONNX file; a file without it is refused (DataError)."""
    return ModelMetadata.from_props(onnx_props(path), source=f"ONNX file {str(path)!r}")


def export_model_dir(
    model_dir: Path,
    target: Path | None = None,
    *,
    tolerance: float = 1e-4,
    loaded: LoadedModel | None = None,
) -> tuple[ExportReport, ModelMetadata]:
    """Export a model folder to ONNX (parity-checked against torch) with its metadata.

    The file appears at ``target`` (default ``MODEL_DIR/model.onnx``) only once parity holds
    and the metadata is in: it is written beside it under a temporary name, then moved.
    ``loaded``: the folder already read by the caller.
    """
    from gensynth.backends import export_onnx
    from gensynth.modeldir import load_model_dir

    loaded = loaded if loaded is not None else load_model_dir(Path(model_dir))
    metadata = metadata_for(loaded.spec, loaded.metrics)
    target = Path(target) if target is not None else Path(model_dir) / ONNX_FILE
    tmp = target.with_name(f".{target.name}.{os.getpid()}.export.tmp")
    try:
        report = export_onnx(loaded.model, loaded.spec.input_shape, tmp, tolerance=tolerance)
        stamp_onnx(tmp, metadata)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return dataclasses.replace(report, path=target), metadata
