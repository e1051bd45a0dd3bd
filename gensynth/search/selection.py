"""How the winner is chosen: finalists trained in full, then an inspection engineer's rule.

The search ranks candidates by NetScore on a short proxy budget. The few most accurate of
those at least as accurate as the reference on the proxy (:func:`pick_finalists`), and
the hand-designed reference net scaled into the same limits (``plain`` for classification,
``anet`` for segmentation), are then trained in full with the same recipe and timed side by
side on the deployment backend. A finalist qualifies when it is

- at least as accurate on the validation split as the reference (and as ``--accuracy-min``),
- and not slower than the reference beyond the measurement's own noise.

Before any of that training, :func:`keep_fast` drops the candidates that are slower than
the reference by the same test, timed with untrained weights (latency does not depend on
them): a finalist that cannot qualify on speed is not worth its training time.

The winner is the qualifying finalist with the highest NetScore: the generative-synthesis
objective, argmax U subject to the requirements.

Two choices change the rule, and ``metrics.json`` → ``selection`` records which one ran:

- ``--accuracy-slack 1pt`` (default 0) is a trade the user makes: a finalist up to that many
  points below the reference on validation qualifies if it is faster than the reference
  round by round by at least :data:`SLACK_SPEEDUP`; the winner is then the *fastest*
  qualifying finalist, since speed is what the user traded accuracy for.
- A latency budget (``--latency``, explore's latency-first mode) replaces "not slower than
  the reference" by "not slower than the budget": every finalist is timed again until its
  rounds agree or :data:`~gensynth.search.noise.MAX_TIMING_RUNS` runs are spent, and one
  over the budget is dropped (:mod:`gensynth.search.noise`). The reference always qualifies against
itself, so a winner exists unless an absolute ``--accuracy-min`` is out of reach; then the
closest finalist is named instead. Test images are never used to choose.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gensynth.errors import ConfigError
from gensynth.search.candidates import (
    LATENCY_SLACK_MAX,
    LATENCY_TOLERANCE,
    accurate_pool,
    block_ratio,
    keep_fast,
    latency_slack,
    pick_finalists,
    reference_proxy_metric,
    too_slow,
)
from gensynth.search.noise import NoiseCheck, budget_check, ratio_check
from gensynth.studies.records import TrialRecord

__all__ = [
    "BASELINE",
    "LATENCY_SLACK_MAX",
    "LATENCY_TOLERANCE",
    "REFERENCE",
    "SLACK_SPEEDUP",
    "Finalist",
    "Selection",
    "Verdict",
    "accurate_pool",
    "block_ratio",
    "keep_fast",
    "latency_slack",
    "mode_lines",
    "parse_accuracy_slack",
    "pick_finalists",
    "reference_proxy_metric",
    "select_winner",
    "too_slow",
]

#: The hand design a winner must beat at the same limits, per task.
REFERENCE = {"classify": "plain", "segment": "anet"}
#: The large reference net the speed-up is quoted against, per task.
BASELINE = {"classify": "resnet50", "segment": "unet"}
#: A finalist that qualifies only through --accuracy-slack must be at least this much faster
#: than the reference, round by round: accuracy is not traded for speed within the noise.
SLACK_SPEEDUP = 0.05
Utility = Callable[[float, float, float], float]


@dataclasses.dataclass
class Finalist:
    """A candidate trained in full: its trial, its model folder, metrics and latency."""

    record: TrialRecord
    role: str  # "reference" or "candidate"
    model_dir: Path
    metrics: dict[str, Any]
    latency_ms: float | None = None
    latency_spread: float = 0.0
    #: The medians of its timing blocks, in the order they ran beside the other finalists'.
    latency_blocks: tuple[float, ...] = ()

    @property
    def metric_name(self) -> str:
        return str(self.metrics["metric"])

    @property
    def val_metric(self) -> float:
        return float(self.metrics["val"][self.metric_name])

    @property
    def test_metric(self) -> float | None:
        value = self.metrics.get("test", {}).get(self.metric_name)
        return None if value is None else float(value)

    @property
    def params(self) -> int:
        return int(self.metrics["params"])

    @property
    def macs(self) -> int:
        return int(self.metrics["macs"])


@dataclasses.dataclass(frozen=True)
class Verdict:
    """One finalist against the rule: its NetScore and why it does not qualify, if so."""

    finalist: Finalist
    netscore: float
    reasons: tuple[str, ...]
    latency_ratio: float | None = None  # against the reference, round by round
    checks: tuple[NoiseCheck, ...] = ()  # the latency verdicts, with how sure each is
    by_slack: bool = False  # below the reference, admitted by --accuracy-slack

    @property
    def qualified(self) -> bool:
        return not self.reasons

    @property
    def noisy(self) -> tuple[NoiseCheck, ...]:
        """The latency verdicts on this finalist that are within the noise."""
        return tuple(c for c in self.checks if not c.clear)

    def to_json(self) -> dict[str, Any]:
        f = self.finalist
        return {
            "trial": f.record.number,
            "role": f.role,
            "describe": f.record.describe,
            "model_dir": str(f.model_dir),
            "proxy_metric": f.record.metric,
            "proxy_netscore": f.record.netscore,
            "val_metric": f.val_metric,
            "netscore_val": self.netscore,
            "latency_ms": f.latency_ms,
            "latency_ratio": self.latency_ratio,
            "params": f.params,
            "macs": f.macs,
            "qualified": self.qualified,
            "reasons": list(self.reasons),
            "by_slack": self.by_slack,
            "latency_checks": [check.to_json() for check in self.checks],
            "within_noise": [check.describe() for check in self.noisy],
        }


@dataclasses.dataclass(frozen=True)
class Selection:
    """The verdicts on every finalist, the requirement used, and the winner (or None)."""

    verdicts: tuple[Verdict, ...]
    winner: Finalist | None
    reference: Finalist | None
    required_metric: float | None
    allowed_latency_ms: float | None
    accuracy_slack: float = 0.0
    latency_budget_ms: float | None = None
    fastest: bool = False  # the fastest qualifying finalist wins, not the best NetScore
    timing_runs: int = 1
    reference_floor: bool = True  # False: only --accuracy-min (accurate enough, fastest)

    @property
    def closest(self) -> Finalist:
        """The most accurate finalist on validation: what to show when none qualifies."""
        return max((v.finalist for v in self.verdicts), key=lambda f: f.val_metric)

    @property
    def rule(self) -> str:
        accuracy = "at least as accurate (validation) as the reference and --accuracy-min"
        if not self.reference_floor:
            accuracy = "meeting --accuracy-min on validation"
        elif self.accuracy_slack:
            accuracy = (
                f"at most {_points(self.accuracy_slack)} below the reference on validation "
                f"(--accuracy-slack; then at least {SLACK_SPEEDUP:.0%} faster than it) and "
                "at least --accuracy-min"
            )
        speed = "not slower than the reference"
        if self.latency_budget_ms is not None:
            speed = f"not slower than the {self.latency_budget_ms:g} ms budget"
        pick = "the fastest" if self.fastest else "highest NetScore"
        return f"{pick} among finalists {accuracy}, and {speed}"

    def verdict_of(self, finalist: Finalist | None) -> Verdict | None:
        return next((v for v in self.verdicts if v.finalist is finalist), None)

    @property
    def decision(self) -> str:
        """Who won and why, in one sentence."""
        if self.winner is None:
            return "no finalist qualifies"
        verdict = self.verdict_of(self.winner)
        who = (
            "the reference"
            if self.winner.role == "reference"
            else (f"trial #{self.winner.record.number}")
        )
        why = "the fastest qualifying finalist" if self.fastest else "the best NetScore"
        parts = [f"{who} won: {why}"]
        if self.reference is not None and self.winner is not self.reference:
            delta = self.winner.val_metric - self.reference.val_metric
            parts.append(f"{delta:+.2f} points against the reference on validation")
            if verdict is not None and verdict.latency_ratio is not None:
                parts.append(f"{verdict.latency_ratio:.2f}x its latency round by round")
        qualified = sum(v.qualified for v in self.verdicts)
        parts.append(f"{qualified} of {len(self.verdicts)} finalists qualified")
        return "; ".join([*self._enough(), *parts])

    def _enough(self) -> list[str]:
        """In "accurate enough, as fast as possible": what the reference left to win."""
        reference, required = self.reference, self.required_metric
        if self.reference_floor or reference is None or required is None:
            return []
        if reference.val_metric < required:
            return [f"the reference misses the requirement ({reference.val_metric:.2f}% < "
                    f"{required:.2f}% on validation)"]  # fmt: skip
        room = " with no room above it" if reference.val_metric >= 100.0 else ""
        return [f"the reference already meets the requirement on validation "
                f"({reference.val_metric:.2f}%{room}), so the finals went to cheaper candidates "
                "that still meet it"]  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "accuracy_slack": self.accuracy_slack,
            "latency_budget_ms": self.latency_budget_ms,
            "picks": "fastest" if self.fastest else "netscore",
            "reference_floor": self.reference_floor,
            "decision": self.decision,
            "timing_runs": self.timing_runs,
            "required_metric": self.required_metric,
            "allowed_latency_ms": self.allowed_latency_ms,
            "winner": None if self.winner is None else self.winner.record.number,
            "reference": None if self.reference is None else self.reference.record.number,
            "finalists": [verdict.to_json() for verdict in self.verdicts],
        }


def parse_accuracy_slack(raw: str | float | None, what: str = "--accuracy-slack") -> float:
    """Percentage points of validation accuracy (mIoU) a user accepts to lose against the
    reference for a faster winner: ``1pt``, ``0.5``, ``1%``; 0 (the default) is the safe rule."""
    if raw is None:
        return 0.0
    text = str(raw).strip().lower()
    for suffix in ("points", "point", "pts", "pt", "%"):
        if text.endswith(suffix):
            text = text[: -len(suffix)].strip()
            break
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (0.0 <= value <= 100.0):  # also NaN
        raise ConfigError(
            f"{what}: expected percentage points between 0 and 100, like 1pt, got {raw!r}",
            hint="0 (the default) keeps the reference's validation accuracy as the floor",
        )
    return value


def select_winner(
    finalists: Sequence[Finalist],
    utility: Utility,
    *,
    accuracy_min: float | None = None,
    latency_tolerance: float = LATENCY_TOLERANCE,
    accuracy_slack: float = 0.0,
    latency_budget_ms: float | None = None,
    fastest: bool | None = None,
    timing_runs: int = 1,
    reference_floor: bool = True,
) -> Selection:
    """Apply the rule of this module to fully trained finalists.

    ``fastest`` (default: whenever ``accuracy_slack`` is given) makes the fastest qualifying
    finalist the winner instead of the best NetScore. Without ``reference_floor`` ("accurate
    enough, as fast as possible") only ``accuracy_min`` is required, not the reference's
    accuracy.
    """
    reference = next((f for f in finalists if f.role == "reference"), None)
    floor = None if reference is None else reference.val_metric - accuracy_slack
    floors = [accuracy_min, floor if reference_floor else None]
    required = max((v for v in floors if v is not None), default=None)
    allowed, slack = None, 0.0
    if reference is not None and reference.latency_ms is not None:
        slack = latency_slack(reference.latency_spread, latency_tolerance)
        allowed = reference.latency_ms * (1 + slack)
    if latency_budget_ms is not None:
        allowed = latency_budget_ms
    rule = _Rule(utility, required, allowed, slack, latency_budget_ms, timing_runs, reference,
                 accuracy_slack > 0 and reference_floor)  # fmt: skip
    verdicts = tuple(rule.verdict(f) for f in finalists)
    qualified = [v for v in verdicts if v.qualified]
    fastest = bool(accuracy_slack) if fastest is None else fastest
    if fastest:
        best = min(qualified, key=_speed_key, default=None)
    else:
        best = max(
            qualified, key=lambda v: (v.netscore, v.finalist.role == "reference"), default=None
        )
    winner = None if best is None else best.finalist
    return Selection(verdicts, winner, reference, required, allowed, accuracy_slack,
                     latency_budget_ms, fastest, timing_runs, reference_floor)  # fmt: skip


def _speed_key(verdict: Verdict) -> tuple[float, float, bool]:
    """The fastest first (round-by-round ratio to the reference; the reference is 1), then
    the best NetScore, then the reference."""
    ratio = 1.0 if verdict.finalist.role == "reference" else verdict.latency_ratio
    if ratio is None:
        ratio = verdict.finalist.latency_ms or float("inf")
    return ratio, -verdict.netscore, verdict.finalist.role != "reference"


def paired_ratio(finalist: Finalist, reference: Finalist | None) -> float | None:
    """The median over timing rounds of the finalist's block median over the reference's.

    Both were timed in alternating blocks, so each round compares the two under the same
    conditions; a slow spell of the machine cancels out, where comparing the two medians
    does not. On X-SDD two medians under load read 0.664 against 0.668 ms while the rounds
    said 9% slower, and a fresh-process re-timing 26-35% (benchmarks/real_data.py
    --retime). None without blocks of both.
    """
    if reference is None or reference is finalist:
        return None
    return block_ratio(finalist.latency_blocks, reference.latency_blocks)


@dataclasses.dataclass(frozen=True)
class _Rule:
    """The requirements every finalist is held to (see :func:`select_winner`)."""

    utility: Utility
    required: float | None
    allowed: float | None
    slack: float
    budget_ms: float | None
    runs: int
    reference: Finalist | None
    trade: bool = False  # --accuracy-slack: below the reference only if faster

    def verdict(self, finalist: Finalist) -> Verdict:
        reasons: list[str] = []
        name, val = finalist.metric_name, finalist.val_metric
        if self.required is not None and val < self.required:
            reasons.append(f"validation {name} {val:.2f}% < {self.required:.2f}%")
        ratio = paired_ratio(finalist, self.reference)
        by_slack = (
            self.trade and self.reference is not None and finalist is not self.reference
            and val < self.reference.val_metric and not reasons
        )  # fmt: skip
        checks: list[NoiseCheck] = []
        if self.budget_ms is not None:
            check = budget_check(finalist.latency_blocks or _one(finalist.latency_ms),
                                 self.budget_ms, self.runs)  # fmt: skip
            if check.values:
                checks.append(check)
                if check.over:
                    reasons.append(f"latency {check.describe()}")
        elif self.allowed is not None:
            reasons += self._not_slower(finalist, ratio, checks)
        if by_slack and not reasons:
            reasons += self._faster(finalist, ratio)
        score = self.utility(val, finalist.params, finalist.macs)
        return Verdict(finalist, score, tuple(reasons), ratio, tuple(checks), by_slack)

    def _not_slower(
        self, finalist: Finalist, ratio: float | None, checks: list[NoiseCheck]
    ) -> list[str]:
        latency = finalist.latency_ms
        if ratio is not None and self.reference is not None:
            check = ratio_check(finalist.latency_blocks, self.reference.latency_blocks,
                                1 + self.slack, self.runs)  # fmt: skip
            if check is not None:
                checks.append(check)
            if too_slow(ratio, self.slack):
                return [f"latency {ratio - 1:.0%} above the reference's, round by round "
                        f"(allowed {self.slack:.0%})"]  # fmt: skip
        elif latency is not None and self.allowed is not None and latency > self.allowed:
            return [f"latency {latency:.3g} ms > {self.allowed:.3g} ms"]
        return []

    def _faster(self, finalist: Finalist, ratio: float | None) -> list[str]:
        """A finalist below the reference's accuracy qualifies only by being faster."""
        reference = self.reference
        if (
            ratio is None
            and reference is not None
            and reference.latency_ms
            and (finalist.latency_ms is not None)
        ):
            ratio = finalist.latency_ms / reference.latency_ms
        if ratio is None or ratio > 1 - SLACK_SPEEDUP:
            shown = "untimed" if ratio is None else f"{ratio:.2f}x its latency"
            return [f"within the accuracy slack but not {SLACK_SPEEDUP:.0%} faster than the "
                    f"reference ({shown})"]  # fmt: skip
        return []


def _one(latency_ms: float | None) -> tuple[float, ...]:
    return () if latency_ms is None else (latency_ms,)


def mode_lines(spec: Any) -> list[str]:
    """What a study spec changes in the rule, one line each, for the start of a run."""
    lines = []
    name = REFERENCE.get(spec.task, "the hand design")
    if spec.latency_ms is not None and spec.flops is None:
        lines.append(
            f"latency-first: the reference is {name} scaled to the {spec.latency_ms:g} ms "
            "budget by measured latency; a finalist over the budget in the finals is dropped"
        )
    if getattr(spec, "fastest", False):
        lines.append(
            f"accurate enough, as fast as possible: the fastest finalist with validation "
            f"{spec.accuracy_min:g}% or more wins (the reference's accuracy is not required)"
        )
    slack = getattr(spec, "accuracy_slack", 0.0)
    if slack:
        lines.append(
            f"trade: a finalist up to {_points(slack)} below the reference on validation wins "
            f"if it is at least {SLACK_SPEEDUP:.0%} faster (the fastest such finalist)"
        )
    return lines


def _points(value: float) -> str:
    return f"{value:g} point" + ("" if value == 1 else "s")
