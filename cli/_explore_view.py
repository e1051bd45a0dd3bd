"""Rich drawing of an exploration: progress bars, trial log lines, and the final tables."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from gensynth.cli._common import Progress, err, out
from gensynth.cli._tables import print_leaderboard, print_table
from gensynth.constraints.quantities import format_count
from gensynth.search.events import ExploreEvents

if TYPE_CHECKING:
    from gensynth.exploration import ExploreResult
    from gensynth.search.events import RunStart
    from gensynth.search.finalize import FinalLatency
    from gensynth.search.generator import Proposal
    from gensynth.search.screen import SpeedScreen
    from gensynth.search.selection import Selection
    from gensynth.studies.records import TrialRecord

__all__ = ["RichExploreView", "finals_rows", "print_finals", "print_result"]


def _time_limit(seconds: float | None) -> str:
    if seconds is None:
        return "no time limit"
    limit = f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"
    return f"stops after {limit} at the latest"


class RichExploreView(ExploreEvents):
    """Progress on stderr: the trial bar, the current candidate's training, best so far."""

    def __init__(self, *, baseline: bool = True) -> None:
        self.baseline = baseline
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[info]}"),
            console=err,
            transient=False,
        )
        self.trials = self.progress.add_task("trials", total=1, info="", visible=False)
        self.train = self.progress.add_task("training", total=1, info="", visible=False)
        self.best: TrialRecord | None = None
        self.metric_name = "accuracy"

    def __enter__(self) -> RichExploreView:
        self.progress.start()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is not None:  # the error is the last word: no final bars above it
            self.progress.live.transient = True
        self.progress.stop()

    def message(self, text: str) -> None:
        self.progress.console.print(text, highlight=False)

    def started(self, start: RunStart) -> None:
        self.metric_name = "accuracy" if start.task == "classify" else "mIoU"
        verb = "Resuming" if start.resumed else "Starting"
        self.message(
            f"[bold]{verb} study {start.study!r}[/bold] in {start.storage}\n"
            f"  task {start.task} · prototype {start.prototype} · limits {start.limits}\n"
            f"  data {start.data} · proxy training {start.proxy}\n"
            f"  budget {start.plan} · {start.completed} trials done · the search "
            f"{_time_limit(start.timeout_s)}"
        )
        if start.requeued:
            self.message(f"  re-queued lost trials: {', '.join(map(str, start.requeued))}")
        self.progress.update(
            self.trials, total=start.trials, completed=start.completed, visible=True
        )

    def trial_started(self, number: int, proposal: Proposal) -> None:
        costs = proposal.costs
        self.progress.update(
            self.trials,
            description=f"trial #{number} ({proposal.origin})",
            info=f"MACs {format_count(costs.macs)} · params {format_count(costs.params)}"
            + self._best_text(),
        )
        self.progress.update(self.train, visible=False)

    def training(self, update: dict[str, Any]) -> None:
        if update.get("event") == "step":
            total = update["steps"] * update["epochs"]
            done = (update["epoch"] - 1) * update["steps"] + update["step"]
            self.progress.update(
                self.train,
                total=total,
                completed=done,
                visible=True,
                description=f"  epoch {update['epoch']}/{update['epochs']}",
                info=f"loss {update['loss']:.3f}",
            )

    def trial_finished(self, record: TrialRecord, completed: int) -> None:
        self.progress.update(self.trials, completed=completed)
        self.progress.update(self.train, visible=False)
        best_score = -1e9 if self.best is None else (self.best.netscore or -1e9)
        if record.feasible and record.netscore is not None and record.netscore > best_score:
            self.best = record
        self.message(_trial_line(record, self.metric_name))

    def finalist(self, index: int, count: int, record: TrialRecord, epochs: int) -> None:
        role = "the reference" if record.origin == "reference" else f"trial #{record.number}"
        self.message(
            f"[bold]Finalist {index}/{count}: training {role} in full ({_epochs(epochs)})"
            f"[/bold]  [dim]{record.describe}[/dim]"
        )

    def stage(self, name: str, total: int | None = None) -> None:
        labels = {"export": "Exporting the winner to ONNX (parity checked)",
                  "latency": "Timing the finalists side by side"
                  + (" and the baseline" if self.baseline else ""),
                  "screen": f"Timing {total} candidate(s) beside the reference before full "
                  "training",
                  "promote": f"Promoting {total} candidate(s) and the reference: proxy "
                  "training 3x longer"}  # fmt: skip
        self.message(f"[bold]{labels.get(name, name)}[/bold]")

    def screened(self, screen: SpeedScreen) -> None:
        slow = ", ".join(f"#{n} ({(screen.ratios[n] or 1.0) - 1:+.0%})" for n in screen.dropped)
        kept = ", ".join(f"#{n}" for n in screen.kept) or "none"
        if screen.against == "faster":
            head = f"at least {-screen.slack:.0%} faster than the reference"
        else:
            against = "the latency budget" if screen.against == "budget" else "the reference"
            head = f"not slower than {against} (within {screen.slack:.0%})"
        self.message(f"  {head}: {kept}" + (f" · too slow, not trained: {slow}" if slow else ""))

    def _best_text(self) -> str:
        if self.best is None:
            return ""
        return f" · best #{self.best.number}: NetScore {self.best.netscore:.2f}"


