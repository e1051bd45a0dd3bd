"""gensynth.engines: where and how many trials run at once.

- ``local``: trials one after another in this process;
- ``workers``: N processes on this machine against one shared storage (``--workers N``);
- ``ray``: worker loops as Ray tasks, on this machine or a Ray cluster (``--engine ray``).

Every engine runs each trial through :class:`gensynth.search.runner.TrialRunner`, so a trial
records the same wherever it ran. Importing this package does not import Ray.
"""

from __future__ import annotations

from gensynth.engines import _local, _ray, _workers  # noqa: F401  (they register themselves)
from gensynth.engines._base import (
    ENGINES,
    Engine,
    engine_for,
    get_engine,
    list_engines,
    worker_threads,
)
from gensynth.engines._local import run_trials
from gensynth.engines._pool import ctrl_c_requests_stop
from gensynth.engines._ray import RAY_INSTALL_HINT, import_ray, ray_address_check

__all__ = [
    "ENGINES",
    "RAY_INSTALL_HINT",
    "Engine",
    "ctrl_c_requests_stop",
    "engine_for",
    "get_engine",
    "import_ray",
    "list_engines",
    "ray_address_check",
    "run_trials",
    "worker_threads",
]
