"""Budgets that fit the data: how many trials and finalists, and how long to train them.

Before a new study starts, the reference design (``plain``, ``anet``) is timed for a few
training steps at the proxy resolution and at full resolution, on this data and machine.
From those speeds the planner fits the run into its time budget (``--budget``; 60 minutes for
a folder of real images, 7 for the built-in synthetic set, which keeps `make explore`
under 10 minutes with data generation, probing and the overruns seen):

1. the finalists (reference included) train for the recipe's full epoch count if that takes
   at most ``FINALS_SHARE`` of the budget; else fewer finalists, then fewer epochs;
2. the search gets the rest: as many trials as fit, between ``MIN_TRIALS`` and
   ``MAX_TRIALS``, and a hard stop (``--timeout``) at 1.5 times its share.

Flags and config keys override each planned value; ``--budget off`` keeps the fixed
defaults. A resumed study keeps the values it was planned with, so a rerun continues it.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gensynth.data.dataset import DefectDataset
    from gensynth.prototypes import ArchSpec
    from gensynth.search.study_spec import StudySpec
    from gensynth.training import TrainConfig

__all__ = ["DEFAULT_BUDGET_S", "BudgetPlan", "fixed_plan", "plan_budget"]

#: The planned time of a whole run when ``--budget`` is not given.
DEFAULT_BUDGET_S = {"folder": 60 * 60.0, "synthetic": 7 * 60.0}
FINALS_SHARE = 0.55
MIN_TRIALS, MAX_TRIALS = 8, 60
MIN_FINAL_EPOCHS = 8
#: Seconds a trial spends outside training (probing, repair, study writes), and the
#: fixed cost of finishing (the speed screen, timing the finalists side by side, export).
TRIAL_OVERHEAD_S, FINISH_S = 4.0, 90.0
#: Training steps timed per resolution (the first is a warm-up and not counted).
PROBE_STEPS = 4


@dataclasses.dataclass(frozen=True)
class BudgetPlan:
    """What the run will do and the time each part is expected to take (seconds)."""

    budget_s: float | None
    trials: int
    finalists: int
    final_epochs: int
    timeout_s: float | None
    trial_s: float | None
    finalist_s: float | None
    source: str  # "measured", "stored" (a resumed study) or "fixed"

    @property
    def expected_s(self) -> float | None:
        if self.trial_s is None or self.finalist_s is None:
            return None
        finals = (self.candidates + 1) * self.finalist_s if self.final_epochs else 0.0
        return self.trials * self.trial_s + finals + FINISH_S

    @property
    def candidates(self) -> int:
        """Finalists besides the reference: no more than the trials that are not the reference."""
        return max(0, min(self.finalists, self.trials - 1))

    def describe(self) -> str:
        head = (f"{_count(self.trials, 'trial')}, then {_count(self.candidates, 'finalist')} "
                f"and the reference trained for {_count(self.final_epochs, 'epoch')}")  # fmt: skip
        if self.expected_s is None:
            return head
        search = self.trials * (self.trial_s or 0.0)
        target = "" if self.budget_s is None else f" (budget {_minutes(self.budget_s)})"
        return (f"{head}: about {_minutes(search)} of search and "
                f"{_minutes(self.expected_s - search)} to finish, {_minutes(self.expected_s)} "
                f"in all{target}")  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "expected_s": self.expected_s}


def plan_budget(
    spec: StudySpec,
    data: DefectDataset,
    reference: ArchSpec,
    proxy: TrainConfig,
    stored: dict[str, Any] | None,
) -> tuple[StudySpec, BudgetPlan]:
    """The spec with its planned fields filled in, and the plan (see the module docstring)."""
    if not spec.planned:
        return spec, fixed_plan(spec)
    if stored is not None:  # a resumed study keeps its plan
        kept = {k: stored[k] for k in _fields(spec.planned) if k in stored}
        spec = dataclasses.replace(spec, planned=(), **kept)
        return spec, fixed_plan(spec, "stored")
    kind = "synthetic" if data.format == "synthetic" else "folder"
    budget = spec.budget_s or DEFAULT_BUDGET_S[kind]
    recipe = _full_recipe(spec)
    proxy_rate, full_rate, low_rate = _train_rates(reference, data, proxy, recipe)
    n_train = len(data.indices("train"))
    proxy_images = min(n_train, spec.proxy_samples or n_train)
    proxy_images = _epoch_images(data, proxy, proxy_images)
    trial_s = spec.epochs * proxy_images / proxy_rate / max(1, spec.workers) + TRIAL_OVERHEAD_S
    epoch_s = _epoch_images(data, proxy, n_train) * _seconds_per_image(recipe, full_rate, low_rate)
    finalists, epochs = _finals(spec, budget, epoch_s)
    finalist_s = epochs * epoch_s * 1.1  # validation every epoch, the test at the end
    search_s = budget - (finalists + 1) * finalist_s - FINISH_S
    trials = spec.trials
    if "trials" in spec.planned:
        trials = int(min(MAX_TRIALS, max(MIN_TRIALS, search_s // trial_s)))
    timeout = spec.timeout_s
    if "timeout" in spec.planned:
        timeout = max(1.5 * trials * trial_s, 5 * 60.0)
    spec = dataclasses.replace(
        spec, trials=trials, finalists=finalists, final_epochs=epochs, timeout_s=timeout,
        budget_s=budget, planned=(),
    )  # fmt: skip
    plan = BudgetPlan(budget, trials, finalists, epochs, timeout, trial_s, finalist_s, "measured")
    return spec, plan


def _fields(planned: tuple[str, ...]) -> list[str]:
    return ["timeout_s" if name == "timeout" else name for name in planned]


def fixed_plan(spec: StudySpec, source: str = "fixed") -> BudgetPlan:
    """The plan of a spec whose budget is settled (given, or kept from a resumed study)."""
    return BudgetPlan(spec.budget_s, spec.trials, spec.finalists, spec.final_epochs,
                      spec.timeout_s, None, None, source)  # fmt: skip


def _finals(spec: StudySpec, budget: float, epoch_s: float) -> tuple[int, int]:
    """Finalists and full epochs: as many as fit in the finals' share, flags kept."""
    finalists, epochs = spec.finalists, spec.final_epochs
    if epochs == 0:
        return finalists, 0
    share = FINALS_SHARE * budget

    def cost(k: int, e: int) -> float:
        return (k + 1) * e * epoch_s * 1.1

    while "finalists" in spec.planned and finalists > 1 and cost(finalists, epochs) > share:
        finalists -= 1
    if "final_epochs" in spec.planned and cost(finalists, epochs) > share:
        epochs = max(MIN_FINAL_EPOCHS, math.floor(share / ((finalists + 1) * epoch_s * 1.1)))
    return finalists, epochs


