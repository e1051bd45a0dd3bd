"""PNG figures for a model directory: training curves, confusion matrix, decision sweep.

Figures are drawn on matplotlib's Agg canvas directly, so no global backend is switched.
"""

from __future__ import annotations

import itertools
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


def _series(history: Sequence[dict[str, Any]], key: str) -> list[float] | None:
    """The values of ``key`` per epoch (NaN where missing), or None if no row has it."""
    if not any(row.get(key) is not None for row in history):
        return None
    return [float("nan") if row.get(key) is None else float(row[key]) for row in history]


def _draw(
    ax: Any, epochs: list[int], lines: Sequence[tuple[list[float] | None, str | None, str]]
) -> None:
    for values, label, color in lines:
        if values is not None:
            ax.plot(epochs, values, marker="o", markersize=3, color=color, label=label)
    if sum(values is not None for values, _, _ in lines) > 1:
        ax.legend(fontsize=8)


def plot_curves(history: Sequence[dict[str, Any]], path: str | Path, *, metric: str) -> Path:
    """Loss (training, validation), the validation metric, and the learning rate per epoch.

    Where the run kept a weight EMA, the metric panel shows both the EMA weights (the ones
    selected and saved) and the optimiser's own weights: the EMA curve should be smoother
    and flatten once training has converged. A dotted line marks where progressive resizing
    moved training to the full input size.
    """
    from matplotlib.ticker import MaxNLocator

    fig = _figure(13, 3.6)
    loss_ax, metric_ax, lr_ax = fig.subplots(1, 3)
    epochs = [row["epoch"] for row in history]
    ema = _series(history, f"val_{metric}_raw") is not None
    _draw(loss_ax, epochs, [
        (_series(history, "loss"), "training", "tab:blue"),
        (_series(history, "val_loss"), "validation" + (" (EMA)" if ema else ""), "tab:orange"),
    ])  # fmt: skip
    loss_ax.set(xlabel="epoch", ylabel="loss", title="Loss")
    _draw(metric_ax, epochs, [
        (_series(history, f"val_{metric}"), "EMA weights (selected)" if ema else None,
         "tab:green"),
        (_series(history, f"val_{metric}_raw"), "training weights", "tab:gray"),
    ])  # fmt: skip
    metric_ax.set(xlabel="epoch", ylabel=f"{metric} (%)", title=f"Validation {metric}")
    _draw(lr_ax, epochs, [(_series(history, "lr"), "learning rate", "tab:purple")])
    lr_ax.set(xlabel="epoch", ylabel="learning rate (epoch end)", title="Schedule")
    switch = _size_switch(history)
    for ax in (loss_ax, metric_ax, lr_ax):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if switch is not None:
            ax.axvline(switch[0], color="tab:red", linestyle=":", linewidth=1)
    if switch is not None:
        metric_ax.annotate(switch[1], (switch[0], 0.02), xycoords=("data", "axes fraction"),
                           fontsize=7, color="tab:red", ha="right")  # fmt: skip
    fig.savefig(path)
    return Path(path)


def _size_switch(history: Sequence[dict[str, Any]]) -> tuple[float, str] | None:
    """Where progressive resizing moved to the full size: (between the epochs, a label)."""
    for before, row in itertools.pairwise(history):
        old, new = before.get("train_size"), row.get("train_size")
        if old is not None and new is not None and old != new:
            return row["epoch"] - 0.5, f"{old} px → {new} px "
    return None


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
