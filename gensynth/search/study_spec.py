"""What one exploration is asked to do: the resolved, typed form of flags and ``--config``.

A config file is flat YAML with the same names as the flags (``flops: 100M``,
``tolerance: 5%``, ``trials: 12``, ``utility: {alpha: 2}``); flags override the file and
unknown keys are errors. ``StudySpec.to_dict()`` is stored on the study.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Literal, get_args

from gensynth.config import check_choice, from_dict, load_yaml, to_dict
from gensynth.constraints.limits import Limits
from gensynth.constraints.quantities import (
    format_count,
    parse_count,
    parse_fraction,
    parse_input_size,
    parse_latency_ms,
    parse_optional_duration,
    parse_positive_int,
)
from gensynth.data.preprocess import CHANNELS, RESIZE_POLICIES
from gensynth.errors import ConfigError
from gensynth.search.selection import parse_accuracy_slack
from gensynth.search.utility import NetScore
from gensynth.studies.storage import default_storage
from gensynth.training import FULL_EPOCHS, check_device
from gensynth.vocabulary import DEFAULT_BACKEND, TASKS, Task

__all__ = [
    "DEFAULT_PROTOTYPE",
    "OBJECTIVES",
    "STRATEGIES",
    "ExploreOptions",
    "StudySpec",
    "resolve_options",
]

Strategy = Literal["generative", "random", "tpe"]
STRATEGIES: tuple[str, ...] = get_args(Strategy)
DEFAULT_PROTOTYPE = {"classify": "residual", "segment": "residual-unet"}
#: objective name -> optimisation direction
OBJECTIVES = {
    "netscore": "maximize",
    "accuracy": "maximize",
    "macs": "minimize",
    "params": "minimize",
    "latency": "minimize",
}
#: The budget when no flag or config sets it. ``trials``, ``final_epochs``, ``finalists`` and the
#: timeout are starting points the planner (search/budget.py) shrinks to fit ``--budget`` from
#: measured training speed; the full recipe's epochs are the ceiling. Segmentation nets run at
#: full resolution and are slower per image: fewer trials and finalists.
DEFAULT_BUDGET = {
    "classify": {
        "trials": 10,
        "epochs": 4,
        "final_epochs": FULL_EPOCHS["classify"],
        "finalists": 3,
    },
    "segment": {"trials": 8, "epochs": 3, "final_epochs": FULL_EPOCHS["segment"], "finalists": 2},
}
#: Budget fields the planner chooses from measured speed when no flag or config sets them.
PLANNED = ("trials", "final_epochs", "finalists", "timeout")
#: "Accurate enough, as fast as possible" (--accuracy-min alone) searches 10M-190M MACs.
FASTEST_TOLERANCE = 0.9
_PARETO_HINT = "use --objectives netscore, or a Pareto pair like accuracy,macs or accuracy,latency"


@dataclasses.dataclass(frozen=True)
class ExploreOptions:
    """Raw options as typed on the command line or written in a config file (all optional)."""

    task: Task | None = None
    data: str | None = None
    format: str | None = None
    prototype: str | None = None
    input_size: int | None = None
    channels: int | None = None
    resize: str | None = None
    split: str | None = None
    device: str | None = None
    flops: str | int | None = None
    tolerance: str | float | None = None
    params_max: str | int | None = None
    latency: str | float | None = None
    backend: str | None = None
    batch: int | None = None
    threads: int | None = None
    objectives: str | list[str] | None = None
    utility: NetScore | None = None
    trials: int | None = None
    timeout: str | int | float | None = None
    epochs: int | None = None
    proxy_size: int | None = None
    proxy_samples: int | None = None
    final_epochs: int | None = None
    finalists: int | None = None
    promote: int | None = None
    accuracy_min: str | float | None = None
    accuracy_slack: str | float | None = None
    budget: str | int | float | None = None
    study: str | None = None
    storage: str | None = None
    artifacts: str | None = None
    engine: str | None = None  # a name in gensynth.engines.ENGINES
    workers: int | None = None
    ray_address: str | None = None
    strategy: str | None = None  # one of STRATEGIES
    seed: int | None = None
    out: str | None = None
    skip_bad: bool | None = None
    int8: bool | None = None
    int8_max_drop: float | None = None
    #: The config file these options came from and the keys it set (not a config key).
    source: tuple[str, frozenset[str]] | None = dataclasses.field(
        default=None, init=False, compare=False, repr=False
    )

    @classmethod
    def from_file(cls, path: str | Path) -> ExploreOptions:
        data = load_yaml(path, what="config file")
        if data is None:
            raise ConfigError(
                f"config file {str(path)!r} is empty; expected options as keys",
                hint="write the flag names as keys, one per line, e.g. flops: 100M",
            )
        try:
            options = from_dict(cls, data)
        except ConfigError as err:
            raise ConfigError(f"{path}: {err.message}", hint=err.hint) from None
        object.__setattr__(options, "source", (str(path), frozenset(map(str, data))))
        return options

    def merged(self, override: ExploreOptions) -> ExploreOptions:
        """These options with every value that ``override`` sets taking precedence."""
        changes = {
            f.name: getattr(override, f.name)
            for f in dataclasses.fields(override)
            if f.init and getattr(override, f.name) is not None
        }
        merged = dataclasses.replace(self, **changes)
        if self.source is not None:
            object.__setattr__(merged, "source", (self.source[0], self.source[1] - set(changes)))
        return merged

    def label(self, name: str) -> str:
        """How a message names option ``name``: ``study.yaml: flops`` or ``--flops``."""
        if self.source is not None and name in self.source[1]:
            return f"{self.source[0]}: {name}"
        return "--" + name.replace("_", "-")


@dataclasses.dataclass(frozen=True)
class StudySpec:
    """The resolved exploration: every quantity parsed, every default filled in."""

    task: Task
    data: str
    data_format: str | None
    prototype: str
    input_size: int | None
    flops: int | None
    tolerance: float
    params_max: int | None
    latency_ms: float | None
    backend: str
    batch: int
    threads: int | None
    objectives: tuple[str, ...]
    utility: NetScore
    trials: int
    timeout_s: float | None
    epochs: int
    proxy_size: int | None
    proxy_samples: int | None
    final_epochs: int
    finalists: int
    accuracy_min: float | None
    budget_s: float | None  # the planned time of the whole run (None: the data's default)
    planned: tuple[str, ...]  # budget fields left to the planner (not given by the user)
    study_name: str
    storage: str
    artifacts: str | None
    engine: str
    workers: int
    ray_address: str | None
    strategy: Strategy
    seed: int
    out: str
    skip_bad: bool = False
    channels: int = 1  # 1 grey, 3 RGB (gensynth.data.preprocess)
    resize: str = "stretch"  # stretch, pad or crop
    split: str | None = None  # a CSV of path,split rows; None: the seeded split
    device: str = "auto"  # training device: auto, cpu or cuda (not part of the identity)
    accuracy_slack: float = 0.0  # points below the reference a faster winner may be
    #: --accuracy-min without a MACs, latency or parameter limit: the fastest finalist that
    #: meets the requirement wins, in a wide MACs range (FASTEST_TOLERANCE around the default)
    fastest: bool = False
    promote: int = 0  # candidates proxy-trained longer before the finals (search/promote.py)
    int8: bool = False  # also quantize the winner to INT8 (gensynth.deploy.int8)
    int8_max_drop: float = 1.0  # test points INT8 may lose (gensynth.deploy.int8)

    @property
    def directions(self) -> list[str]:
        return [OBJECTIVES[name] for name in self.objectives]

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    def identity(self) -> dict[str, Any]:
        """What must match for a rerun to continue this study (budget and engine may change)."""
        keys = (
            "task", "prototype", "input_size", "flops", "tolerance", "params_max", "latency_ms",
            "backend", "batch", "objectives", "utility", "epochs", "proxy_size", "proxy_samples",
            "strategy",
        )  # fmt: skip
        return {key: to_dict(getattr(self, key)) for key in keys}

    @property
    def limits(self) -> Limits:
        return Limits(
            self.flops, self.tolerance, self.params_max, self.latency_ms, self.backend, self.batch
        )

    def describe_limits(self) -> str:
        return self.limits.describe()


def _objectives(
    raw: str | list[str] | None, latency_ms: float | None, what: str = "--objectives"
) -> tuple[str, ...]:
    if raw is None:
        return ("netscore",)
    names = [n.strip() for n in (raw.split(",") if isinstance(raw, str) else raw) if n.strip()]
    unknown = [n for n in names if n not in OBJECTIVES]
    if unknown or not names:
        raise ConfigError(
            f"{what}: unknown objective {unknown[0] if unknown else raw!r}; "
            f"expected from {', '.join(OBJECTIVES)}",
            hint=_PARETO_HINT,
        )
    if len(names) > 1 and "netscore" in names:
        raise ConfigError(f"{what}: netscore is already a trade-off", hint=_PARETO_HINT)
    if "latency" in names and latency_ms is None:
        raise ConfigError(
            f"{what}: latency needs a backend to measure on",
            hint="add --latency BUDGET --backend onnxruntime-cpu (a generous budget is fine)",
        )
    return tuple(dict.fromkeys(names))


def _positive(value: int | None, default: int, what: str) -> int:
    return default if value is None else parse_positive_int(value, what=what)


def _optional_positive(value: int | None, what: str) -> int | None:
    return None if value is None else parse_positive_int(value, what=what)


def _optional_count(value: str | int | None, what: str) -> int | None:
    return None if value is None else parse_count(value, what=what)


def resolve_options(opts: ExploreOptions) -> StudySpec:
    """Parse and check every option; fill defaults; one ConfigError per problem."""
    task: Task = check_choice(opts.task or "classify", TASKS, "--task")
    prototype = opts.prototype or DEFAULT_PROTOTYPE[task]
    budget = DEFAULT_BUDGET[task]
    at = opts.label
    latency_ms = (
        None if opts.latency is None else parse_latency_ms(opts.latency, what=at("latency"))
    )
    if latency_ms is None and opts.backend is not None and opts.objectives is None:
        raise ConfigError(
            "--backend without --latency has nothing to check",
            hint="add a budget, e.g. --latency 2ms --backend " + opts.backend,
        )
    flops = None if opts.flops is None else parse_count(opts.flops, what=at("flops"))
    fastest = (
        opts.accuracy_min is not None and flops is None and latency_ms is None
        and opts.params_max is None
    )  # fmt: skip
    if flops is None and latency_ms is None:
        flops = 100_000_000 if opts.params_max is None else None
    storage = opts.storage or default_storage()
    study_name = opts.study or _default_study_name(task, flops, latency_ms)
    objectives = _objectives(opts.objectives, latency_ms, at("objectives"))
    _check_accuracy_use(opts, objectives)
    return StudySpec(
        task=task,
        data=opts.data or "synthetic",
        data_format=opts.format,
        prototype=prototype,
        input_size=_input_size(opts.input_size, at("input_size")),
        flops=flops,
        tolerance=FASTEST_TOLERANCE if fastest and opts.tolerance is None
        else _tolerance(opts.tolerance, at("tolerance")),
        params_max=_optional_count(opts.params_max, at("params_max")),
        latency_ms=latency_ms,
        backend=opts.backend or DEFAULT_BACKEND,
        batch=_positive(opts.batch, 1, at("batch")),
        threads=_optional_positive(opts.threads, at("threads")),
        objectives=objectives,
        utility=opts.utility or NetScore(),
        trials=_positive(opts.trials, budget["trials"], at("trials")),
        timeout_s=_timeout(opts.timeout, at("timeout")),
        epochs=_positive(opts.epochs, budget["epochs"], at("epochs")),
        proxy_size=_optional_positive(opts.proxy_size, at("proxy_size")),
        proxy_samples=_optional_positive(opts.proxy_samples, at("proxy_samples")),
        final_epochs=_final_epochs(opts.final_epochs, budget["final_epochs"], at("final_epochs")),
        finalists=_positive(opts.finalists, budget["finalists"], at("finalists")),
        accuracy_min=_accuracy_min(opts.accuracy_min, task, at("accuracy_min")),
        budget_s=_budget(opts.budget, at("budget")),
        planned=_planned(opts),
        study_name=study_name,
        storage=storage,
        artifacts=opts.artifacts,
        engine=opts.engine or "local",
        workers=_positive(opts.workers, 1, at("workers")),
        ray_address=opts.ray_address,
        strategy=check_choice(opts.strategy or "generative", STRATEGIES, "--strategy"),
        seed=0 if opts.seed is None else opts.seed,
        out=opts.out or "gensynth-out",
        skip_bad=bool(opts.skip_bad),
        channels=_channels(opts.channels, at("channels")),
        resize=check_choice(opts.resize or "stretch", RESIZE_POLICIES, at("resize")),
        split=_split_file(opts.split, opts.data, at("split")),
        device=check_device(opts.device or "auto", at("device")),
        accuracy_slack=parse_accuracy_slack(opts.accuracy_slack, at("accuracy_slack")),
        fastest=fastest,
        promote=_promote(opts.promote, at("promote")),
        **_int8(opts),
    )  # fmt: skip


def _int8(opts: ExploreOptions) -> dict[str, Any]:
    """``int8`` and ``int8_max_drop``: INT8 runs on onnxruntime-cpu, the drop is finite."""
    import math

    if opts.int8_max_drop is not None and not opts.int8:
        raise ConfigError(
            f"{opts.label('int8_max_drop')} applies to the INT8 model, expected it with --int8",
            hint="add --int8, or leave the drop threshold out",
        )
    if opts.int8 and opts.backend not in (None, DEFAULT_BACKEND):
        raise ConfigError(
            f"--int8 quantizes for {DEFAULT_BACKEND} only, got --backend {opts.backend}",
            hint=f"use --backend {DEFAULT_BACKEND} with --int8, or leave --int8 out",
        )
    from gensynth.deploy.int8 import DEFAULT_MAX_DROP

    drop = DEFAULT_MAX_DROP if opts.int8_max_drop is None else opts.int8_max_drop
    if isinstance(drop, bool) or not isinstance(drop, (int, float)) or not math.isfinite(drop):
        raise ConfigError(
            f"{opts.label('int8_max_drop')}: expected a number of points, got {drop!r}"
        )
    return {"int8": bool(opts.int8), "int8_max_drop": float(drop)}


def _promote(raw: int | None, what: str) -> int:
    if raw is None:
        return 0
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ConfigError(f"{what}: expected 0 (off) or a number of candidates, got {raw!r}")
    return raw


def _check_accuracy_use(opts: ExploreOptions, objectives: tuple[str, ...]) -> None:
    """--accuracy-min and --accuracy-slack need a ranking that looks at accuracy."""
    if "netscore" in objectives or "accuracy" in objectives:
        return
    for name in ("accuracy_min", "accuracy_slack"):
        if getattr(opts, name) is not None:
            raise ConfigError(
                f"{opts.label(name)} needs an objective that looks at accuracy; "
                f"--objectives {','.join(objectives)} ignores it",
                hint="use --objectives netscore (the default) or a pair with accuracy, "
                "like accuracy,latency",
            )


def _channels(raw: int | None, what: str) -> int:
    if raw is None:
        return 1
    if raw not in CHANNELS or isinstance(raw, bool):
        raise ConfigError(
            f"{what}: expected 1 (grey) or 3 (RGB), got {raw!r}",
            hint="3 keeps the colour of colour images; the default 1 makes them grey",
        )
    return int(raw)


def _split_file(raw: str | None, data: str | None, what: str) -> str | None:
    if raw is not None and (data is None or data == "synthetic"):
        raise ConfigError(
            f"{what}: the synthetic set has its own seeded split, expected --data FOLDER",
            hint="pass --data FOLDER with --split FILE, or leave --split out",
        )
    return raw


def _tolerance(raw: str | float | None, what: str) -> float:
    return 0.05 if raw is None else parse_fraction(raw, what=what)


def _input_size(raw: int | None, what: str) -> int | None:
    return None if raw is None else parse_input_size(raw, what=what)


def _timeout(raw: str | int | float | None, what: str = "--timeout") -> float | None:
    """Seconds, or None for no limit: ``off`` or ``none``; zero is refused like any limit."""
    if raw is None:
        return 30 * 60.0
    return parse_optional_duration(raw, what=what, default_unit="s")


def _budget(raw: str | int | float | None, what: str = "--budget") -> float | None:
    if raw is None or str(raw).strip().lower() in ("off", "none"):
        return None
    return parse_optional_duration(raw, what=what, default_unit="m")


def _planned(opts: ExploreOptions) -> tuple[str, ...]:
    """The budget fields no flag set; ``--budget off`` keeps the fixed defaults instead."""
    if opts.budget is not None and str(opts.budget).strip().lower() in ("off", "none"):
        return ()
    return tuple(name for name in PLANNED if getattr(opts, name) is None)


def _final_epochs(raw: int | None, default: int, what: str = "--final-epochs") -> int:
    if raw is None:
        return default
    if raw < 0:
        raise ConfigError(f"{what}: expected 0 (skip) or more, got {raw}")
    return raw


def _accuracy_min(raw: str | float | None, task: str, what: str) -> float | None:
    """A requirement on the validation metric in percent: ``99%``, ``99`` or ``0.99``."""
    if raw is None:
        return None
    what = what if task == "classify" else f"{what} (mIoU for segment)"
    text = str(raw).strip()
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise ConfigError(f"{what}: expected a percentage like 99% or 99.5, got {raw!r}") from None
    if not text.endswith("%") and 0 < value <= 1:
        value *= 100  # a fraction: 0.99 means 99%
    if not 0 < value <= 100:
        raise ConfigError(f"{what}: expected a percentage in (0, 100], got {raw!r}")
    return value


def _default_study_name(task: str, flops: int | None, latency_ms: float | None) -> str:
    parts = [task]
    if flops is not None:
        parts.append(format_count(flops).replace(".00", ""))
    if latency_ms is not None:
        parts.append(f"{latency_ms:g}ms")
    return "-".join(parts)
