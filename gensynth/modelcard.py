"""MODEL_CARD.md: the facts of metrics.json for a person, after Hugging Face's model cards.

:func:`render_model_card` is a pure function of the metrics dict. ``modeldir.write_metrics``
writes the card beside metrics.json every time, so the two never disagree. Every figure in
the card is one metrics.json holds (or, for the confidence interval, a formula of them); a
section whose facts are missing says so instead of guessing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["MODEL_CARD_FILE", "render_model_card", "wilson_interval"]

MODEL_CARD_FILE = "MODEL_CARD.md"
_Z95 = 1.959964


def wilson_interval(percent: float, count: int) -> tuple[float, float] | None:
    """The 95% Wilson score interval of a proportion given in percent over ``count`` trials."""
    if count <= 0:
        return None
    p, n, z2 = percent / 100.0, float(count), _Z95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return 100.0 * max(0.0, centre - half), 100.0 * min(1.0, centre + half)


def _num(value: Any, digits: int = 2, unit: str = "") -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        return "–"
    return f"{value:.{digits}f}{unit}"


def _count(value: Any) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "–"
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "K")):
        if value >= size:
            return f"{value / size:.2f}{suffix}"
    return str(int(value))


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |" for row in rows]
    return lines


def _front_matter(m: Mapping[str, Any]) -> list[str]:
    task = m.get("task")
    pipeline = "image-segmentation" if task == "segment" else "image-classification"
    metric = m.get("metric") or ("miou" if task == "segment" else "accuracy")
    return [
        "---",
        "library_name: gensynth",
        f"pipeline_tag: {pipeline}",
        "tags:",
        "- surface-defect-inspection",
        "- onnx",
        f"metrics:\n- {metric}",
        "---",
    ]


def _details(m: Mapping[str, Any]) -> list[str]:
    versions = m.get("versions") or {}
    rows = [
        ("Task", "segmentation (defect mask)" if m.get("task") == "segment" else "classification"),
        ("Architecture", f"`{m.get('spec', '–')}`"),
        ("Spec hash", f"`{m.get('spec_hash', '–')}`"),
        ("Parameters", _count(m.get("params"))),
        ("MACs per image", _count(m.get("macs"))),
        ("Input size", f"{m.get('input_size', '–')} px"),
        ("Weights", str(m.get("weights", "–"))),
        ("Seed", str(m.get("seed", "–"))),
        ("gensynth", str(versions.get("gensynth", "–"))),
        ("Created", str(m.get("created", "–"))),
    ]
    if m.get("git_sha"):
        rows.append(("Git commit", f"`{str(m['git_sha'])[:12]}`"))
    search = m.get("search") or {}
    if search:
        found = (
            f"study {search.get('study')}, trial {search.get('trial')} "
            f"({search.get('origin')}), limits {search.get('limits')}"
        )
        rows.append(("Found by", found))
    return ["## Model details", "", *_table(("", ""), rows)]


def _intended_use(m: Mapping[str, Any]) -> list[str]:
    names = (m.get("data") or {}).get("class_names") or []
    what = (
        "marks defect pixels in an image and calls the image defective or not"
        if m.get("task") == "segment"
        else f"sorts an image into one of {len(names) or 'its'} classes"
    )
    classes = f" ({', '.join(names)})" if names else ""
    return [
        "## Intended use",
        "",
        f"Automated visual inspection of surfaces: the model {what}{classes}. It is meant for "
        "images like its training data (same kind of surface, camera and scale), as an aid "
        "to an inspection line whose decisions are checked by people.",
        "",
        "Out of scope: other surfaces or defect types than those listed, safety-critical "
        "decisions without human review, and images unlike the training data.",
        "",
        "Run it with `gensynth predict MODEL_DIR IMAGES...`: it applies the preprocessing "
        "below, read from `model.onnx`.",
    ]


def _data(m: Mapping[str, Any]) -> list[str]:
    data = m.get("data") or {}
    lines = ["## Training data", ""]
    if not data:
        lines.append("metrics.json records no data section for this model.")
    else:
        lines += [
            f"- Source: `{data.get('source', '–')}` (format {data.get('format', '–')})",
            f"- Fingerprint (files, labels, split, size): `{data.get('fingerprint', '–')}`",
            f"- Images decoded at {data.get('input_size', '–')} px",
        ]
        split = data.get("split_counts") or {}
        if split:
            lines += ["", "Split (images):", ""]
            classes = data.get("class_counts") or {}
            rows = [
                (name, *(str(row.get(s, 0)) for s in ("train", "val", "test")))
                for name, row in classes.items()
            ]
            rows.append(("**all**", *(f"**{split.get(s, 0)}**" for s in ("train", "val", "test"))))
            lines += _table(("class", "train", "val", "test"), rows)
    prep = m.get("preprocessing")
    text = prep.get("description") if isinstance(prep, Mapping) else prep
    lines += ["", f"Preprocessing: {text or 'not recorded'}."]
    return lines


def _classification(test: Mapping[str, Any]) -> list[str]:
    count = int(test.get("count") or 0)
    acc = test.get("accuracy")
    interval = wilson_interval(acc, count) if isinstance(acc, (int, float)) else None
    ci = f" (95% CI {interval[0]:.1f}–{interval[1]:.1f}%, Wilson)" if interval else ""
    lines = [
        f"Test accuracy **{_num(acc, 2, '%')}** on {count} held-out images{ci}; macro F1 "
        f"{_num(test.get('macro_f1'), 2, '%')}.",
        "",
    ]
    rows = [
        (name, _num(r.get("precision"), 1), _num(r.get("recall"), 1), _num(r.get("f1"), 1),
         str(r.get("support", "–")))
        for name, r in (test.get("per_class") or {}).items()
    ]  # fmt: skip
    return lines + _table(("class", "precision %", "recall %", "F1 %", "test images"), rows)


def _segmentation(test: Mapping[str, Any]) -> list[str]:
    count = int(test.get("count") or 0)
    lines = [
        f"Test mIoU **{_num(test.get('miou'), 2, '%')}**, Dice {_num(test.get('dice'), 2, '%')}, "
        f"pixel accuracy {_num(test.get('pixel_accuracy'), 2, '%')} on {count} held-out "
        f"images (pixel threshold {test.get('pixel_threshold', 0.5)}).",
        "",
    ]
    rows: list[Sequence[str]] = [
        (name, _num(r.get("iou"), 1), _num(r.get("dice"), 1), str(r.get("images", "–")))
        for name, r in (test.get("per_class") or {}).items()
    ]
    lines += _table(("class", "IoU %", "Dice %", "test images"), rows)
    decision = test.get("decision") or {}
    points = decision.get("points") or []
    if points:
        lines += [
            "",
            f"Image-level verdict: {decision.get('rule', '')} (area threshold "
            f"{decision.get('area_threshold')}); {decision.get('positives', '–')} defect and "
            f"{decision.get('negatives', '–')} defect-free test images "
            f"({decision.get('negatives_source', '')}).",
            "",
        ]
        used = test.get("pixel_threshold", 0.5)
        rows = []
        for p in points:
            cells = (f"{p.get('threshold'):g}", _num(p.get("precision"), 1),
                     _num(p.get("recall"), 1), _num(p.get("false_alarm"), 1))  # fmt: skip
            rows.append([f"**{c}**" for c in cells] if p.get("threshold") == used else cells)
        lines += _table(("pixel threshold", "precision %", "recall %", "false alarm %"), rows)
        lines += ["", f"`gensynth predict` calls an image defective at pixel threshold {used:g} "
                      "(in bold) with this area threshold."]  # fmt: skip
    return lines


def _evaluation(m: Mapping[str, Any]) -> list[str]:
    test = m.get("test") or {}
    lines = ["## Evaluation (test split, scored once)", ""]
    if not test:
        return [*lines, "metrics.json records no test scores."]
    body = _segmentation(test) if m.get("task") == "segment" else _classification(test)
    val = m.get("val") or {}
    metric = m.get("metric") or "accuracy"
    tail = [""]
    if metric in val:
        tail.append(f"Validation {metric}: {_num(val.get(metric), 2, '%')} "
                    f"(the split that chose the best epoch).")  # fmt: skip
    if m.get("netscore_test") is not None:
        tail.append(f"NetScore on test: {_num(m.get('netscore_test'), 2)}.")
    return lines + body + (tail if len(tail) > 1 else [])


def _latency(m: Mapping[str, Any]) -> list[str]:
    latency = m.get("latency") or {}
    model = latency.get("model") or {}
    lines = ["## Latency", ""]
    if not model:
        return [
            *lines,
            "metrics.json records no latency for this folder (explore records its winner's); "
            "`gensynth bench MODEL_DIR` measures it.",
        ]
    settings = model.get("settings") or {}
    rows = []
    for role in ("model", "reference", "baseline"):
        r = latency.get(role)
        if isinstance(r, Mapping):
            rows.append((f"{role}: {r.get('name', '')}", _num(r.get("median_ms"), 3),
                         _num(r.get("p90_ms"), 3), _num(r.get("images_per_s"), 0)))  # fmt: skip
    lines += _table(("model", "median ms/batch", "p90 ms", "images/s"), rows)
    load = model.get("load") or {}
    lines += [
        "",
        f"Settings: {model.get('backend', '–')}, batch {model.get('batch', '–')}, "
        f"{settings.get('threads', model.get('threads', '–'))} thread(s), spinning "
        f"{settings.get('spinning', '–')}, graph {settings.get('graph_optimization', '–')}, "
        f"on {model.get('device', '–')}; method {latency.get('method', '–')} "
        f"({latency.get('process', '–')} process).",
    ]
    if latency.get("speedup") is not None:
        lines.append(f"Speed-up over the baseline in the same run: "
                     f"{_num(latency.get('speedup'), 1)}×.")  # fmt: skip
    if load.get("flagged"):
        lines.append(f"Measured under load: {'; '.join(load.get('reasons') or [])}.")
    return lines


def _int8(m: Mapping[str, Any]) -> list[str]:
    record = m.get("int8")
    if not isinstance(record, Mapping):
        return []
    calib = record.get("calibration") or {}
    metric = record.get("metric", "")
    rows = [
        ("FP32 (ONNX Runtime)", _num(record.get("fp32"), 2)),
        ("INT8 (`model.int8.onnx`)", _num(record.get("int8"), 2)),
        ("drop (points)", _num(record.get("drop_points"), 2)),
    ]
    return [
        "## INT8",
        "",
        *_table(("model", f"test {metric} %"), rows),
        "",
        f"Verdict: {record.get('verdict', '–')} (threshold {record.get('max_drop_points', '–')} "
        f"points, {record.get('test_count', '–')} test images). Calibrated on "
        f"{calib.get('images', '–')} {calib.get('split', 'train')} images; "
        f"{(record.get('quantization') or {}).get('description', '')}.",
    ]


def _audit(m: Mapping[str, Any]) -> list[str]:
    audit = m.get("explanation") or m.get("audit")
    lines = ["## Explanation audit", ""]
    if not isinstance(audit, Mapping):
        return [*lines, "No audit recorded: run `gensynth explain MODEL_DIR --out REPORT`."]
    rows = [(str(k), str(v)) for k, v in audit.items() if isinstance(v, (str, int, float, bool))]
    return lines + (_table(("", ""), rows) if rows else ["Recorded, with no summary figures."])


def _limits(m: Mapping[str, Any]) -> list[str]:
    data = m.get("data") or {}
    test = m.get("test") or {}
    items = []
    count = test.get("count")
    if isinstance(count, int):
        items.append(f"The test split holds {count} images: one image moves the score by "
                     f"{100 / max(count, 1):.2f} points.")  # fmt: skip
    if str(data.get("source", "")) == "synthetic":
        items.append("Trained and tested on gensynth's synthetic images: scores say nothing "
                     "about real surfaces.")  # fmt: skip
    prep = m.get("preprocessing")
    if isinstance(prep, str) or (isinstance(prep, Mapping) and prep.get("channels") == 1):
        items.append("Images are converted to grayscale: defects seen only in colour are lost.")
    if m.get("stopped_early"):
        items.append(f"Training stopped early: {m.get('stop_reason')}.")
    if m.get("note"):
        items.append(str(m["note"]))
    items.append("Scores come from a split of the same source as the training images; a new "
                 "camera, lighting or product needs its own test set.")  # fmt: skip
    return ["## Limitations", "", *(f"- {item}" for item in items)]


def render_model_card(metrics: Mapping[str, Any]) -> str:
    """MODEL_CARD.md for a model folder, from its metrics.json (classification or
    segmentation, from ``train`` or ``explore``)."""
    title = f"# Model card: {metrics.get('spec', 'gensynth model')}"
    parts = [
        _front_matter(metrics),
        [title, "", "Written by gensynth from `metrics.json` (the same facts, machine-readable)."],
        _details(metrics),
        _intended_use(metrics),
        _data(metrics),
        _evaluation(metrics),
        _latency(metrics),
        _int8(metrics),
        _audit(metrics),
        _limits(metrics),
    ]
    return "\n\n".join("\n".join(p) for p in parts if p) + "\n"
