"""The model under audit: what it decides, how confident it is, and where Grad-CAM looks.

Classification: the decision is the arg-max class, the confidence its softmax probability.
Segmentation: the explained decision is the predicted defect region R (pixels with probability
> 0.5, or the top 1% of pixels when none is); explainers attribute the mean defect logit inside
R, and the confidence is the mean defect probability inside R. The image-level decision is
"defect" when at least DEFAULT_AREA_THRESHOLD of the pixels are predicted defect (as in
training's decision sweep); a removal changes it when the image is then called defect-free.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from gensynth.errors import ConfigError, DataError

__all__ = ["Prediction", "Subject", "defective", "find_cam_layer", "randomized_copy"]

#: Grad-CAM needs a spatial map; the last stage whose output is at least this wide is used.
MIN_CAM_SIDE = 4
PIXEL_THRESHOLD = 0.5
FALLBACK_REGION = 0.01  # share of pixels taken as the region when none passes the threshold


@dataclasses.dataclass
class Prediction:
    """What the model decided for a batch: target per sample, confidence, defect region."""

    target: torch.Tensor  # int64 (N,): class index, or 0 for segmentation
    confidence: torch.Tensor  # float (N,)
    region: torch.Tensor | None = None  # float (N, H, W) 0/1 for segmentation
    defect: torch.Tensor | None = None  # bool (N,): segmentation's image-level decision

    def __len__(self) -> int:
        return int(self.target.shape[0])

    def repeat(self, times: int) -> Prediction:
        """Each sample repeated ``times`` times in a row (for batched perturbations)."""
        return self._map(lambda t: t.repeat_interleave(times, 0))

    def take(self, index: torch.Tensor | slice) -> Prediction:
        return self._map(lambda t: t[index])

    def _map(self, change: Callable[[torch.Tensor], torch.Tensor]) -> Prediction:
        fields = (self.target, self.confidence, self.region, self.defect)
        return Prediction(*(None if f is None else change(f) for f in fields))  # type: ignore[arg-type]


class _Scored(nn.Module):
    """The score explainers attribute: class logits, or the mean defect logit inside R."""

    def __init__(self, model: nn.Module, task: str) -> None:
        super().__init__()
        self.model = model
        self.task = task

    def forward(self, x: torch.Tensor, region: torch.Tensor | None = None) -> torch.Tensor:
        out = self.model(x)
        if self.task == "classify":
            return out
        if region is None:
            raise ValueError("a segmentation score needs the predicted region")
        logits = out[:, 0]
        region = region.to(logits.dtype)
        score = (logits * region).sum((1, 2)) / region.sum((1, 2)).clamp_min(1.0)
        return score.unsqueeze(1)


def defective(probs: torch.Tensor) -> torch.Tensor:
    """Segmentation's image-level decision: predicted defect share >= the area threshold."""
    from gensynth.training import DEFAULT_AREA_THRESHOLD

    share = (probs > PIXEL_THRESHOLD).float().flatten(1).mean(1)
    return share >= DEFAULT_AREA_THRESHOLD


def find_cam_layer(model: nn.Module, in_channels: int, input_size: int) -> tuple[str, nn.Module]:
    """The Grad-CAM layer: the last stage (or Conv2d) whose output is >= MIN_CAM_SIDE wide."""
    staged: Any = model  # a StagedNet names its stages; other models are searched for convs
    names: list[str] = list(staged.stage_names()) if hasattr(staged, "stage_names") else []
    if names:
        candidates = [(n, staged.stage(n)) for n in names]
    else:
        candidates = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    shapes: dict[str, tuple[int, ...]] = {}

    def record(name: str) -> Any:
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            shapes.setdefault(name, tuple(getattr(output, "shape", ())))

        return hook

    hooks = [module.register_forward_hook(record(name)) for name, module in candidates]
    try:
        with torch.no_grad():
            model(torch.zeros(1, in_channels, input_size, input_size))
    finally:
        for hook in hooks:
            hook.remove()
    spatial = [(n, m) for n, m in candidates if len(shapes.get(n, ())) == 4]
    if not spatial:
        raise DataError(
            "Grad-CAM needs a convolutional layer with a spatial output; the model has none",
            hint="leave gradcam out of --methods for this model",
        )
    wide = [(n, m) for n, m in spatial if min(shapes[n][-2:]) >= MIN_CAM_SIDE]
    return (wide or sorted(spatial, key=lambda nm: min(shapes[nm[0]][-2:])))[-1]


