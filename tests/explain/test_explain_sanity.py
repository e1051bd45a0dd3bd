"""The randomised-weights sanity check: the twin model, the correlation and the flag logic."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from explain_helpers import tiny_spec

from gensynth.explain import (
    AuditConfig,
    AuditResult,
    CriticalFactors,
    MethodResult,
    randomized_copy,
    summarize,
)


def test_randomized_copy_changes_every_parameter_and_keeps_the_original():
    model = tiny_spec().build()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.fill_(0.3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    twin = randomized_copy(model, seed=1)
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), f"original changed at {name}"
    changed = [
        name
        for name, param in twin.named_parameters()
        if not torch.equal(param, dict(model.named_parameters())[name])
    ]
    weights = [n for n, p in model.named_parameters() if p.dim() > 1]
    assert set(weights) <= set(changed)
    means = [m.running_mean for m in twin.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(torch.equal(m, torch.zeros_like(m)) for m in means)
    again = randomized_copy(model, seed=1)
    assert all(
        torch.equal(a, b) for a, b in zip(twin.parameters(), again.parameters(), strict=True)
    )


def _result(correlations: dict[str, list[float]]) -> AuditResult:
    """A hand-made audit of 2 samples whose only varying part is the sanity correlation."""
    n, size = 2, 8
    masks = np.zeros((n, size, size), np.uint8)
    masks[:, 2:6, 2:6] = 1
    maps = masks.astype(np.float32)
    found = CriticalFactors(np.ones(n, bool), np.full(n, 0.1), masks > 0, np.zeros(n))
    none = CriticalFactors(np.zeros(n, bool), np.full(n, np.nan), masks > 0, np.ones(n))
    methods = {
        name: MethodResult(
            maps=maps,
            critical=found,
            energy=np.ones(n),
            hit=[True] * n,
            random_critical=none,
            random_energy=np.full(n, 0.2),
            random_hit=[False] * n,
            correlation=np.array(values),
        )
        for name, values in correlations.items()
    }
    return AuditResult(
        config=AuditConfig(methods=tuple(correlations), samples=n, sanity_threshold=0.5),
        task="classify",
        class_names=("ok", "defect"),
        index=np.arange(n),
        images=np.zeros((n, size, size), np.uint8),
        masks=masks,
        labels=np.ones(n, np.int64),
        paths=("a.png", "b.png"),
        predicted=np.ones(n, np.int64),
        confidence=np.full(n, 0.9),
        methods=methods,
        coverage=None,
        settings={},
        seconds={},
    )


def test_a_method_whose_maps_survive_randomisation_fails_the_sanity_check():
    summary = summarize(_result({"gradcam": [0.9, 0.8], "ig": [0.1, 0.2]}))
    gradcam, ig = summary["overall"]["gradcam"], summary["overall"]["ig"]
    assert gradcam["sanity_correlation"] == pytest.approx(0.85)
    assert gradcam["sanity"] == "fail" and gradcam["verdict"] == "flag"
    assert any("sanity check failed" in r for r in gradcam["reasons"])
    assert ig["sanity_correlation"] == pytest.approx(0.15)
    assert ig["sanity"] == "pass" and ig["verdict"] == "pass", ig["reasons"]
    assert ig["random_impact_score"] == 0.0 and ig["random_mask_energy"] == 0.2


def test_the_threshold_is_inclusive_and_stated():
    summary = summarize(_result({"occlusion": [0.5, 0.5]}))
    assert summary["overall"]["occlusion"]["sanity"] == "pass"
    assert summary["settings"]["sanity_threshold"] == 0.5


def test_trained_and_random_attributions_differ_on_a_trained_model(model_dir, toy_root):
    from gensynth.data import load_dataset
    from gensynth.explain import Subject, run_audit
    from gensynth.modeldir import load_model_dir

    loaded = load_model_dir(model_dir)
    data = load_dataset(toy_root, task="classify", input_size=32)
    config = AuditConfig(methods=("gradcam", "ig"), samples=6, sanity_samples=6, coverage=False)
    result = run_audit(Subject(loaded.model, "classify", 32), data, config)
    for name, method in result.methods.items():
        assert method.correlation is not None and len(method.correlation) == 6
        assert np.nanmean(method.correlation) < 0.9, name
        assert not np.allclose(method.maps[:6], 0)
