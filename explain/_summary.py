"""The audit's numbers: per method, per class and overall, flags and verdicts (summary.json).

Every number is rounded to 3 decimals here, once; the HTML report prints these same values.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gensynth.explain._audit import AuditResult, MethodResult
from gensynth.explain._metrics import mask_fraction, mean_or_none, pointing_tolerance

__all__ = ["SCHEMA", "image_files", "round3", "sample_id", "summarize"]

SCHEMA = "gensynth.explain/1"
IMAGE_DIR = "images"


def round3(value: float | bool | None) -> float | None:
    """A finite number rounded to 3 decimals, else None (JSON null, '–' in the report)."""
    if value is None or not math.isfinite(float(value)):
        return None
    return round(float(value), 3)


def sample_id(position: int) -> str:
    return f"s{position:03d}"


def image_files(position: int, methods: tuple[str, ...], has_mask: bool) -> dict[str, Any]:
    """Relative paths of one sample's PNGs: input, mask outline, and per method heat/critical."""
    stem = f"{IMAGE_DIR}/{sample_id(position)}"
    files: dict[str, Any] = {"input": f"{stem}-input.png"}
    if has_mask:
        files["mask"] = f"{stem}-mask.png"
    for name in methods:
        files[name] = {"heat": f"{stem}-{name}-heat.png", "crit": f"{stem}-{name}-critical.png"}
    return files


def _off_defect(result: AuditResult, method: MethodResult, i: int) -> bool | None:
    """Whether method's explanation of sample ``i`` lies off its defect mask (None: no mask)."""
    if result.masks is None or method.hit[i] is None:
        return None
    threshold = result.config.energy_threshold
    if threshold is None:
        threshold = mask_fraction(result.masks[i])
    return (not method.hit[i]) or bool(method.energy[i] < threshold)


def _sanity_passed(result: AuditResult, method: MethodResult) -> bool | None:
    value = None if method.correlation is None else mean_or_none(method.correlation)
    return None if value is None else value <= result.config.sanity_threshold


def _trusted(result: AuditResult) -> list[str]:
    """Methods whose flags count: those that passed the sanity check (else all)."""
    passed = [n for n, m in result.methods.items() if _sanity_passed(result, m) is not False]
    return passed or list(result.methods)


def _coverage_stats(result: AuditResult, name: str, rows: np.ndarray | None) -> dict[str, Any]:
    cov = result.coverage
    if cov is None or not cov.available:
        return {"coverage": None, "coverage_chance": None, "coverage_flips": 0,
                "coverage_attempts": 0}  # fmt: skip
    keep = np.ones(cov.attempts, bool) if rows is None else rows
    flips = keep & cov.flipped
    return {
        "coverage": round3(mean_or_none(cov.iou[name][flips])),
        "coverage_chance": round3(mean_or_none(cov.chance[flips])),
        "coverage_flips": int(flips.sum()),
        "coverage_attempts": int(keep.sum()),
    }


def _method_numbers(result: AuditResult, name: str, rows: np.ndarray) -> dict[str, Any]:
    method = result.methods[name]
    found = method.critical.found[rows]
    chance = None
    if result.masks is not None:
        chance = mean_or_none(mask_fraction(m) for m in result.masks[rows])
    return {
        "samples": int(rows.sum()),
        "impact_score": round3(mean_or_none(found)),
        "critical_area": round3(mean_or_none(method.critical.area[rows])),
        "mask_energy": round3(mean_or_none(method.energy[rows])),
        "mask_energy_chance": round3(chance),
        "pointing_game": round3(mean_or_none(np.asarray(method.hit, dtype=object)[rows])),
    }


def _random_numbers(result: AuditResult, method: MethodResult) -> dict[str, Any]:
    if method.random_critical is None or method.correlation is None:
        return {"sanity_correlation": None, "sanity_samples": 0, "sanity": "n/a"}
    passed = _sanity_passed(result, method)
    return {
        "sanity_correlation": round3(mean_or_none(method.correlation)),
        "sanity_samples": len(method.correlation),
        "sanity": "n/a" if passed is None else ("pass" if passed else "fail"),
        "random_impact_score": round3(mean_or_none(method.random_critical.found)),
        "random_mask_energy": round3(mean_or_none(method.random_energy)),
        "random_pointing_game": round3(mean_or_none(method.random_hit or [])),
    }


def _verdict(numbers: dict[str, Any], threshold: float) -> tuple[str, list[str]]:
    reasons = []
    if numbers.get("sanity") == "fail":
        reasons.append(
            f"sanity check failed: maps of the randomised model correlate "
            f"{numbers['sanity_correlation']:.3f} > {threshold:.3f} with the trained model's"
        )
    impact, random_impact = numbers.get("impact_score"), numbers.get("random_impact_score")
    if impact is not None and random_impact is not None and impact <= random_impact:
        reasons.append("impact score not above the randomised model's")
    energy, chance = numbers.get("mask_energy"), numbers.get("mask_energy_chance")
    if energy is not None and chance is not None and energy <= chance:
        reasons.append("mask energy share not above chance (the mask's share of the image)")
    return ("flag" if reasons else "pass"), reasons


