"""Impact coverage (GSInquire): inject a known defect, explain the new decision, score overlap.

Classification: a synthetic defect of another class is pasted into a test image at a random
place; when the prediction flips to the injected class, each method explains that new
prediction and its top-n pixels (n = the injected defect's area) are compared with the
injected mask (IoU). Segmentation: the defect is pasted into clean, defect-free steel; a flip
is the image going from "no defect" to "defect". Only flipped injections are scored; the
number of flips is reported beside the mean IoU.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import numpy as np
import torch

from gensynth.data import NEU_CLASSES, NEU_PREFIX, SEG_CLASSES
from gensynth.explain._base import Explainer, attribute_batched
from gensynth.explain._metrics import chance_iou, coverage_iou
from gensynth.explain._subject import Prediction, Subject, defective
from gensynth.training import to_input

__all__ = ["Coverage", "injectable", "run_coverage"]

Tick = Callable[[int], None]


def injectable(name: str) -> bool:
    """Whether the synthetic generator can paste a defect of class ``name``."""
    prefixes = {p.lower() for p in NEU_PREFIX.values()}
    return name in NEU_CLASSES or name.lower() in prefixes


@dataclasses.dataclass
class Coverage:
    """Injections tried, which flipped the decision, and each method's IoU on the flips."""

    available: bool
    reason: str = ""
    injected: list[str] = dataclasses.field(default_factory=list)  # class name per attempt
    flipped: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, bool))
    chance: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))  # per attempt
    iou: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)  # NaN where no flip
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def attempts(self) -> int:
        return len(self.injected)


def _defective(subject: Subject, x: torch.Tensor) -> torch.Tensor:
    return defective(torch.sigmoid(subject.outputs(x)[:, 0]))


def _inject(
    subject: Subject,
    images: np.ndarray,
    labels: np.ndarray,
    predicted: np.ndarray,
    class_names: tuple[str, ...],
    rng: np.random.Generator,
) -> tuple[list[str], list[int], np.ndarray, np.ndarray, np.ndarray]:
    """(class names, class indices, base images, injected images, masks) per attempt."""
    from gensynth.data import clean_background, inject_defect

    usable = [k for k, name in enumerate(class_names) if injectable(name)]
    names: list[str] = []
    codes: list[int] = []
    arrays: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for i in range(len(images)):
        if subject.task == "classify":
            choices = [k for k in usable if k not in (labels[i], predicted[i])]
            if not choices:
                continue
            code = int(rng.choice(choices))
            name, base = class_names[code], images[i]
        else:  # a defect-free background: the flip is "no defect" -> "defect"
            pool = [class_names[k] for k in usable] or list(SEG_CLASSES)
            code, name = -1, str(rng.choice(pool))
            base = clean_background(rng, images.shape[-1])
        names.append(name)
        codes.append(code)
        arrays.append((base, *inject_defect(base, name, rng)))
    bases, outs, masks = ([a[j] for a in arrays] for j in range(3))
    return names, codes, _stack(bases, images), _stack(outs, images), _stack(masks, images)


def _stack(arrays: list[np.ndarray], like: np.ndarray) -> np.ndarray:
    return np.stack(arrays) if arrays else np.zeros((0, *like.shape[1:]), np.uint8)


def run_coverage(
    subject: Subject,
    explainers: dict[str, Explainer],
    images: np.ndarray,
    labels: np.ndarray,
    predicted: np.ndarray,
    class_names: tuple[str, ...],
    *,
    seed: int,
    tick: Tick | None = None,
) -> Coverage:
    """Inject one defect per sample (uint8 ``images``), and score each method on the flips."""
    if subject.task == "classify" and sum(map(injectable, class_names)) == 0:
        return Coverage(False, "no class of the data is a synthetic defect class")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xC0FE]))
    names, codes, bases, injected, masks = _inject(
        subject, images, labels, predicted, class_names, rng
    )
    if not names:
        return Coverage(False, "no sample could take a defect of another class")
    x = to_input(torch.from_numpy(injected[:, None]))
    prediction = subject.predict(x)
    if subject.task == "classify":
        flipped = prediction.target.numpy() == np.asarray(codes)
    else:
        before = _defective(subject, to_input(torch.from_numpy(bases[:, None])))
        flipped = (~before & _defective(subject, x)).numpy()
    total = masks[0].size
    result = Coverage(
        True,
        injected=names,
        flipped=flipped,
        chance=np.array([chance_iou(int(m.sum()), total) for m in masks]),
    )
    for name, explainer in explainers.items():
        started = time.perf_counter()
        result.iou[name] = _scores(subject, explainer, x, prediction, flipped, masks)
        result.seconds[name] = time.perf_counter() - started
        if tick is not None:
            tick(1)
    return result


def _scores(
    subject: Subject,
    explainer: Explainer,
    x: torch.Tensor,
    prediction: Prediction,
    flipped: np.ndarray,
    masks: np.ndarray,
) -> np.ndarray:
    """Coverage IoU per attempt (NaN where the injection did not flip the decision)."""
    scores = np.full(len(x), np.nan)
    rows = np.flatnonzero(flipped)
    if len(rows):
        index = torch.from_numpy(rows)
        maps = attribute_batched(explainer, subject, x[index], prediction.take(index))
        for row, attribution in zip(rows, maps.numpy(), strict=True):
            scores[row] = coverage_iou(attribution, masks[row])
    return scores
