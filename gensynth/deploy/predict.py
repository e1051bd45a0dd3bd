"""``predict``: a model folder (or a gensynth ONNX file) run on image files, one row each.

The preprocessing, class names and segmentation decision rule come from the ONNX file's
gensynth metadata (:mod:`gensynth.deploy.metadata`), never from the caller::

    predictor = Predictor.from_model_dir("runs/best")
    for row in predictor.predict(["images/"]):
        print(row.path, row.to_dict())

Classification rows carry the class and its probability. Segmentation rows carry the
image-level verdict (an image is a defect when at least ``area_threshold`` of its pixels, at
the model's input size, have p >= ``pixel_threshold``; the rule training scored), the
defect area of the mask at the image's original size, and the mask itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gensynth.deploy._images import BadImage, Decoded, decode, expand_paths, mask_names
from gensynth.deploy.int8_status import check_int8_usable
from gensynth.deploy.metadata import ModelMetadata, export_model_dir, read_onnx_metadata
from gensynth.errors import ConfigError, DataError
from gensynth.vocabulary import ONNX_FILE

__all__ = [
    "DEFAULT_BATCH",
    "INT8_ONNX_FILE",
    "PREDICT_BACKENDS",
    "ClassPrediction",
    "Prediction",
    "Predictor",
    "SegmentPrediction",
    "original_mask",
    "resolve_onnx",
    "summarize",
]

#: Images per ONNX Runtime call.
DEFAULT_BATCH = 16
#: The INT8 model ``gensynth export MODEL_DIR --int8`` writes beside ``model.onnx``.
INT8_ONNX_FILE = "model.int8.onnx"
#: Backends predict runs an ONNX file on, and their execution providers.
PREDICT_BACKENDS: dict[str, tuple[str, ...]] = {
    "onnxruntime-cpu": ("CPUExecutionProvider",),
    "onnxruntime-cuda": ("CUDAExecutionProvider", "CPUExecutionProvider"),
    "tensorrt": ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"),
}


@dataclasses.dataclass(frozen=True)
class Prediction:
    """One image's result: its path and original size (width, height)."""

    path: str
    width: int
    height: int

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in ("mask",)}


@dataclasses.dataclass(frozen=True)
class ClassPrediction(Prediction):
    """A classifier's answer: the most probable class and its probability (0..1)."""

    label: str = ""
    confidence: float = 0.0
    probabilities: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, eq=False)
class SegmentPrediction(Prediction):
    """A segmenter's answer: the verdict, the defect area at the original size, the mask.

    ``mask`` is uint8 0/255 at (height, width); ``share_at_input`` is the share of pixels at
    the model's input size with p >= the pixel threshold, which the verdict compares with
    the area threshold; ``max_probability`` the largest pixel probability.
    """

    defect: bool = False
    defect_pixels: int = 0
    defect_percent: float = 0.0
    share_at_input: float = 0.0
    max_probability: float = 0.0
    mask: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros((0, 0), np.uint8))
    mask_name: str = ""


def resolve_onnx(model: Path, *, int8: bool = False) -> Path:
    """The ONNX file of a model folder (``model.onnx``, or ``model.int8.onnx`` with ``int8``),
    or ``model`` itself when it is a file; a missing one says how to make it."""
    model = Path(model)
    if model.is_file():
        if int8:
            raise ConfigError(
                f"--int8 needs a model folder, got the file {str(model)!r}",
                hint="give the model folder, or the INT8 .onnx file itself without --int8",
            )
        return model
    if not model.is_dir():
        raise DataError(
            f"model {str(model)!r} does not exist",
            hint="give a model folder (gensynth train --out, or explore's OUT/best)",
        )
    name = INT8_ONNX_FILE if int8 else ONNX_FILE
    path = model / name
    if not path.is_file():
        command = f"gensynth export {model}" + (" --int8" if int8 else "")
        raise DataError(
            f"model folder {str(model)!r} has no {name}",
            hint=f"run {command} first" + ("" if int8 else ", or pass --export to export it now"),
        )
    if int8:  # an INT8 model that lost too much accuracy is kept for inspection, not run
        from gensynth.deploy.int8_status import check_int8_usable

        check_int8_usable(model)
    return path


