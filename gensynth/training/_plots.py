"""PNG figures for a model directory: training curves, confusion matrix, decision sweep.

Figures are drawn on matplotlib's Agg canvas directly, so no global backend is switched.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_confusion", "plot_curves", "plot_decision_sweep"]


def _figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def plot_curves(history: Sequence[dict[str, Any]], path: str | Path, *, metric: str) -> Path:
    """Training loss and the validation metric per epoch, side by side."""
    fig = _figure(9, 3.5)
    loss_ax, metric_ax = fig.subplots(1, 2)
    epochs = [row["epoch"] for row in history]
    losses = [float("nan") if row["loss"] is None else row["loss"] for row in history]
    loss_ax.plot(epochs, losses, marker="o", color="tab:blue")
    loss_ax.set(xlabel="epoch", ylabel="training loss", title="Training loss")
    metric_ax.plot(
        epochs, [row[f"val_{metric}"] for row in history], marker="o", color="tab:green"
    )
    metric_ax.set(xlabel="epoch", ylabel=f"{metric} (%)", title=f"Validation {metric}")
    from matplotlib.ticker import MaxNLocator

    for ax in (loss_ax, metric_ax):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.savefig(path)
    return Path(path)


def plot_confusion(confusion: dict[str, Any], path: str | Path, *, title: str = "") -> Path:
    """The confusion matrix (rows true, columns predicted) with counts in the cells."""
    labels = list(confusion["labels"])
    matrix = confusion["matrix"]
    side = 2.5 + 0.7 * len(labels)
    fig = _figure(side + 1, side)
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8)
    peak = max((max(row) for row in matrix), default=0)
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            color = "white" if peak and count > peak / 2 else "black"
            ax.text(j, i, str(count), ha="center", va="center", color=color)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set(xlabel="predicted class", ylabel="true class", title=title or "Confusion matrix")
    fig.savefig(path)
    return Path(path)


def plot_decision_sweep(decision: dict[str, Any], path: str | Path, *, title: str = "") -> Path:
    """Precision, recall and false-alarm rate of the defect decision against the threshold."""
    fig = _figure(6.5, 4)
    ax = fig.subplots()
    points = decision["points"]
    xs = [p["threshold"] for p in points]
    for key, color in (
        ("precision", "tab:blue"),
        ("recall", "tab:green"),
        ("false_alarm", "tab:red"),
    ):
        ys = [float("nan") if p[key] is None else p[key] for p in points]
        ax.plot(xs, ys, marker="o", color=color, label=key.replace("_", " "))
    ax.set(
        xlabel="pixel-probability threshold",
        ylabel="percent",
        ylim=(-2, 102),
        title=title or "Defect / no-defect decision",
    )
    note = (
        f"defective if ≥ {100 * decision['area_threshold']:g}% of pixels; "
        f"{decision['positives']} defect, {decision['negatives']} defect-free images\n"
        f"negatives: {decision['negatives_source']}"
    )
    ax.text(0.01, 0.02, note, transform=ax.transAxes, fontsize=7, va="bottom", wrap=True)
    ax.grid(alpha=0.3)
    ax.legend(loc="center right")
    fig.savefig(path)
    return Path(path)
