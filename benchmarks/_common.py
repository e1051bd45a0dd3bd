"""Shared bits of the benchmark scripts: results files named by machine, with provenance."""

from __future__ import annotations

import datetime
import json
import os
import re
from pathlib import Path
from typing import Any

from gensynth import provenance

RESULTS = Path(__file__).resolve().parent / "results"


def machine_tag() -> str:
    """``amd-epyc-2c``-style tag for result file names."""
    info = provenance.machine()
    cpu = re.sub(r"[^a-z0-9]+", "-", str(info["cpu"]).lower())
    cpu = "-".join(cpu.split("-")[:2]).strip("-") or "cpu"
    return f"{cpu}-{info['cores']}c"


def write_results(name: str, payload: dict[str, Any]) -> Path:
    """Write ``results/<name>-<machine>.json`` with machine, versions, git sha and load."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    body = {
        "benchmark": name,
        **payload,
        "machine": provenance.machine(),
        "versions": provenance.versions(),
        "git_sha": provenance.git_sha(),
        "loadavg_end": list(os.getloadavg()),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    path = RESULTS / f"{name}-{machine_tag()}.json"
    path.write_text(json.dumps(body, indent=2, default=str) + "\n")
    return path