def _trial_line(record: TrialRecord, metric_name: str) -> str:
    head = f"  #{record.number:<3}"
    if record.state == "FAIL":
        return f"{head} [red]failed[/red]: {record.fail_reason}"
    if record.state != "COMPLETE":
        return f"{head} {record.state.lower()}"
    if not record.feasible:
        return f"{head} [yellow]infeasible[/yellow]: {record.reason}"
    extra = (
        f" (same spec as #{record.user_attrs.get('reused_from')})"
        if record.origin == "reuse"
        else ""
    )
    return (
        f"{head} {metric_name} {record.metric:.1f}%  NetScore {record.netscore:.2f}  "
        f"MACs {format_count(record.macs or 0)}  params {format_count(record.params or 0)}  "
        f"[dim]{record.origin}{extra}: {record.describe}[/dim]"
    )


def print_result(result: ExploreResult) -> None:
    """Leaderboard, finalists, then the winner's held-out figures and where its files are."""
    final = result.final
    metric_name = "accuracy" if result.session.spec.task == "classify" else "mIoU"
    if final is None:
        return
    print_leaderboard(final.leaderboard, metric_name, limit=10)
    if final.selection is not None:
        print_finals(final.selection, metric_name)
    for line in _winner_lines(result, metric_name):
        out.print(line, highlight=False)


FINALS_COLUMNS = ["trial", "role", "val {metric}", "Δ ref", "latency", "× ref", "params", "MACs",
                  "NetScore", "verdict", "spec"]  # fmt: skip


def finals_rows(selection: Selection) -> list[list[str]]:
    """One row per finalist: accuracy, latency and size beside the reference's, the verdict."""
    reference = selection.reference
    rows = []
    for verdict in selection.verdicts:
        f = verdict.finalist
        delta = "-" if reference is None else f"{f.val_metric - reference.val_metric:+.2f}"
        ratio = (
            "1.00"
            if f is reference
            else ("-" if verdict.latency_ratio is None else f"{verdict.latency_ratio:.2f}")
        )
        if selection.winner is f:
            text = "winner" + (" (within the accuracy slack)" if verdict.by_slack else "")
        else:
            text = "qualifies" if verdict.qualified else "; ".join(verdict.reasons)
        noisy = [c.describe() for c in verdict.noisy if c.describe() not in text]
        text = "; ".join([text, *noisy])
        rows.append([
            "ref" if f is reference else f"#{f.record.number}", f.role, f"{f.val_metric:.2f}%",
            delta, "-" if f.latency_ms is None else f"{f.latency_ms:.3g} ms", ratio,
            format_count(f.params), format_count(f.macs), f"{verdict.netscore:.2f}", text,
            f.record.describe,
        ])  # fmt: skip
    return rows


