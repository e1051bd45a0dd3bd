"""Checks and shared settings for the engines that run trials: local workers and Ray.

``check_engine`` runs before any data is read or any study is opened, so a bad combination
(several SQLite writers, Ray missing, a Ray address that does not answer) fails in one line.
"""

from __future__ import annotations

import os
import socket
import time
from typing import TYPE_CHECKING

from gensynth.errors import ConfigError, GensynthError
from gensynth.studies.storage import parse_storage_url

if TYPE_CHECKING:
    from types import ModuleType

    from gensynth.search.study_spec import StudySpec

__all__ = [
    "RAY_INSTALL_HINT",
    "check_engine",
    "import_ray",
    "ray_address_check",
    "worker_threads",
]

RAY_INSTALL_HINT = "pip install 'gensynth[ray]'"
#: Seconds to wait for a Ray address to answer before giving up.
RAY_CONNECT_TIMEOUT_S = 30.0


def check_engine(spec: StudySpec) -> None:
    """Refuse engine settings that cannot work, before any data or study is opened."""
    if spec.workers < 1:
        raise ConfigError(f"--workers: expected a positive integer, got {spec.workers}")
    if spec.engine == "ray":
        import_ray()
        if spec.ray_address:
            ray_address_check(spec.ray_address)
        return
    if spec.ray_address:
        raise ConfigError(
            "--ray-address goes with --engine ray", hint="add --engine ray, or drop --ray-address"
        )
    if spec.workers > 1:
        _check_shared_storage(spec)


def _check_shared_storage(spec: StudySpec) -> None:
    """SQLite fails with "database is locked" under several writers: name what works."""
    location = parse_storage_url(spec.storage)
    if location.kind != "sqlite":
        return
    journal = location.path.with_suffix(".log") if location.path else "studies.log"
    raise ConfigError(
        f"--workers {spec.workers} needs a storage several processes can write, "
        f"got {location.redacted} (SQLite allows one writer)",
        hint=f"use --storage journal:///{journal} on one host or a shared disk, "
        "or --storage postgresql://user@host/db across hosts",
    )


def worker_threads(spec: StudySpec, workers: int, cores: int | None = None) -> int:
    """Torch threads per worker: ``--threads`` if given, else the cores shared out evenly."""
    if spec.threads is not None:
        return spec.threads
    return max(1, (cores or os.cpu_count() or 1) // max(1, workers))


def import_ray() -> ModuleType:
    """The ``ray`` module with Tune and Optuna support, or a one-line error with a hint."""
    try:
        import ray
        from ray import tune  # noqa: F401
        from ray.tune.search.optuna import OptunaSearch  # noqa: F401
    except ImportError as err:
        raise GensynthError(
            f"--engine ray needs Ray Tune, which is not installed ({err.name or err})",
            hint=RAY_INSTALL_HINT,
        ) from None
    return ray


def ray_address_check(address: str, timeout: float = RAY_CONNECT_TIMEOUT_S) -> None:
    """Fail in one line, within about ``timeout`` seconds, unless a Ray cluster answers there.

    A port can accept connections without being Ray (a proxy, another service), and
    ``ray.init`` then retries for a long time and logs from C++; so after a plain TCP check the
    address is tried by ``ray.init`` in a child process that is killed at the deadline.
    """
    if address == "auto" or address.startswith("local"):
        return
    target = address.split("://", 1)[-1].rstrip("/")
    host, sep, port = target.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ConfigError(
            f"--ray-address: expected host:port, ray://host:port or auto, got {address!r}"
        )
    started = time.monotonic()
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as err:
        reason = "timed out" if isinstance(err, TimeoutError) else (err.strerror or str(err))
        raise _no_answer(address, f"{reason} after {timeout:g} s") from None
    _probe_ray(address, max(1.0, timeout - (time.monotonic() - started)))


_PROBE = (
    "import logging, sys, ray\n"
    "ray.init(address=sys.argv[1], log_to_driver=False, logging_level=logging.ERROR)\n"
    "print(int(ray.cluster_resources().get('CPU', 0)))\n"
)


def _probe_ray(address: str, timeout: float) -> None:
    import subprocess
    import sys

    try:
        result = subprocess.run(
            [sys.executable, "-c", _PROBE, address],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise _no_answer(address, f"no Ray cluster answered within {timeout:.0f} s") from None
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if "Error" in line]
        reason = (lines[-1] if lines else "not a Ray cluster").split(":", 1)[-1].strip()
        raise _no_answer(address, reason[:200])


def _no_answer(address: str, reason: str) -> GensynthError:
    return GensynthError(
        f"Ray at {address} does not answer ({reason})",
        hint="start the cluster (ray start --head) and pass the address it prints, "
        "or drop --ray-address for a local Ray instance",
    )
