"""The Pareto plot: validation metric (or NetScore) against a cost, the front highlighted.

Feasible trials are dots, the non-dominated ones (higher y, lower x) joined as a step line.
Infeasible candidates were never trained, so they have no metric: they are drawn as grey
crosses at their measured cost along the bottom of the plot, with the limit shaded.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.errors import ConfigError
from gensynth.studies.records import Attr, TrialRecord, records_of
from gensynth.studies.summary import stored_limits

if TYPE_CHECKING:
    import optuna

    from gensynth.constraints.limits import Limits

__all__ = ["X_AXES", "Y_AXES", "ParetoPlot", "front_2d", "plot_pareto"]

#: axis name -> (label, TrialRecord field)
X_AXES = {"macs": ("MACs", "macs"), "params": ("parameters", "params"),
          "latency": ("latency (ms)", "latency_ms")}  # fmt: skip
Y_AXES = {"metric": ("validation {metric} (%)", "metric"), "netscore": ("NetScore", "netscore")}


@dataclasses.dataclass(frozen=True)
class ParetoPlot:
    """What was drawn: the file, the trials on the front, and how many of each kind."""

    path: Path
    x: str
    y: str
    front: list[int]
    feasible: int
    infeasible: int

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "path": str(self.path)}


def front_2d(points: list[tuple[int, float, float]]) -> list[tuple[int, float, float]]:
    """Points ``(trial, x, y)`` that no other point beats (x lower or equal, y higher)."""
    front: list[tuple[int, float, float]] = []
    best_y = float("-inf")
    for point in sorted(points, key=lambda p: (p[1], -p[2], p[0])):
        if point[2] > best_y:
            front.append(point)
            best_y = point[2]
    return front


def _choice(value: str, choices: dict[str, Any], flag: str) -> None:
    if value not in choices:
        raise ConfigError(f"{flag}: expected one of {', '.join(choices)}, got {value!r}")


def _points(
    records: list[TrialRecord], x: str, y: str
) -> tuple[list[tuple[int, float, float]], list[tuple[int, float]]]:
    """Trained trials as (trial, cost, quality); infeasible ones as (trial, cost)."""
    xf, yf = X_AXES[x][1], Y_AXES[y][1]
    feasible, infeasible = [], []
    for r in records:
        cost, quality = getattr(r, xf), getattr(r, yf)
        if cost is None or r.state != "COMPLETE":
            continue
        if r.trained and quality is not None:
            feasible.append((r.number, float(cost), float(quality)))
        elif not r.feasible:
            infeasible.append((r.number, float(cost)))
    return feasible, infeasible


def plot_pareto(
    study: optuna.Study, out: Path, *, x: str = "macs", y: str = "metric"
) -> ParetoPlot:
    """Draw the study's trials as a PNG at ``out``; what was drawn."""
    _choice(x, X_AXES, "--x")
    _choice(y, Y_AXES, "--y")
    if out.suffix.lower() != ".png":
        raise ConfigError(f"--out: expected a .png file, got {str(out)!r}")
    if not out.parent.is_dir():
        raise ConfigError(f"--out: folder {str(out.parent)!r} does not exist", hint="create it")
    records = records_of(study.get_trials(deepcopy=False))
    feasible, infeasible = _points(records, x, y)
    if not feasible and not infeasible:
        hint = "explore with --latency to measure it" if x == "latency" else "run more trials"
        raise ConfigError(
            f"study {study.study_name!r} has no trials with {X_AXES[x][0]} and {y} to plot",
            hint=hint,
        )
    front = front_2d(feasible)
    _draw(study, out, x, y, feasible, infeasible, front)
    return ParetoPlot(out, x, y, [p[0] for p in front], len(feasible), len(infeasible))


def _draw(
    study: optuna.Study,
    out: Path,
    x: str,
    y: str,
    feasible: list[tuple[int, float, float]],
    infeasible: list[tuple[int, float]],
    front: list[tuple[int, float, float]],
) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 5), dpi=120)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    ys = [p[2] for p in feasible] or [0.0]
    span = max(ys) - min(ys) or 1.0
    floor = min(ys) - 0.12 * span
    _scatter(ax, feasible, infeasible, front, floor)
    _shade_limit(ax, stored_limits(study), x)
    metric = _metric_name(study)
    if x != "latency":
        from matplotlib.ticker import EngFormatter

        ax.xaxis.set_major_formatter(EngFormatter(sep=""))  # 2M, not 2.0 ×1e6
    ax.set_xlabel(X_AXES[x][0])
    ax.set_ylabel(Y_AXES[y][0].format(metric=metric))
    ax.set_title(f"study {study.study_name}: {Y_AXES[y][0].format(metric=metric)} vs "
                 f"{X_AXES[x][0]}")  # fmt: skip
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    figure.tight_layout()
    figure.savefig(out)


def _scatter(
    ax: Any,
    feasible: list[tuple[int, float, float]],
    infeasible: list[tuple[int, float]],
    front: list[tuple[int, float, float]],
    floor: float,
) -> None:
    """Feasible dots, the front as a labelled step line, infeasible crosses along ``floor``."""
    if feasible:
        ax.scatter([p[1] for p in feasible], [p[2] for p in feasible], s=28, color="#4c72b0",
                   alpha=0.6, label=f"feasible ({len(feasible)})", zorder=2)  # fmt: skip
    if front:
        ax.step([p[1] for p in front], [p[2] for p in front], where="post", color="#dd8452",
                linewidth=1.5, zorder=3)  # fmt: skip
        ax.scatter([p[1] for p in front], [p[2] for p in front], s=70, color="#dd8452",
                   edgecolor="black", label=f"Pareto front ({len(front)})", zorder=4)  # fmt: skip
        for number, px, py in front:
            ax.annotate(f"#{number}", (px, py), textcoords="offset points", xytext=(4, 5),
                        fontsize=8)  # fmt: skip
    if infeasible:
        ax.scatter([p[1] for p in infeasible], [floor] * len(infeasible), marker="x", s=36,
                   color="grey", label=f"infeasible, not trained ({len(infeasible)})",
                   zorder=2)  # fmt: skip


def _metric_name(study: optuna.Study) -> str:
    for trial in study.get_trials(deepcopy=False):
        name = trial.user_attrs.get(Attr.METRIC_NAME)
        if name:
            return str(name)
    return "metric"


def _shade_limit(ax: Any, spec: Limits | None, x: str) -> None:
    """Shade the allowed region of the x cost, when the study has a limit on it."""
    if spec is None:
        return
    if x == "macs" and spec.flops is not None:
        low, high = spec.flops * (1 - spec.tolerance), spec.flops * (1 + spec.tolerance)
        ax.axvspan(low, high, color="#55a868", alpha=0.12, label="MAC band", zorder=1)
    elif x == "params" and spec.params_max is not None:
        ax.axvline(spec.params_max, color="#55a868", linestyle="--", label="params limit")
    elif x == "latency" and spec.latency_ms is not None:
        ax.axvline(spec.latency_ms, color="#55a868", linestyle="--", label="latency budget")
