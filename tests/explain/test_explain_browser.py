"""The report in a real browser: headless Chromium loads every image and renders a page."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from explain_helpers import require
from PIL import Image
from typer.testing import CliRunner

from gensynth.cli.main import app

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--virtual-time-budget=10000",
]


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def page(model_dir, tmp_path) -> Path:
    require(Path(CHROMIUM).is_file() or shutil.which("chromium") is not None,
            "headless Chromium is not installed (apt-get install chromium)")  # fmt: skip
    out = tmp_path / "report"
    args = ["explain", str(model_dir), "--out", str(out), "--samples", "6", "--threads", "1"]
    result = CliRunner().invoke(app, [*args, "--ig-steps", "4"])
    assert result.exit_code == 0, result.output
    return out / "index.html"


@pytest.mark.browser
def test_chromium_loads_every_image(page, tmp_path):
    html = page.read_text(encoding="utf-8")
    images = len(re.findall(r"<img\b", html))
    assert images > 60
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    state = re.search(r'<body[^>]*data-images="([^"]+)"', dom.stdout)
    assert state is not None, dom.stdout[:2000]
    assert state.group(1) == f"ok:{images}", "images missing in Chromium: " + state.group(1)


@pytest.mark.browser
def test_chromium_detects_a_missing_image(page, tmp_path):
    next((page.parent / "images").glob("*-input.png")).unlink()
    dom = _chromium(tmp_path, "--dump-dom", page.as_uri())
    assert re.search(r'data-images="missing:[1-9]', dom.stdout), dom.stdout[:2000]


@pytest.mark.browser
def test_chromium_screenshot_is_not_blank(page, tmp_path):
    shot = tmp_path / "shot.png"
    result = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,2000", page.as_uri())
    assert shot.is_file(), result.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[:2] == (2000, 1400)
    assert pixels.std() > 20  # text, tables and images, not an empty page
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) > 500  # heat maps and grey images rendered, not just text
