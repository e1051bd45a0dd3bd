"""gensynth.explain: explainers, critical factors, impact metrics, the HTML audit report.

- :class:`Subject` wraps a model under audit (its decision, confidence, Grad-CAM layer);
  segmentation models are explained through the mean defect logit of their predicted region.
- Explainers (registry :data:`EXPLAINERS`): ``gradcam``, ``ig``, ``occlusion`` (captum) and
  ``critical`` (a GSInquire-style greedy search); :func:`make_explainer` builds one.
- :func:`critical_factors` finds each map's smallest region whose removal has impact at tau;
  :func:`removal_impact` tests given regions.
- :func:`run_audit` explains test samples, runs the randomised-weights sanity check and
  impact coverage; :func:`summarize` turns that into numbers; :func:`write_report` writes
  ``index.html``, ``summary.json`` and the PNGs; :func:`parse_gate`/:func:`evaluate_gates`
  implement ``--fail-under``.

Importing this package imports torch and captum; the CLI imports it inside the command.
"""

from __future__ import annotations

from gensynth.explain._audit import (
    DEFAULT_METHODS,
    AuditConfig,
    AuditResult,
    MethodResult,
    run_audit,
    select_samples,
)
from gensynth.explain._base import (
    EXPLAINERS,
    Explainer,
    attribute_batched,
    list_explainers,
    make_explainer,
)
from gensynth.explain._coverage import Coverage, injectable, run_coverage
from gensynth.explain._critical import (
    DEFAULT_LADDER,
    CriticalExplainer,
    CriticalFactors,
    critical_factors,
    patch_masks,
    removal_impact,
    remove_regions,
)
from gensynth.explain._explainers import (
    GradCam,
    IntegratedGradientsExplainer,
    OcclusionExplainer,
    occlusion_window,
)
from gensynth.explain._gates import GATE_METRICS, Gate, evaluate_gates, parse_gate
from gensynth.explain._metrics import (
    chance_iou,
    coverage_iou,
    energy_share,
    iou,
    mask_fraction,
    mean_or_none,
    pointing_hit,
    pointing_tolerance,
    rank_correlation,
    top_n_mask,
)
from gensynth.explain._plan import AuditPlan, open_audit, parse_methods
from gensynth.explain._report import INDEX_FILE, SUMMARY_FILE, render_html, write_report
from gensynth.explain._subject import Prediction, Subject, find_cam_layer, randomized_copy
from gensynth.explain._summary import SCHEMA, summarize

__all__ = [
    "DEFAULT_LADDER",
    "DEFAULT_METHODS",
    "EXPLAINERS",
    "GATE_METRICS",
    "INDEX_FILE",
    "SCHEMA",
    "SUMMARY_FILE",
    "AuditConfig",
    "AuditPlan",
    "AuditResult",
    "Coverage",
    "CriticalExplainer",
    "CriticalFactors",
    "Explainer",
    "Gate",
    "GradCam",
    "IntegratedGradientsExplainer",
    "MethodResult",
    "OcclusionExplainer",
    "Prediction",
    "Subject",
    "attribute_batched",
    "chance_iou",
    "coverage_iou",
    "critical_factors",
    "energy_share",
    "evaluate_gates",
    "find_cam_layer",
    "injectable",
    "iou",
    "list_explainers",
    "make_explainer",
    "mask_fraction",
    "mean_or_none",
    "occlusion_window",
    "open_audit",
    "parse_gate",
    "parse_methods",
    "patch_masks",
    "pointing_hit",
    "pointing_tolerance",
    "randomized_copy",
    "rank_correlation",
    "removal_impact",
    "remove_regions",
    "render_html",
    "run_audit",
    "run_coverage",
    "select_samples",
    "summarize",
    "top_n_mask",
    "write_report",
]
