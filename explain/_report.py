"""The static audit report: ``index.html`` (inline CSS, no network), PNGs, ``summary.json``.

The page is the jinja2 template ``report.html`` with autoescape on, so every text that comes
from outside (class names from folder names, file paths, model path) is HTML-escaped.
Numbers are printed from the summary's own rounded values, so the page and ``summary.json``
always agree. A tiny inline script marks ``<body data-images=...>`` with ``ok:N`` or
``missing:K`` once the page has loaded, and shows a warning if an image is missing.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from gensynth.explain._audit import AuditResult
from gensynth.explain._images import write_sample_images

__all__ = ["INDEX_FILE", "SUMMARY_FILE", "fmt", "render_html", "write_report"]

INDEX_FILE = "index.html"
SUMMARY_FILE = "summary.json"
DASH = "\u2013"

_IMAGE_CHECK = """<script>
window.addEventListener("load", function () {
  var imgs = document.images, bad = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (!imgs[i].complete || imgs[i].naturalWidth === 0) { bad++; }
  }
  document.body.setAttribute("data-images", bad ? "missing:" + bad : "ok:" + imgs.length);
  if (bad) { document.getElementById("image-check").hidden = false; }
});
</script>"""

#: (metric key, column title) of the summary table, in order.
SUMMARY_COLUMNS = (
    ("impact_score", "Impact score"),
    ("critical_area", "Critical area"),
    ("coverage", "Coverage IoU"),
    ("coverage_chance", "Coverage chance"),
    ("mask_energy", "Mask energy"),
    ("mask_energy_chance", "Mask chance"),
    ("pointing_game", "Pointing game"),
    ("sanity_correlation", "Sanity \u03c1"),
    ("random_impact_score", "Random: impact"),
    ("random_mask_energy", "Random: mask energy"),
)
CLASS_COLUMNS = (
    ("impact_score", "Impact score"),
    ("critical_area", "Critical area"),
    ("mask_energy", "Mask energy"),
    ("mask_energy_chance", "Mask chance"),
    ("pointing_game", "Pointing game"),
    ("coverage", "Coverage IoU"),
)


def fmt(value: Any) -> str:
    """A summary number as printed in the report: 3 decimals, or a dash when missing."""
    return DASH if value is None else f"{float(value):.3f}"


@functools.cache
def _template() -> jinja2.Template:
    """The page template (``report.html`` beside this module), HTML-escaping every value."""
    source = resources.files("gensynth.explain").joinpath("report.html").read_text("utf-8")
    env = jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    env.filters["fmt"] = fmt
    return env.from_string(source)


#: The "how to read this" entries for auditors: (term, explanation with {placeholders}).
HOW_TO_READ = (
    ("Heat map", "Where each method sees evidence for the model's decision; brighter and "
     "more opaque means stronger. The cyan outline is the known defect, where there is one."),
    ("Critical region", "The smallest part of the image, grown along the method's ranking "
     "({ladder} of the image), that matters: when it is replaced by the image's mean grey the "
     "decision changes, or the confidence falls to {tau} \u00d7 its value or less. Red: such "
     "a region was found. Amber: even the largest one tried did not matter."),
    ("Impact score", "Share of samples where a critical region was found. High means the "
     "explanation names what the decision depends on. Critical area is its mean size."),
    ("Coverage IoU", "A synthetic defect of another class is pasted into an image; where the "
     "prediction flips to that class, the method explains the new prediction and we measure "
     "how well its top pixels cover the pasted defect (1 = exactly; the chance level is "
     "beside it). Flips says how many pastes changed the prediction."),
    ("Mask energy", "Share of the heat that falls on the defect. Compare it with Mask chance, "
     "the defect's share of the image: that is what a map spread evenly would score."),
    ("Pointing game", "Share of samples whose hottest point lies on the defect (within "
     "{tolerance} px)."),
    ("Sanity \u03c1 and Random", "The same network with random weights is explained too. A "
     "trustworthy method gives different maps for it (low rank correlation \u03c1) and much "
     "lower scores. A method with \u03c1 above {sanity} fails the check: its maps show the "
     "image more than the model, so do not rely on them."),
    ("Verdict", "pass, or flag with the reasons: failed sanity check, impact not above the "
     "random model, or mask energy not above chance."),
    ("Flagged samples", "Samples whose explanation lies off the defect for most trusted "
     "methods, or whose prediction is wrong. Look at these by eye: the model may be using the "
     "background, a texture or an artefact instead of the defect."),
)  # fmt: skip


def _how_to_read(settings: dict[str, Any]) -> list[tuple[str, str]]:
    values = {
        "tau": f"{settings['tau']:g}",
        "tolerance": settings["pointing_tolerance_px"],
        "ladder": ", ".join(f"{a:.1%}" for a in settings["area_ladder"]),
        "sanity": f"{settings['sanity_threshold']:g}",
    }
    return [(term, text.format(**values)) for term, text in HOW_TO_READ]


def render_html(summary: dict[str, Any]) -> str:
    """The whole page as a string (no network, inline CSS, one tiny inline script)."""
    settings = summary["settings"]
    tau = f"{settings['tau']:g}"
    shown = {
        "settings": settings,
        "model": summary["model"],
        "data": summary["data"],
        "timings_seconds": summary["timings"],
        "provenance": summary["provenance"],
    }
    return _template().render(
        summary=summary,
        model=summary["model"],
        data=summary["data"],
        settings=settings,
        tau=tau,
        title=f"Explanation audit: {summary['model'].get('name', 'model')}",
        css=resources.files("gensynth.explain").joinpath("report.css").read_text("utf-8"),
        summary_keys=[k for k, _ in SUMMARY_COLUMNS],
        summary_titles=[
            f"{t} @\u03c4={tau}" if k == "impact_score" else t for k, t in SUMMARY_COLUMNS
        ],
        class_keys=[k for k, _ in CLASS_COLUMNS],
        class_titles=[t for _, t in CLASS_COLUMNS],
        how_to_read=_how_to_read(settings),
        methods=list(summary["overall"]),
        has_mask=any("mask" in s["images"] for s in summary["samples"]),
        settings_json=json.dumps(shown, indent=2, default=str),
        image_check=_IMAGE_CHECK,
    )


def write_report(out: Path, result: AuditResult, summary: dict[str, Any]) -> Path:
    """Write the PNGs, ``summary.json`` and ``index.html`` into ``out``; the page's path."""
    out.mkdir(parents=True, exist_ok=True)
    for i, sample in enumerate(summary["samples"]):
        write_sample_images(out, result, i, sample["images"])
    text = json.dumps(summary, indent=2, default=str, allow_nan=False)
    (out / SUMMARY_FILE).write_text(text + "\n", encoding="utf-8")
    page = out / INDEX_FILE
    page.write_text(render_html(summary), encoding="utf-8")
    return page