@dataclasses.dataclass
class Subject:
    """A model under audit.

    The model is put in eval mode with frozen parameters and, with ``channels_last`` (the
    default), its weights stored channels-last, which is about 1.5x faster on CPU for the
    many forward and backward passes an audit makes.
    """

    model: nn.Module
    task: str
    input_size: int
    in_channels: int = 1
    batch_size: int = 32
    channels_last: bool = True
    _cam: tuple[str, nn.Module] | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.task not in ("classify", "segment"):
            raise ConfigError(f"task: expected 'classify' or 'segment', got {self.task!r}")
        self.model.eval()
        for param in self.model.parameters():
            param.requires_grad_(False)
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self.scored = _Scored(self.model, self.task)

    def check(self, num_classes: int | None = None) -> None:
        """Raise DataError unless the model runs on (C, S, S) inputs with the right output."""
        shape = (self.in_channels, self.input_size, self.input_size)
        try:
            out = self.outputs(torch.zeros(1, *shape))
        except RuntimeError as error:
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise DataError(
                f"the model cannot run on inputs of shape {shape}: {first}",
                hint="check in_channels and input_size in the model's spec.yaml",
            ) from None
        if self.task == "classify":
            expected: tuple[int, ...] = (1, num_classes or int(out.shape[-1]))
        else:
            expected = (1, 1, self.input_size, self.input_size)
        if tuple(out.shape) != expected:
            raise DataError(
                f"expected model outputs of shape {expected} for this data, "
                f"got {tuple(out.shape)}",
                hint="the spec's num_classes must match the data's classes",
            )

    @property
    def cam_layer(self) -> tuple[str, nn.Module]:
        """(name, module) of the Grad-CAM layer, found on first use."""
        if self._cam is None:
            self._cam = find_cam_layer(self.model, self.in_channels, self.input_size)
        return self._cam

    def forward_args(self, prediction: Prediction) -> Any:
        """``additional_forward_args`` for captum: the region for segmentation, else None."""
        return None if self.task == "classify" else (prediction.region,)

    @torch.no_grad()
    def outputs(self, x: torch.Tensor) -> torch.Tensor:
        """Raw model outputs for inputs ``x``, in batches, without gradients."""
        parts = [self.model(x[s : s + self.batch_size]) for s in range(0, len(x), self.batch_size)]
        return torch.cat(parts) if parts else self.model(x)

    def predict(self, x: torch.Tensor) -> Prediction:
        """The model's own decision on inputs ``x`` (N, C, H, W)."""
        out = self.outputs(x)
        if self.task == "classify":
            probs = out.softmax(1)
            confidence, target = probs.max(1)
            return Prediction(target, confidence)
        probs = torch.sigmoid(out[:, 0])
        region = (probs > PIXEL_THRESHOLD).float()
        empty = region.flatten(1).sum(1) == 0
        if empty.any():
            k = max(1, math.ceil(FALLBACK_REGION * probs[0].numel()))
            flat = probs[empty].flatten(1)
            top = torch.zeros_like(flat).scatter_(1, flat.topk(k, 1).indices, 1.0)
            region[empty] = top.view(-1, *probs.shape[1:])
        confidence = (probs * region).sum((1, 2)) / region.sum((1, 2))
        target = torch.zeros(len(x), dtype=torch.long)
        return Prediction(target, confidence, region, defective(probs))

    def outcome(
        self, x: torch.Tensor, prediction: Prediction, tau: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(confidence now, impacted) of altered inputs against the original ``prediction``.

        Impacted: the decision changed (another class; for segmentation, the region is no
        longer called defect on average) or the confidence fell to <= tau x the original.
        """
        out = self.outputs(x)
        if self.task == "classify":
            probs = out.softmax(1)
            now = probs.gather(1, prediction.target[:, None])[:, 0]
            changed = probs.argmax(1) != prediction.target
        else:
            region = prediction.region
            if region is None:
                raise ValueError("a segmentation prediction needs its region")
            probs = torch.sigmoid(out[:, 0])
            now = (probs * region).sum((1, 2)) / region.sum((1, 2)).clamp_min(1.0)
            was = (prediction.confidence >= PIXEL_THRESHOLD) & (region.sum((1, 2)) > 0)
            changed = was & ~defective(probs)
        return now, changed | (now <= tau * prediction.confidence)


def randomized_copy(model: nn.Module, seed: int) -> nn.Module:
    """The same architecture with every parameter and buffer re-initialised from ``seed``."""
    clone = copy.deepcopy(model)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        for module in clone.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
            else:  # a hand-made module: redraw its own parameters at their current scale
                for param in module.parameters(recurse=False):
                    with torch.no_grad():
                        scale = float(param.std()) if param.numel() > 1 else 0.0
                        param.normal_(0.0, scale if scale > 0 else 0.1)
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
                module.reset_running_stats()
    finally:
        torch.random.set_rng_state(generator_state)
    return clone.eval()
