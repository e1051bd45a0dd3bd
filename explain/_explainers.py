"""Heat-map explainers through captum: Grad-CAM, Integrated Gradients and occlusion.

Each returns evidence *for* the decision, >= 0:

- ``gradcam``: LayerGradCam on the Grad-CAM layer (the last stage at least 4 px wide), ReLU,
  upsampled bilinearly to the input size.
- ``ig``: IntegratedGradients from the mid-grey image (0 after preprocessing), Gauss-Legendre
  steps, absolute value summed over channels (the sign only says brighter or darker than grey).
- ``occlusion``: the score drop when a square window is set to mid-grey, ReLU (only windows
  whose removal lowers the score are evidence for the decision).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import torch

from gensynth.explain._base import EXPLAINERS, Explainer

if TYPE_CHECKING:
    from gensynth.explain._subject import Prediction, Subject

__all__ = ["GradCam", "IntegratedGradientsExplainer", "OcclusionExplainer", "occlusion_window"]

#: Occlusion windows per side: the window is ceil(size / grid) pixels, stride = window.
DEFAULT_OCCLUSION_GRID = 8
DEFAULT_IG_STEPS = 16


def _captum() -> Any:
    import captum.attr

    return captum.attr


def occlusion_window(size: int, grid: int = DEFAULT_OCCLUSION_GRID) -> int:
    """Side of the occlusion window (and stride) for a ``size`` input: ceil(size / grid)."""
    return max(1, math.ceil(size / grid))


@EXPLAINERS.register("gradcam")
class GradCam(Explainer):
    """Grad-CAM: channel-weighted activations of the last wide stage, upsampled."""

    name = "gradcam"
    summary = "Grad-CAM on the last convolutional stage, upsampled to the input"

    def settings(self, subject: Subject) -> dict[str, Any]:
        return {"layer": subject.cam_layer[0]}

    def attribute(
        self, subject: Subject, inputs: torch.Tensor, prediction: Prediction
    ) -> torch.Tensor:
        attr = _captum()
        cam = attr.LayerGradCam(subject.scored, subject.cam_layer[1])
        maps = cam.attribute(
            inputs.requires_grad_(True),
            target=prediction.target,
            additional_forward_args=subject.forward_args(prediction),
            relu_attributions=True,
        )
        maps = attr.LayerAttribution.interpolate(
            maps.detach(), tuple(inputs.shape[-2:]), interpolate_mode="bilinear"
        )
        return maps.sum(1).clamp_min(0.0)


@EXPLAINERS.register("ig")
class IntegratedGradientsExplainer(Explainer):
    """Integrated Gradients along the straight path from a mid-grey image."""

    name = "ig"
    summary = "Integrated Gradients from a mid-grey baseline, absolute value"

    def __init__(self, steps: int = DEFAULT_IG_STEPS, internal_batch_size: int = 64) -> None:
        self.steps = steps
        self.internal_batch_size = internal_batch_size

    @classmethod
    def from_config(cls, config: Any) -> Explainer:
        return cls(steps=config.ig_steps)

    def settings(self, subject: Subject) -> dict[str, Any]:
        return {"steps": self.steps, "baseline": "mid-grey (0 after preprocessing)"}

    def attribute(
        self, subject: Subject, inputs: torch.Tensor, prediction: Prediction
    ) -> torch.Tensor:
        ig = _captum().IntegratedGradients(subject.scored)
        maps = ig.attribute(
            inputs,
            baselines=torch.zeros_like(inputs),
            target=prediction.target,
            additional_forward_args=subject.forward_args(prediction),
            n_steps=self.steps,
            internal_batch_size=max(self.internal_batch_size, len(inputs)),
        )
        return maps.detach().abs().sum(1)


@EXPLAINERS.register("occlusion")
class OcclusionExplainer(Explainer):
    """Occlusion: the score drop when a window is replaced by mid-grey."""

    name = "occlusion"
    summary = "occlusion with a mid-grey window, positive score drops"

    def __init__(self, grid: int = DEFAULT_OCCLUSION_GRID, batch: int = 64) -> None:
        self.grid = grid
        self.batch = batch  # images per forward pass, over samples x windows

    @classmethod
    def from_config(cls, config: Any) -> Explainer:
        return cls(grid=config.occlusion_grid)

    def settings(self, subject: Subject) -> dict[str, Any]:
        side = occlusion_window(subject.input_size, self.grid)
        return {"window": side, "stride": side, "baseline": "mid-grey"}

    def attribute(
        self, subject: Subject, inputs: torch.Tensor, prediction: Prediction
    ) -> torch.Tensor:
        side = occlusion_window(inputs.shape[-1], self.grid)
        channels = inputs.shape[1]
        occlusion = _captum().Occlusion(subject.scored)
        with torch.no_grad():
            maps = occlusion.attribute(
                inputs,
                sliding_window_shapes=(channels, side, side),
                strides=(channels, side, side),
                baselines=0.0,
                target=prediction.target,
                additional_forward_args=subject.forward_args(prediction),
                perturbations_per_eval=max(1, self.batch // len(inputs)),
            )
        return maps.sum(1).clamp_min(0.0)