def print_finals(selection: Selection, metric: str) -> None:
    """The finals: every finalist beside the reference, the rule, and who won and why."""
    columns = [c.format(metric=metric) for c in FINALS_COLUMNS]
    print_table(
        f"Finalists, trained in full (the rule: {selection.rule})",
        columns,
        finals_rows(selection),
        flexible="spec",
    )
    runs = selection.timing_runs
    timed = f" · timed in {runs} runs (a verdict was within the noise)" if runs > 1 else ""
    out.print(f"  decision: {selection.decision}{timed}", highlight=False)


def _winner_lines(result: ExploreResult, metric_name: str) -> list[str]:
    final = result.final
    if final is None:
        return []
    m = final.metrics
    test = m["test"].get(m["metric"])
    lines = [
        f"[bold]Winner: trial #{final.winner.number}[/bold] ({final.winner.origin})  "
        f"{final.winner.describe}",
        f"  MACs {format_count(m['macs'])} (limits: {result.session.spec.describe_limits()}) · "
        f"params {format_count(m['params'])}",
        f"  test {metric_name} {test:.2f}% on {_test_count(m)} held-out images · "
        f"NetScore {m.get('netscore_test') or float('nan'):.2f}",
    ]
    reference = m.get("reference")
    if reference and reference["trial"] != final.winner.number:
        ref_test = (reference.get("test") or {}).get(m["metric"])
        lines.append(
            f"  reference (trial #{reference['trial']}): test {metric_name} {ref_test:.2f}% · "
            f"params {format_count(reference['params'])} · MACs {format_count(reference['macs'])}"
        )
    lines.append(f"  ONNX parity max |Δ| {m['export']['max_abs_diff']:.1e}")
    if final.latency is not None:
        lines += _latency_lines(final.latency)
    lines.append(f"  files: {final.model_dir}/ (spec.yaml, weights.safetensors, model.onnx, "
                 "metrics.json, MODEL_CARD.md, curves.png)")  # fmt: skip
    return lines


def _latency_lines(latency: FinalLatency) -> list[str]:
    mine = latency.result(latency.winner)
    if mine is None:
        return []
    lines = [
        f"  latency {mine.backend} batch {mine.batch}, {mine.threads} threads: "
        f"{mine.median_ms:.2f} ms (p90 {mine.p90_ms:.2f}, spread between blocks "
        f"{mine.block_spread:.0%})"
        + (" [yellow]measured under load[/yellow]" if mine.loaded else "")
    ]
    for label in ("reference", latency.baseline):
        other = None if label is None else latency.result(label)
        stats = None if label is None else latency.speedup(label)
        if other is not None and stats is not None:
            lines.append(
                f"  {label} in the same run: {other.median_ms:.2f} ms → the winner is "
                f"{_times(stats.speedup)} (rounds {_round_range(stats)})"
            )
    return lines


def _round_range(stats: Any) -> str:
    """The rounds' range in the headline's own terms: speed-ups, or slow-downs when slower."""
    rounds = list(stats.block_speedups)
    if stats.speedup < 1:
        rounds = [1 / r for r in rounds if r > 0]
    return f"{min(rounds):.2f}–{max(rounds):.2f}" if rounds else "-"


def _times(speedup: float) -> str:
    return f"{speedup:.2f}× faster" if speedup >= 1 else f"{1 / speedup:.2f}× slower"


def _test_count(metrics: dict[str, Any]) -> str:
    counts = metrics.get("data", {}).get("split_counts", {})
    return str(counts.get("test", "the"))


def _epochs(count: int) -> str:
    return f"{count} epoch" if count == 1 else f"{count} epochs"