def _overall(result: AuditResult) -> dict[str, dict[str, Any]]:
    everyone = np.ones(len(result.images), bool)
    table = {}
    for name, method in result.methods.items():
        numbers = _method_numbers(result, name, everyone)
        numbers.update(_coverage_stats(result, name, None))
        numbers.update(_random_numbers(result, method))
        numbers["seconds"] = round3(method.seconds)
        numbers["verdict"], numbers["reasons"] = _verdict(numbers, result.config.sanity_threshold)
        table[name] = numbers
    return table


def _per_class(result: AuditResult) -> dict[str, dict[str, dict[str, Any]]]:
    table: dict[str, dict[str, dict[str, Any]]] = {}
    cov = result.coverage
    for k, class_name in enumerate(result.class_names):
        rows = result.labels == k
        if not rows.any():
            continue
        injected = None
        if cov is not None and cov.available:
            injected = np.array([n == class_name for n in cov.injected], bool)
        table[class_name] = {
            name: {
                **_method_numbers(result, name, rows),
                **_coverage_stats(result, name, injected),
            }
            for name in result.methods
        }
    return table


def _class_name(result: AuditResult, code: int) -> str | None:
    return result.class_names[code] if 0 <= code < len(result.class_names) else None


def _decision(result: AuditResult, i: int) -> tuple[str | None, bool | None]:
    """(predicted name, correct?) of sample ``i``; segmentation says defect or no defect."""
    code = int(result.predicted[i])
    if result.task == "classify":
        return _class_name(result, code), code == int(result.labels[i])
    name = "defect" if code == 1 else "no defect"
    if result.masks is None:
        return name, None
    return name, (code == 1) == bool(result.masks[i].any())


def _sample(result: AuditResult, i: int, trusted: list[str]) -> dict[str, Any]:
    methods, off_votes = {}, 0
    for name, method in result.methods.items():
        off = _off_defect(result, method, i)
        off_votes += bool(off) and name in trusted
        methods[name] = {
            "critical_found": bool(method.critical.found[i]),
            "critical_area": round3(method.critical.area[i]),
            "mask_energy": round3(method.energy[i]),
            "pointing": method.hit[i],
            "off_defect": off,
        }
    label = int(result.labels[i])
    predicted, correct = _decision(result, i)
    reasons = []
    if off_votes and off_votes * 2 >= len(trusted):
        names = [n for n in trusted if methods[n]["off_defect"]]
        reasons.append(f"explanation off the defect ({', '.join(names)})")
    if correct is False:
        reasons.append(f"wrong prediction: {predicted}")
    has_mask = result.masks is not None
    return {
        "id": sample_id(i),
        "test_index": int(result.index[i]),
        "path": result.paths[i],
        "label": _class_name(result, label),
        "predicted": predicted,
        "confidence": round3(result.confidence[i]),
        "correct": correct,
        "mask_area": round3(mask_fraction(result.masks[i])) if has_mask else None,
        "methods": methods,
        "flagged": bool(reasons),
        "reasons": reasons,
        "images": image_files(i, tuple(result.methods), has_mask),
    }


def _settings(result: AuditResult) -> dict[str, Any]:
    config = result.config
    threshold = config.energy_threshold
    return {
        "methods": list(config.methods),
        "samples": len(result.images),
        "samples_asked": config.samples,
        "split": "test",
        "seed": config.seed,
        "tau": config.tau,
        "area_ladder": list(config.ladder),
        "removal_fill": "image mean grey level",
        "energy_threshold": "chance (mask share of the image)" if threshold is None else threshold,
        "pointing_tolerance_px": pointing_tolerance(result.images.shape[-1]),
        "sanity_threshold": config.sanity_threshold,
        "sanity_samples": min(config.sanity_samples, len(result.images)),
        "coverage": _coverage_setting(result),
        "flag_rule": (
            "a sample is flagged when at least half of the methods that passed the sanity "
            "check put its explanation off the defect (pointing-game miss, or mask energy "
            "share below the energy threshold), or when its prediction is wrong"
        ),
        "method_settings": result.settings,
    }


def _coverage_setting(result: AuditResult) -> dict[str, Any]:
    cov = result.coverage
    if cov is None:
        return {"measured": False, "reason": "turned off"}
    if not cov.available:
        return {"measured": False, "reason": cov.reason}
    return {"measured": True, "attempts": cov.attempts, "flips": int(cov.flipped.sum())}


def summarize(
    result: AuditResult,
    *,
    model: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The JSON-ready summary of an audit (``model``/``data``: descriptions to include)."""
    from gensynth import provenance

    trusted = _trusted(result)
    samples = [_sample(result, i, trusted) for i in range(len(result.images))]
    return {
        "schema": SCHEMA,
        "task": result.task,
        "model": model or {},
        "data": data or {},
        "class_names": list(result.class_names),
        "settings": _settings(result),
        "overall": _overall(result),
        "per_class": _per_class(result),
        "flagged": [s["id"] for s in samples if s["flagged"]],
        "samples": samples,
        "gates": [],
        "timings": {k: round3(v) for k, v in result.seconds.items()},
        "provenance": {
            "versions": provenance.versions(),
            "git_sha": provenance.git_sha(),
            "machine": provenance.machine(),
        },
    }
