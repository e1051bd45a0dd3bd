"""Where a result came from: package versions, git sha, machine. Stored with every result."""

from __future__ import annotations

import datetime
import functools
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

__all__ = ["git_sha", "machine", "machine_id", "stamp", "versions"]

_PACKAGES = ("gensynth", "torch", "optuna", "fvcore", "onnxruntime", "onnx", "captum", "numpy")


@functools.cache
def versions() -> dict[str, str]:
    """Installed versions of the packages a result depends on (missing ones left out)."""
    found = {}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    found["python"] = platform.python_version()
    return found


@functools.cache
def git_sha() -> str | None:
    """The commit of the gensynth checkout, or None outside a git checkout."""
    here = Path(__file__).resolve().parent.parent
    try:
        result = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = result.stdout.strip()
    return sha if result.returncode == 0 and len(sha) == 40 else None


@functools.cache
def machine() -> dict[str, str | int]:
    """The processor, core count and OS, as recorded beside timings."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count() or 1, "system": platform.platform()}


def machine_id() -> str:
    """A short, stable key for caches of measured latency (cpu model and core count)."""
    info = machine()
    return f"{info['cpu']}|{info['cores']}"


def stamp() -> dict[str, object]:
    """Versions, git sha, machine and the UTC time: recorded with every study and model."""
    return {
        "versions": versions(),
        "git_sha": git_sha(),
        "machine": machine(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
