"""The engine protocol: where and how many trials run at once, and what each engine refuses.

An engine never re-implements a step of a trial: every engine hands Optuna trials to the
search's :class:`~gensynth.search.runner.TrialRunner`. Engines sit in a registry, so
``explore`` looks one up by name and each engine checks its own settings before any data is
read or any study is opened.
"""

from __future__ import annotations

import abc
import os
from typing import TYPE_CHECKING, ClassVar

from gensynth.errors import ConfigError
from gensynth.registry import Registry

if TYPE_CHECKING:
    from gensynth.search.events import ExploreEvents
    from gensynth.search.session import ExploreSession
    from gensynth.search.stop import StopSignal
    from gensynth.search.study_spec import StudySpec

__all__ = ["ENGINES", "Engine", "engine_for", "get_engine", "list_engines", "worker_threads"]


class Engine(abc.ABC):
    """Runs the trials of one session until the study holds the budget of complete trials."""

    name: ClassVar[str]
    description: ClassVar[str]

    def check(self, spec: StudySpec) -> None:  # noqa: B027 - a hook that accepts by default
        """Refuse settings that cannot work here, before any data or study is opened."""

    @abc.abstractmethod
    def run(self, session: ExploreSession, events: ExploreEvents, stop: StopSignal) -> int:
        """Run trials until the budget, Ctrl-C or the deadline; the complete trials in the study.

        Ctrl-C propagates as KeyboardInterrupt once the trials in flight are recorded
        ("interrupted"); a rerun re-queues them.
        """


#: Engines by name (``local``, ``workers``, ``ray``), filled by decorator.
ENGINES: Registry[type[Engine]] = Registry("engine")


def list_engines() -> list[str]:
    return ENGINES.names()


def get_engine(name: str) -> Engine:
    """The engine ``name``; an unknown name lists the valid ones."""
    return ENGINES.get(name)()


def engine_for(spec: StudySpec) -> Engine:
    """The engine a study spec asks for, checked: ``--engine local --workers 2`` is ``workers``."""
    name = spec.engine
    if name == "local" and spec.workers > 1:
        name = "workers"
    try:
        engine = get_engine(name)
    except ConfigError as error:
        raise ConfigError(f"--engine: {error.message}", hint=error.hint) from None
    if spec.workers < 1:
        raise ConfigError(f"--workers: expected a positive integer, got {spec.workers}")
    if spec.ray_address and engine.name != "ray":
        raise ConfigError(
            "--ray-address goes with --engine ray", hint="add --engine ray, or drop --ray-address"
        )
    engine.check(spec)
    return engine


def worker_threads(spec: StudySpec, workers: int, cores: int | None = None) -> int:
    """Torch threads per worker: ``--threads`` if given, else the cores shared out evenly."""
    if spec.threads is not None:
        return spec.threads
    return max(1, (cores or os.cpu_count() or 1) // max(1, workers))
