"""The explainer interface and its registry (``gradcam``, ``ig``, ``occlusion``, ``critical``)."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, ClassVar

from gensynth.registry import Registry

if TYPE_CHECKING:
    import torch

    from gensynth.explain._subject import Prediction, Subject

__all__ = [
    "EXPLAINERS",
    "Explainer",
    "attribute_batched",
    "list_explainers",
    "make_explainer",
]


class Explainer(abc.ABC):
    """Turns inputs and the model's decision into non-negative evidence maps (N, H, W).

    Larger values mean stronger evidence *for* the decision being explained. Subclasses set
    ``name`` and ``summary`` and implement :meth:`attribute`; :meth:`from_config` and
    :meth:`settings` are hooks that by default take no options and report none.
    """

    name: ClassVar[str]
    summary: ClassVar[str]

    @classmethod
    def from_config(cls, config: Any) -> Explainer:
        """An instance with the options an audit config sets (default: none)."""
        return cls()

    def settings(self, subject: Subject) -> dict[str, Any]:
        """The options this explainer ran with, for the report (default: none)."""
        return {}

    @abc.abstractmethod
    def attribute(
        self, subject: Subject, inputs: torch.Tensor, prediction: Prediction
    ) -> torch.Tensor:
        """Evidence maps (N, H, W), >= 0, for ``prediction`` on ``inputs`` (N, C, H, W)."""


#: Explainer classes by the name ``--methods`` accepts.
EXPLAINERS: Registry[type[Explainer]] = Registry("explanation method")


def list_explainers() -> list[str]:
    """Names of the registered explanation methods, sorted."""
    return EXPLAINERS.names()


def make_explainer(name: str, config: Any = None) -> Explainer:
    """The explainer ``name`` configured from ``config``; unknown names list the valid ones."""
    cls = EXPLAINERS.get(name)
    return cls() if config is None else cls.from_config(config)


def attribute_batched(
    explainer: Explainer,
    subject: Subject,
    inputs: torch.Tensor,
    prediction: Prediction,
    batch_size: int = 8,
) -> torch.Tensor:
    """``explainer.attribute`` over ``batch_size`` samples at a time (bounds memory)."""
    import torch

    parts = []
    for start in range(0, len(inputs), batch_size):
        part = slice(start, start + batch_size)
        chunk = inputs[part].detach().clone()
        parts.append(explainer.attribute(subject, chunk, prediction.take(part)).detach())
    return torch.cat(parts) if parts else inputs.new_zeros((0, *inputs.shape[-2:]))