def _epoch_images(data: DefectDataset, config: TrainConfig, images: int) -> int:
    """Images an epoch of ``images`` training images takes (``TrainConfig.negative_share``
    thins out defect-free segmentation images), by the train split's share of them."""
    if config.negative_share is None or data.masks is None:
        return images
    train = data.indices("train")
    free = int((data.masks[train].reshape(len(train), -1).max(axis=1) == 0).sum())
    defects = round(images * (len(train) - free) / max(1, len(train)))
    return config.images_per_epoch(defects, images - defects)


def _train_rates(
    reference: ArchSpec, data: DefectDataset, proxy: TrainConfig, recipe: TrainConfig
) -> tuple[float, float, float | None]:
    """Images per second of training steps at the proxy resolution, at full resolution and,
    if the full ``recipe`` resizes progressively, at its smaller side (else None)."""
    full = proxy.replace(input_size=None, max_train_samples=None)
    low = None
    if recipe.progressive_scale is not None:
        side = recipe.progressive_side(data.input_size)
        low = _rate(reference, data, full.replace(input_size=side))
    return _rate(reference, data, proxy), _rate(reference, data, full), low


def _full_recipe(spec: StudySpec) -> TrainConfig:
    from gensynth.training import TrainConfig

    return TrainConfig.full(spec.task)


def _seconds_per_image(recipe: TrainConfig, rate: float, low_rate: float | None) -> float:
    """Mean seconds per image of a full training epoch, at ``rate`` images/s at full size.

    With progressive resizing in the full recipe its first epochs train at the smaller side,
    at ``low_rate``: the two speeds are weighed by their shares of the epochs.
    """
    if recipe.progressive_scale is None or low_rate is None:
        return 1.0 / rate
    return recipe.progressive_share / low_rate + (1.0 - recipe.progressive_share) / rate


def _rate(reference: ArchSpec, data: DefectDataset, config: TrainConfig) -> float:
    """Time a few training steps of ``reference`` (the first one warms up and is not counted)."""
    import torch

    from gensynth.training import augment_batch, num_threads, prepare, resolve_device, to_input

    device = resolve_device(config.device, amp=config.amp)  # timed where the trials train
    batch = config.batch_size
    prepared = prepare(data, "train", input_size=config.input_size,
                       max_samples=batch * PROBE_STEPS, seed=config.seed,
                       need_masks=reference.task == "segment")  # fmt: skip
    model = reference.build().train().to(memory_format=torch.channels_last)
    if device.type != "cpu":
        model.to(device.target)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    generator = torch.Generator().manual_seed(0)
    timed, images = 0.0, 0
    with num_threads(config.threads):
        for step in range(PROBE_STEPS):
            if (step + 1) * batch > len(prepared):
                break
            idx = torch.arange(step * batch, (step + 1) * batch)
            started = time.perf_counter()
            x, _ = augment_batch(prepared.images[idx], None, generator)
            x = x if device.type == "cpu" else x.to(device.target)
            with device.autocast():
                out = model(to_input(x).contiguous(memory_format=torch.channels_last))
            optimizer.zero_grad()
            out.float().square().mean().backward()
            optimizer.step()
            if device.type != "cpu":
                torch.cuda.synchronize()
            if step:
                timed, images = timed + time.perf_counter() - started, images + len(idx)
    return images / timed if timed > 0 else 100.0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"
