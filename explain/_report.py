"""The static audit report: ``index.html`` (inline CSS, no network), PNGs, ``summary.json``.

Every text that comes from outside (class names from folder names, file paths, model path)
is HTML-escaped; numbers are printed from the summary's own rounded values, so the page and
``summary.json`` always agree. A tiny inline script marks ``<body data-images=...>`` with
``ok:N`` or ``missing:K`` once the page has loaded, and shows a warning if an image is missing.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

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


def esc(text: Any) -> str:
    """HTML-escape any value, quotes included (safe in text and attribute values)."""
    return html.escape(str(text), quote=True)


def fmt(value: Any) -> str:
    """A summary number as printed in the report: 3 decimals, or a dash when missing."""
    return DASH if value is None else f"{float(value):.3f}"


def _cell(value: Any, scope: str, method: str, metric: str, cls: str | None = None) -> str:
    where = f' data-class="{esc(cls)}"' if cls is not None else ""
    return (
        f'<td data-scope="{scope}"{where} data-method="{esc(method)}" '
        f'data-metric="{esc(metric)}">{fmt(value)}</td>'
    )


def _css() -> str:
    return resources.files("gensynth.explain").joinpath("report.css").read_text("utf-8")


def _header(summary: dict[str, Any]) -> str:
    model, data, settings = summary["model"], summary["data"], summary["settings"]
    title = f"Explanation audit: {model.get('name', 'model')}"
    lines = [
        f"<h1>{esc(title)}</h1>",
        f'<p class="meta">{esc(summary["task"])} model <code>{esc(model.get("spec", ""))}</code>'
        f" \u00b7 data {esc(data.get('source', ''))} ({esc(data.get('format', ''))})"
        f" \u00b7 {settings['samples']} samples from the test split, seed {settings['seed']}"
        f" \u00b7 \u03c4 = {settings['tau']:g}</p>",
        '<p id="image-check" class="warn" hidden>Some images did not load: keep the '
        "<code>images</code> folder next to <code>index.html</code>.</p>",
    ]
    for warning in data.get("warnings", []):
        lines.append(f'<p class="warn">{esc(warning)}</p>')
    return "\n".join(lines)


def _verdicts(summary: dict[str, Any]) -> str:
    items = []
    for method, numbers in summary["overall"].items():
        verdict = numbers["verdict"]
        why = "; ".join(numbers["reasons"]) or "sanity check passed, scores above the baselines"
        items.append(
            f'<li><b>{esc(method)}</b>: <span class="{esc(verdict)}" data-method="{esc(method)}"'
            f' data-verdict="{esc(verdict)}">{esc(verdict)}</span> \u2013 {esc(why)}</li>'
        )
    flagged = len(summary["flagged"])
    items.append(
        f"<li><b>{flagged}</b> of {len(summary['samples'])} samples flagged for a human "
        '(<a href="#flagged">see below</a>).</li>'
    )
    for gate in summary["gates"]:
        state = "pass" if gate["passed"] else "fail"
        text = f"gate {gate['gate']} on {gate['method']}: {state}"
        if gate["reason"]:
            text += f" ({gate['reason']})"
        items.append(f'<li class="{state}">{esc(text)}</li>')
    return '<h2 id="verdict">At a glance</h2>\n<ul class="verdicts">' + "".join(items) + "</ul>"


def _summary_table(summary: dict[str, Any]) -> str:
    tau = summary["settings"]["tau"]
    titles = [f"{t} @\u03c4={tau:g}" if k == "impact_score" else t for k, t in SUMMARY_COLUMNS]
    head = "".join(f"<th>{esc(title)}</th>" for title in titles)
    rows = []
    for method, numbers in summary["overall"].items():
        cells = "".join(_cell(numbers.get(k), "overall", method, k) for k, _ in SUMMARY_COLUMNS)
        flips = f"{numbers['coverage_flips']}/{numbers['coverage_attempts']}"
        rows.append(
            f'<tr><td class="name">{esc(method)}</td>{cells}<td>{esc(flips)}</td>'
            f'<td class="name {esc(numbers["verdict"])}">{esc(numbers["verdict"])}</td></tr>'
        )
    return (
        '<h2 id="summary">Summary</h2>\n<table class="metrics"><thead><tr>'
        f'<th class="name">Method</th>{head}<th>Flips</th><th class="name">Verdict</th>'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _class_table(summary: dict[str, Any]) -> str:
    head = "".join(f"<th>{esc(title)}</th>" for _, title in CLASS_COLUMNS)
    rows = []
    for cls, methods in summary["per_class"].items():
        for method, numbers in methods.items():
            cells = "".join(
                _cell(numbers.get(k), "class", method, k, cls) for k, _ in CLASS_COLUMNS
            )
            rows.append(
                f'<tr><td class="name">{esc(cls)}</td><td class="name">{esc(method)}</td>'
                f"<td>{numbers['samples']}</td>{cells}</tr>"
            )
    return (
        '<h2 id="per-class">Per class</h2>\n<table class="metrics"><thead><tr>'
        f'<th class="name">Class</th><th class="name">Method</th><th>Samples</th>{head}'
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


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


def _how_to_read(summary: dict[str, Any]) -> str:
    settings = summary["settings"]
    values = {
        "tau": f"{settings['tau']:g}",
        "tolerance": settings["pointing_tolerance_px"],
        "ladder": ", ".join(f"{a:.1%}" for a in settings["area_ladder"]),
        "sanity": f"{settings['sanity_threshold']:g}",
    }
    body = "".join(
        f"<dt>{esc(term)}</dt><dd>{esc(text.format(**values))}</dd>" for term, text in HOW_TO_READ
    )
    return f'<h2 id="how-to-read">How to read this report</h2>\n<dl class="read">{body}</dl>'


def _img(src: str, alt: str) -> str:
    return f'<a href="{esc(src)}"><img src="{esc(src)}" alt="{esc(alt)}" loading="eager"></a>'


def _sample_info(sample: dict[str, Any]) -> str:
    bits = [f"<b>{esc(sample['id'])}</b> {esc(sample['path'])}", f"label: {esc(sample['label'])}"]
    verdict = "" if sample["correct"] is not False else ' <span class="fail">wrong</span>'
    bits.append(f"predicted: {esc(sample['predicted'])} ({fmt(sample['confidence'])}){verdict}")
    if sample["mask_area"] is not None:
        bits.append(f"defect area: {fmt(sample['mask_area'])}")
    bits += [f'<span class="flag">{esc(r)}</span>' for r in sample["reasons"]]
    return "<br>".join(bits)


def _method_caption(numbers: dict[str, Any]) -> str:
    area = (
        "no impact" if not numbers["critical_found"] else f"area {fmt(numbers['critical_area'])}"
    )
    text = [area]
    if numbers["mask_energy"] is not None:
        text.append(f"energy {fmt(numbers['mask_energy'])}")
    if numbers["pointing"] is not None:
        text.append("hit" if numbers["pointing"] else "miss")
    return esc(" \u00b7 ".join(text))


def _grid_row(sample: dict[str, Any], methods: list[str]) -> str:
    files = sample["images"]
    cells = [
        f'<td class="info">{_sample_info(sample)}</td>',
        f"<td>{_img(files['input'], 'input')}</td>",
    ]
    if "mask" in files:
        cells.append(f"<td>{_img(files['mask'], 'defect mask')}</td>")
    for name in methods:
        caption = _method_caption(sample["methods"][name])
        cells.append(f"<td>{_img(files[name]['heat'], name + ' heat map')}</td>")
        cells.append(
            f"<td>{_img(files[name]['crit'], name + ' critical region')}"
            f'<div class="cap">{caption}</div></td>'
        )
    return f'<tr id="{esc(sample["id"])}">{"".join(cells)}</tr>'


def _grids(summary: dict[str, Any]) -> str:
    methods = list(summary["overall"])
    has_mask = any("mask" in s["images"] for s in summary["samples"])
    head = ["Sample", "Input"] + (["Defect mask"] if has_mask else [])
    for name in methods:
        head += [f"{name}: heat map", f"{name}: critical region"]
    header = "".join(f"<th>{esc(h)}</th>" for h in head)
    parts = ['<h2 id="grids">Samples by class</h2>', _legend()]
    for cls in summary["class_names"]:
        rows = [_grid_row(s, methods) for s in summary["samples"] if s["label"] == cls]
        if rows:
            parts.append(
                f'<h3>{esc(cls)} ({len(rows)})</h3>\n<table class="grid"><thead><tr>{header}'
                f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            )
    return "\n".join(parts)


def _legend() -> str:
    return (
        '<p class="legend note">Colours: <span style="background:#00e6ff"></span>defect mask'
        '<span style="background:#ff2828"></span>critical region with impact'
        '<span style="background:#ffaa00"></span>largest region tried, no impact. '
        "Click an image for full size.</p>"
    )


def _flagged(summary: dict[str, Any]) -> str:
    chosen = [s for s in summary["samples"] if s["flagged"]]
    title = f'<h2 id="flagged">Samples flagged for a human ({len(chosen)})</h2>'
    if not chosen:
        return title + '<p class="note">No sample was flagged.</p>'
    cards = []
    for sample in chosen:
        files = sample["images"]
        figures = [("input", files["input"])] + (
            [("defect", files["mask"])] if "mask" in files else []
        )
        figures += [(name, files[name]["heat"]) for name in summary["overall"]]
        row = "".join(
            f"<figure>{_img(src, label)}<figcaption>{esc(label)}</figcaption></figure>"
            for label, src in figures
        )
        cards.append(
            f'<div class="card" data-sample="{esc(sample["id"])}"><div class="note">'
            f'{_sample_info(sample)}</div><div class="row">{row}</div></div>'
        )
    return title + f'\n<div class="cards">{"".join(cards)}</div>'


def _settings(summary: dict[str, Any]) -> str:
    shown = {
        "settings": summary["settings"],
        "model": summary["model"],
        "data": summary["data"],
        "timings_seconds": summary["timings"],
        "provenance": summary["provenance"],
    }
    text = json.dumps(shown, indent=2, default=str)
    return (
        '<h2 id="settings">Settings and provenance</h2>\n<p class="note">The same numbers are '
        'in <a href="summary.json">summary.json</a>.</p>'
        f"<pre>{esc(text)}</pre>"
    )


def render_html(summary: dict[str, Any]) -> str:
    """The whole page as a string (no network, inline CSS, one tiny inline script)."""
    sections: Iterable[str] = (
        _header(summary),
        _verdicts(summary),
        _summary_table(summary),
        _how_to_read(summary),
        _class_table(summary),
        _flagged(summary),
        _grids(summary),
        _settings(summary),
    )
    title = esc(f"Explanation audit: {summary['model'].get('name', 'model')}")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>\n{_css()}</style></head>\n"
        '<body data-images="pending">\n'
        + "\n".join(sections)
        + "\n"
        + _IMAGE_CHECK
        + "\n</body></html>\n"
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
