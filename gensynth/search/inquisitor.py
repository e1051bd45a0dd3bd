"""The inquisitor: trains a candidate on the proxy budget, scores it, and probes its reactions."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gensynth.search.probes import probe

if TYPE_CHECKING:
    import torch

    from gensynth.data.dataset import DefectDataset
    from gensynth.prototypes import ArchSpec
    from gensynth.training import FitResult, TrainConfig

__all__ = ["Evaluation", "Inquisitor"]


@dataclasses.dataclass
class Evaluation:
    """A trained candidate's validation metrics, insights, weights and timings."""

    metric: float  # primary validation metric in percent (accuracy or mIoU)
    metric_name: str
    metrics: dict[str, Any]
    insights: dict[str, dict[str, float]]
    state_dict: dict[str, torch.Tensor]
    fit: FitResult
    timings: dict[str, float]


class Inquisitor:
    """Proxy-trains candidates on one data set and probes them with validation stimuli."""

    def __init__(
        self,
        data: DefectDataset,
        config: TrainConfig,
        *,
        task: str,
        probe_samples: int = 96,
    ) -> None:
        from gensynth.training import prepare

        self.data = data
        self.config = config
        self.task = task
        self._probe = prepare(
            data,
            "val",
            input_size=config.input_size,
            max_samples=probe_samples,
            seed=config.seed,
            need_masks=task == "segment",
        )

    def evaluate(
        self,
        spec: ArchSpec,
        *,
        seed: int,
        progress: Callable[[dict[str, Any]], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Evaluation:
        """Train ``spec`` from scratch (seeded), validate, then probe; TrialFailed on NaN."""
        import torch

        from gensynth.training import fit, num_threads

        torch.manual_seed(seed)
        model = spec.build()
        config = self.config.replace(seed=seed)
        result = fit(
            model, self.data, config, task=self.task, progress=progress, should_stop=should_stop
        )
        started = time.perf_counter()
        with num_threads(config.threads):
            insights = self._insights(model, result)
        return Evaluation(
            metric=result.best_value,
            metric_name=result.metric,
            metrics=result.val_metrics,
            insights=insights,
            state_dict=result.state_dict,
            fit=result,
            timings={"train_s": result.train_seconds, "probe_s": time.perf_counter() - started},
        )

    def _insights(self, model: torch.nn.Module, result: FitResult) -> dict[str, dict[str, float]]:
        from gensynth.training import score_prepared, to_input

        probe_set = self._probe
        images = to_input(probe_set.images)

        def metric_of(candidate: torch.nn.Module) -> float:
            scores = score_prepared(
                candidate, probe_set, task=self.task, class_names=self.data.class_names
            )
            return float(scores[result.metric])

        return probe(
            model,
            images,
            metric_of=metric_of,
            baseline=metric_of(model),
            loss_of=self._loss_of(probe_set),
        )

    def _loss_of(self, probe_set: Any) -> Callable[[torch.Tensor], torch.Tensor]:
        from gensynth.training import classification_loss, dice_bce_loss

        if self.task == "classify":
            return lambda logits: classification_loss(logits, probe_set.labels)
        target = probe_set.masks.float().mul(1.0 / 255.0)  # Prepared masks are 0..255
        return lambda logits: dice_bce_loss(logits, target)
