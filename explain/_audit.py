"""The explanation audit: sample the test split, explain, find critical factors, score.

For every method and sample: the evidence map, its critical factors (``_critical``), the
defect-mask energy share and pointing-game hit (where masks exist); the same for the model
with randomised weights on the first ``sanity_samples`` samples (Adebayo et al.'s sanity
check, with the rank correlation of the two maps); and impact coverage with injected
defects (``_coverage``). :mod:`gensynth.explain._summary` turns the result into numbers.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from gensynth.errors import ConfigError
from gensynth.explain._base import EXPLAINERS, Explainer, make_explainer
from gensynth.explain._coverage import Coverage, run_coverage
from gensynth.explain._critical import DEFAULT_LADDER, CriticalFactors, critical_factors
from gensynth.explain._metrics import (
    energy_share,
    pointing_hit,
    pointing_tolerance,
    rank_correlation,
)
from gensynth.explain._subject import Prediction, Subject, randomized_copy
from gensynth.training import to_input

if TYPE_CHECKING:
    from gensynth.data.dataset import DefectDataset

__all__ = ["AuditConfig", "AuditResult", "MethodResult", "Progress", "run_audit", "select_samples"]

#: ``progress(stage, done, total)``; ``stage`` is "explain", "sanity" or "coverage".
Progress = Callable[[str, int, int], None]
DEFAULT_METHODS = ("gradcam", "ig", "occlusion", "critical")


@dataclasses.dataclass(frozen=True)
class AuditConfig:
    """What to explain and how: methods, sample count, tau, thresholds and method settings.

    - ``tau``: a removal has impact when the confidence falls to <= tau x the original.
    - ``max_area``: the largest critical region tried, as a share of the image.
    - ``energy_threshold``: a sample's explanation is off the defect when its mask energy
      share is below this; None means below chance (the mask's share of the image).
    - ``sanity_threshold``: a method fails the sanity check when the mean rank correlation
      of its trained and randomised-weights maps is above this.
    """

    methods: tuple[str, ...] = DEFAULT_METHODS
    samples: int = 24
    tau: float = 0.5
    seed: int = 0
    max_area: float = 0.25
    energy_threshold: float | None = None
    sanity_threshold: float = 0.5
    sanity_samples: int = 32
    coverage: bool = True
    ig_steps: int = 16
    occlusion_grid: int = 8
    critical_grid: int = 8
    batch_size: int = 8

    def __post_init__(self) -> None:
        if not self.methods:
            raise ConfigError("methods: expected at least one explanation method, got none")
        for name in self.methods:
            EXPLAINERS.get(name)
        if len(set(self.methods)) != len(self.methods):
            raise ConfigError(f"methods: expected each method once, got {list(self.methods)}")
        for name in ("samples", "sanity_samples", "ig_steps", "occlusion_grid", "batch_size"):
            _positive_int(name, getattr(self, name))
        _positive_int("critical_grid", self.critical_grid)
        for name in ("tau", "max_area", "sanity_threshold"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 < value < 1):
                raise ConfigError(f"{name}: expected a number between 0 and 1, got {value!r}")
        if self.energy_threshold is not None and not 0 <= self.energy_threshold <= 1:
            raise ConfigError(
                f"energy_threshold: expected a number from 0 to 1, got {self.energy_threshold!r}"
            )

    @property
    def ladder(self) -> tuple[float, ...]:
        """Critical-region areas tried, up to ``max_area``."""
        return (*(a for a in DEFAULT_LADDER if a < self.max_area), self.max_area)


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}: expected a positive integer, got {value!r}")


@dataclasses.dataclass
class MethodResult:
    """One method's maps and scores: trained model on every sample, random on a prefix."""

    maps: np.ndarray  # float32 (N, H, W)
    critical: CriticalFactors
    energy: np.ndarray  # float (N,), NaN without a mask
    hit: list[bool | None]
    seconds: float = 0.0  # attribution + critical search, trained model
    random_critical: CriticalFactors | None = None
    random_energy: np.ndarray | None = None
    random_hit: list[bool | None] | None = None
    correlation: np.ndarray | None = None  # Spearman, trained vs random map, per sample


@dataclasses.dataclass
class AuditResult:
    """Everything the summary and the report need."""

    config: AuditConfig
    task: str
    class_names: tuple[str, ...]
    index: np.ndarray  # indices into the test split
    images: np.ndarray  # uint8 (N, H, W)
    masks: np.ndarray | None
    labels: np.ndarray
    paths: tuple[str, ...]
    predicted: np.ndarray  # class index (classify); 1 defect / 0 none (segment)
    confidence: np.ndarray
    methods: dict[str, MethodResult]
    coverage: Coverage | None
    settings: dict[str, Any]
    seconds: dict[str, float]


def select_samples(labels: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Up to ``count`` indices, stratified by class and seeded; classes take turns."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xE1]))
    pools = [rng.permutation(np.flatnonzero(labels == k)) for k in np.unique(labels)]
    longest = max((len(p) for p in pools), default=0)
    order = [int(p[i]) for i in range(longest) for p in pools if i < len(p)]
    return np.asarray(order[:count], dtype=np.int64)


def _score_masks(
    maps: np.ndarray, masks: np.ndarray | None, tolerance: int
) -> tuple[np.ndarray, list[bool | None]]:
    if masks is None:
        return np.full(len(maps), math.nan), [None] * len(maps)
    energy = np.array([energy_share(a, m) for a, m in zip(maps, masks, strict=True)])
    return energy, [pointing_hit(a, m, tolerance) for a, m in zip(maps, masks, strict=True)]


def _explain(
    subject: Subject,
    explainers: dict[str, Explainer],
    images: np.ndarray,
    masks: np.ndarray | None,
    config: AuditConfig,
    tick: Callable[[int], None],
) -> tuple[Prediction, dict[str, MethodResult]]:
    """The decisions and per-method results of ``subject`` on uint8 ``images``."""
    x = to_input(torch.from_numpy(images[:, None]))
    prediction = subject.predict(x)
    tolerance = pointing_tolerance(images.shape[-1])
    results = {}
    for name, explainer in explainers.items():
        started = time.perf_counter()
        parts, crits = [], []
        for start in range(0, len(x), config.batch_size):
            part = slice(start, start + config.batch_size)
            pred = prediction.take(part)
            maps = explainer.attribute(subject, x[part].clone(), pred).detach()
            crits.append(critical_factors(subject, x[part], pred, maps, config.tau, config.ladder))
            parts.append(maps.float().numpy())
            tick(len(maps))
        maps = np.concatenate(parts)
        critical = _concat(crits)
        energy, hit = _score_masks(maps, masks, tolerance)
        seconds = time.perf_counter() - started
        results[name] = MethodResult(maps, critical, energy, hit, seconds)
    return prediction, results


def _concat(parts: list[CriticalFactors]) -> CriticalFactors:
    names = [f.name for f in dataclasses.fields(CriticalFactors)]
    return CriticalFactors(**{n: np.concatenate([getattr(p, n) for p in parts]) for n in names})


def _sanity(
    subject: Subject,
    explainers: dict[str, Explainer],
    images: np.ndarray,
    masks: np.ndarray | None,
    config: AuditConfig,
    results: dict[str, MethodResult],
    tick: Callable[[int], None],
) -> None:
    """Explain the first ``sanity_samples`` with randomised weights; store beside ``results``.

    The randomised model explains its own decisions, so its impact score is measured the
    same way as the trained model's.
    """
    count = min(config.sanity_samples, len(images))
    random_model = randomized_copy(subject.model, config.seed + 1)
    twin = dataclasses.replace(subject, model=random_model, _cam=None)
    part = None if masks is None else masks[:count]
    _, twins = _explain(twin, explainers, images[:count], part, config, tick)
    for name, result in twins.items():
        mine = results[name]
        mine.random_critical, mine.random_energy = result.critical, result.energy
        mine.random_hit = result.hit
        mine.correlation = np.array(
            [rank_correlation(a, b) for a, b in zip(mine.maps[:count], result.maps, strict=True)]
        )


def run_audit(
    subject: Subject,
    data: DefectDataset,
    config: AuditConfig,
    *,
    progress: Progress | None = None,
) -> AuditResult:
    """Explain ``config.samples`` test samples of ``data`` (at the model's input size)."""
    subject.check(data.num_classes if subject.task == "classify" else None)
    test, index, images, masks = _pick(data, config, subject.input_size)
    labels = test.labels[index]
    explainers = {name: make_explainer(name, config) for name in config.methods}
    count, seconds = len(explainers), {}
    started = time.perf_counter()
    ticker = _Ticker(progress, "explain", len(index) * count)
    prediction, results = _explain(subject, explainers, images, masks, config, ticker)
    seconds["explain"] = time.perf_counter() - started
    started = time.perf_counter()
    ticker = _Ticker(progress, "sanity", min(config.sanity_samples, len(index)) * count)
    _sanity(subject, explainers, images, masks, config, results, ticker)
    seconds["sanity"] = time.perf_counter() - started
    decided = prediction.target if prediction.defect is None else prediction.defect.long()
    predicted = decided.numpy()
    coverage = None
    if config.coverage:
        started = time.perf_counter()
        ticker = _Ticker(progress, "coverage", count)
        coverage = run_coverage(
            subject, explainers, images, labels, predicted, data.class_names,
            seed=config.seed, tick=ticker,
        )  # fmt: skip
        seconds["coverage"] = time.perf_counter() - started
    return AuditResult(
        config=config,
        task=subject.task,
        class_names=data.class_names,
        index=index,
        images=images,
        masks=masks,
        labels=labels,
        paths=tuple(test.paths[i] for i in index),
        predicted=predicted,
        confidence=prediction.confidence.numpy(),
        methods=results,
        coverage=coverage,
        settings={name: e.settings(subject) for name, e in explainers.items()},
        seconds=seconds,
    )


def _pick(data: DefectDataset, config: AuditConfig, size: int):
    """The test split, the chosen indices, and their images and 0/1 masks at ``size``."""
    test = data.subset("test")
    if len(test) == 0:
        raise ConfigError(
            f"the data {data.root!r} has no test samples to explain",
            hint="every class needs at least 3 images (train, val, test)",
        )
    index = select_samples(test.labels, config.samples, config.seed)
    images = np.ascontiguousarray(test.images[index])
    masks = None if test.masks is None else (test.masks[index] > 0).astype(np.uint8)
    images, masks = _at_size(images, masks, size)
    return test, index, images, masks


class _Ticker:
    """Counts work done in one stage and reports it to ``progress``."""

    def __init__(self, progress: Progress | None, stage: str, total: int) -> None:
        self.progress, self.stage, self.total, self.done = progress, stage, total, 0
        if progress is not None:
            progress(stage, 0, total)

    def __call__(self, advance: int) -> None:
        self.done += advance
        if self.progress is not None:
            self.progress(self.stage, self.done, self.total)


def _at_size(
    images: np.ndarray, masks: np.ndarray | None, size: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Images (bilinear) and masks (coverage >= 50%) resized to the model's input size."""
    from gensynth.training import resize_images

    if images.shape[-1] == size and images.shape[-2] == size:
        return images, masks
    resized = resize_images(torch.from_numpy(images[:, None]), size)[:, 0].numpy()
    if masks is not None:
        soft = resize_images(torch.from_numpy(masks[:, None]), size, binary=True)[:, 0]
        masks = (soft.numpy() >= 128).astype(np.uint8)
    return resized, masks