def _session(path: Path, backend: str, threads: int | None) -> Any:
    import onnxruntime as ort

    from gensynth.backends import get_backend, resolve_threads

    if backend not in PREDICT_BACKENDS:
        raise ConfigError(
            f"--backend: predict runs ONNX files, expected one of "
            f"{', '.join(PREDICT_BACKENDS)}, got {backend!r}"
        )
    available, why = get_backend(backend).is_available()
    if not available:
        from gensynth.errors import BackendUnavailable

        raise BackendUnavailable(f"backend {backend} is not available: {why}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = resolve_threads(threads)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=list(PREDICT_BACKENDS[backend]))
    except Exception as error:  # ORT raises its own Fail/InvalidGraph types
        raise DataError(
            f"ONNX Runtime cannot load {str(path)!r}: {str(error).splitlines()[0]}",
            hint="export it again: gensynth export MODEL_DIR",
        ) from None


def _check_input(session: Any, meta: ModelMetadata, path: Path) -> None:
    shape = session.get_inputs()[0].shape
    want = [meta.preprocessing.channels, meta.preprocessing.input_size]
    got = [shape[1], shape[2]] if len(shape) == 4 else None
    if got is None or any(isinstance(g, int) and g != w for g, w in zip(got, want, strict=True)):
        raise DataError(
            f"ONNX file {str(path)!r} takes input {shape}, but its metadata says "
            f"{meta.preprocessing.channels} channel(s) at {meta.preprocessing.input_size} px",
            hint="export it again: gensynth export MODEL_DIR",
        )


class Predictor:
    """An ONNX model with its metadata, run on image files in batches.

    ``on_warning`` receives each one-time warning (e.g. images converted to the model's
    channel count); ``on_skip`` each bad image left out with ``skip_bad``.
    """

    def __init__(
        self,
        onnx_path: Path,
        metadata: ModelMetadata,
        *,
        backend: str = "onnxruntime-cpu",
        threads: int | None = None,
        batch: int = DEFAULT_BATCH,
    ) -> None:
        if isinstance(batch, bool) or not isinstance(batch, int) or batch <= 0:
            raise ConfigError(f"--batch: expected a positive integer, got {batch!r}")
        self.onnx_path = Path(onnx_path)
        self.metadata = metadata
        self.backend = backend
        self.batch = batch
        self._session = _session(self.onnx_path, backend, threads)
        _check_input(self._session, metadata, self.onnx_path)
        self._input = self._session.get_inputs()[0].name
        self.threads = int(self._session.get_session_options().intra_op_num_threads)

    @classmethod
    def from_onnx(cls, path: Path, **kwargs: Any) -> Predictor:
        """A gensynth ONNX file; one without gensynth metadata is refused (names the keys)."""
        return cls(Path(path), read_onnx_metadata(Path(path)), **kwargs)

    @classmethod
    def from_model_dir(
        cls, model: Path, *, int8: bool = False, export: bool = False, **kwargs: Any
    ) -> Predictor:
        """A model folder's ``model.onnx`` (``model.int8.onnx`` with ``int8``), or an ONNX file.

        ``export``: export ``model.onnx`` first when the folder has none (torch parity
        checked, metadata stamped), instead of refusing.
        """
        model = Path(model)
        if export and model.is_dir() and not int8 and not (model / ONNX_FILE).is_file():
            export_model_dir(model)
        path = resolve_onnx(model, int8=int8)
        if int8:  # an INT8 model recorded as too inaccurate is refused (exit 3)
            check_int8_usable(model)
        return cls.from_onnx(path, **kwargs)

    @property
    def task(self) -> str:
        return self.metadata.task

    def run(self, pixels: np.ndarray) -> np.ndarray:
        """Raw outputs (logits) for a uint8 batch of model-sized pixels."""
        from gensynth.data.preprocess import normalize

        x = normalize(pixels, self.metadata.preprocessing)
        return np.asarray(self._session.run(None, {self._input: x})[0])

    def predict(
        self,
        paths: Sequence[str | Path],
        *,
        skip_bad: bool = False,
        on_skip: Callable[[BadImage], None] | None = None,
        on_warning: Callable[[str], None] | None = None,
        on_image: Callable[[int, int], None] | None = None,
    ) -> Iterator[Prediction]:
        """One row per image of ``paths`` (files, or folders searched recursively), in order.

        A bad image raises :class:`BadImage`, or with ``skip_bad`` is passed to ``on_skip``
        and left out. ``on_image(done, total)`` is called after each image.
        """
        items = expand_paths(paths)
        names = mask_names(items)
        prep = self.metadata.preprocessing
        warned = False
        done, total = 0, len(items)
        batch: list[tuple[Decoded, str]] = []
        for (path, _), name in zip(items, names, strict=True):
            try:
                decoded = decode(path, prep)
            except BadImage as bad:
                if not skip_bad:
                    raise
                if on_skip is not None:
                    on_skip(bad)
                done += 1
                if on_image is not None:
                    on_image(done, total)
                continue
            if decoded.channels != prep.channels and not warned:
                warned = True
                if on_warning is not None:
                    on_warning(_conversion_warning(decoded, prep.channels))
            batch.append((decoded, name))
            if len(batch) == self.batch:
                yield from self._rows(batch)
                done += len(batch)
                batch = []
                if on_image is not None:
                    on_image(done, total)
        if batch:
            yield from self._rows(batch)
            done += len(batch)
            if on_image is not None:
                on_image(done, total)

    def _rows(self, batch: list[tuple[Decoded, str]]) -> Iterator[Prediction]:
        out = self.run(np.stack([d.pixels for d, _ in batch]))
        for (decoded, name), logits in zip(batch, out, strict=True):
            if self.task == "classify":
                yield self._class_row(decoded, logits)
            else:
                yield self._segment_row(decoded, logits, name)

    def _class_row(self, decoded: Decoded, logits: np.ndarray) -> ClassPrediction:
        z = logits.astype(np.float64) - float(np.max(logits))
        probs = np.exp(z) / np.exp(z).sum()
        k = int(np.argmax(probs))
        names = self.metadata.class_names
        return ClassPrediction(
            path=str(decoded.path),
            width=decoded.size[0],
            height=decoded.size[1],
            label=names[k],
            confidence=float(probs[k]),
            probabilities={n: float(p) for n, p in zip(names, probs, strict=True)},
        )

    def _segment_row(self, decoded: Decoded, logits: np.ndarray, name: str) -> SegmentPrediction:
        meta = self.metadata
        pixel, area = float(meta.pixel_threshold or 0.5), float(meta.area_threshold or 0.0)
        probs = (1.0 / (1.0 + np.exp(-logits[0].astype(np.float64)))).astype(np.float32)
        share = float((probs >= pixel).mean())
        mask = original_mask(probs, decoded.size, meta.preprocessing.resize, pixel)
        count = int(np.count_nonzero(mask))
        w, h = decoded.size
        return SegmentPrediction(
            path=str(decoded.path),
            width=w,
            height=h,
            defect=share >= area,
            defect_pixels=count,
            defect_percent=100.0 * count / float(w * h),
            share_at_input=share,
            max_probability=float(probs.max()),
            mask=mask,
            mask_name=name,
        )


def _conversion_warning(decoded: Decoded, channels: int) -> str:
    have = "grayscale" if decoded.channels == 1 else "colour"
    want = "grayscale" if channels == 1 else "RGB"
    return (
        f"{have} images (first: {str(decoded.path)!r}) converted to {want}, the "
        f"{channels} channel(s) the model was trained on"
    )


def original_mask(
    probs: np.ndarray, size: tuple[int, int], resize: str, threshold: float
) -> np.ndarray:
    """The model-sized probability map back on the original image: upsampled (bilinear)
    over the part of the image the model saw, then thresholded; uint8 0/255, (height, width).

    ``stretch`` covers the whole image; ``pad`` drops the padding first; ``crop`` saw only
    the centre square, so the rest of the mask is 0.
    """
    from PIL import Image

    w, h = size
    s = probs.shape[-1]
    mask = np.zeros((h, w), np.uint8)
    if resize == "pad":
        scale = s / max(w, h)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        top, left = (s - nh) // 2, (s - nw) // 2
        probs, box = probs[top : top + nh, left : left + nw], (0, 0, w, h)
    elif resize == "crop":
        side = min(w, h)
        left, top = round((w - side) / 2), round((h - side) / 2)
        box = (left, top, left + side, top + side)
    else:
        box = (0, 0, w, h)
    bw, bh = box[2] - box[0], box[3] - box[1]
    field = Image.fromarray(np.ascontiguousarray(probs, dtype=np.float32), "F")
    up = np.asarray(field.resize((bw, bh), Image.Resampling.BILINEAR))
    mask[box[1] : box[3], box[0] : box[2]] = np.where(up >= threshold, 255, 0).astype(np.uint8)
    return mask


def summarize(rows: Sequence[Prediction], seconds: float, skipped: int = 0) -> dict[str, Any]:
    """Counts per class (classification) or defect count (segmentation), and the speed."""
    summary: dict[str, Any] = {
        "images": len(rows),
        "skipped": skipped,
        "seconds": seconds,
        "images_per_second": len(rows) / seconds if seconds > 0 else None,
    }
    classes = [r.label for r in rows if isinstance(r, ClassPrediction)]
    if classes:
        summary["per_class"] = {name: classes.count(name) for name in sorted(set(classes))}
    verdicts = [r.defect for r in rows if isinstance(r, SegmentPrediction)]
    if verdicts:
        summary["defect"] = int(sum(verdicts))
        summary["no_defect"] = len(verdicts) - int(sum(verdicts))
    return summary
