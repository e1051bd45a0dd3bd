"""`gensynth explain` end to end on a tiny trained model: report, numbers, gates, escaping."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gensynth.cli.main import app

runner = CliRunner()
FAST = ["--samples", "6", "--ig-steps", "4", "--threads", "1"]


class _Page(HTMLParser):
    """Collects image sources, links and the metric cells of a report page."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.links: list[str] = []
        self.cells: list[tuple[dict[str, str], str]] = []
        self._cell: dict[str, str] | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.sources.append(attrs["src"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "td" and "data-metric" in attrs:
            self._cell, self._text = attrs, ""

    def handle_data(self, data):
        if self._cell is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append((self._cell, self._text))
            self._cell = None


def explain(model_dir: Path, out: Path, *args: str):
    return runner.invoke(app, ["explain", str(model_dir), "--out", str(out), *FAST, *args])


@pytest.fixture(scope="module")
def report(model_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports") / "full"
    result = explain(model_dir, out, "--json")
    assert result.exit_code == 0, result.output
    return out, result


def _parse(out: Path) -> _Page:
    page = _Page()
    page.feed((out / "index.html").read_text(encoding="utf-8"))
    return page


def test_report_files_and_every_image_exist(report):
    out, _ = report
    page = _parse(out)
    summary = json.loads((out / "summary.json").read_text())
    # 6 samples x (input + mask + 4 methods x 2) in the grids, plus the flagged cards.
    assert len(set(page.sources)) == 6 * 10
    for src in page.sources + [link for link in page.links if not link.startswith("#")]:
        assert (out / src).is_file(), src
    assert summary["schema"] == "gensynth.explain/1"
    assert summary["settings"]["tau"] == 0.5 and summary["settings"]["split"] == "test"
    assert set(summary["overall"]) == {"gradcam", "ig", "occlusion", "critical"}


def test_html_numbers_equal_summary_json(report):
    out, _ = report
    summary = json.loads((out / "summary.json").read_text())
    cells = _parse(out).cells
    assert len(cells) >= 4 * 10 + 3 * 4 * 6
    for attrs, text in cells:
        scope = summary["overall"] if attrs["data-scope"] == "overall" else None
        if scope is None:
            scope = summary["per_class"][attrs["data-class"]]
        value = scope[attrs["data-method"]][attrs["data-metric"]]
        if value is None:
            assert text == "\u2013", attrs
        else:
            assert float(text) == value, attrs


def test_json_on_stdout_is_the_summary(report):
    out, result = report
    printed = json.loads(result.stdout)
    assert printed == json.loads((out / "summary.json").read_text())


def test_class_names_and_paths_are_escaped(report):
    out, _ = report
    text = (out / "index.html").read_text(encoding="utf-8")
    assert "a&amp;b &lt;script&gt;" in text
    assert "a&b <script>" not in text
    assert text.count("<script") == 1  # only the report's own image check


def test_report_sections_for_auditors(report):
    out, _ = report
    text = (out / "index.html").read_text(encoding="utf-8")
    summary = json.loads((out / "summary.json").read_text())
    for anchor in ("verdict", "summary", "how-to-read", "per-class", "flagged", "grids"):
        assert f'id="{anchor}"' in text, anchor
    assert "How to read this report" in text and "\u03c4=0.5" in text
    flagged = summary["flagged"]
    assert f"Samples flagged for a human ({len(flagged)})" in text
    for sample in flagged:
        assert f'data-sample="{sample}"' in text
    assert "http://" not in text and "https://" not in text  # nothing to fetch


def test_summary_table_on_stdout_without_json(model_dir, tmp_path):
    result = explain(
        model_dir, tmp_path / "r", "--methods", "gradcam,occlusion", "--samples", "50"
    )
    assert result.exit_code == 0, result.output
    assert "explaining all of them" in result.stderr
    assert "gradcam" in result.stdout and "occlusion" in result.stdout
    assert "ig " not in result.stdout
    assert "Wrote" in result.stderr


def test_fail_under_exit_codes(model_dir, tmp_path):
    args = ["--methods", "gradcam", "--samples", "3"]
    passing = explain(model_dir, tmp_path / "a", *args, "--fail-under", "impact_score=0")
    assert passing.exit_code == 0, passing.output
    failing = explain(model_dir, tmp_path / "b", *args, "--fail-under", "gradcam.mask_energy=1.0")
    assert failing.exit_code == 3, failing.output
    assert "Gate failed: gradcam mask_energy" in failing.stderr
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["gates"][0]["passed"] is False
    assert (tmp_path / "b" / "index.html").is_file()  # the report is written anyway
