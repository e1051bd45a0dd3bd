from __future__ import annotations

import pytest

from gensynth.errors import ConfigError
from gensynth.search.study_spec import ExploreOptions, resolve_options


def test_defaults_are_bounded_and_complete():
    spec = resolve_options(ExploreOptions())
    assert spec.task == "classify" and spec.prototype == "residual"
    assert spec.flops == 100_000_000 and spec.tolerance == pytest.approx(0.05)
    assert spec.timeout_s == 1800 and spec.trials > 0
    assert spec.storage.startswith("sqlite:///")
    assert spec.study_name == "classify-100M"
    assert resolve_options(ExploreOptions(task="segment")).prototype == "residual-unet"


def test_flags_override_the_config_file(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("flops: 25M\ntolerance: 10%\ntrials: 7\nutility: {alpha: 1.5}\n")
    merged = ExploreOptions.from_file(path).merged(ExploreOptions(trials=3))
    spec = resolve_options(merged)
    assert spec.flops == 25_000_000 and spec.tolerance == pytest.approx(0.10)
    assert spec.trials == 3
    assert spec.utility.alpha == 1.5 and spec.utility.beta == 0.5


def test_config_with_an_unknown_key_names_it(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("flops: 25M\ntrails: 7\n")
    with pytest.raises(ConfigError) as info:
        ExploreOptions.from_file(path)
    assert "trails: unknown key" in info.value.message
    assert info.value.hint == "did you mean 'trials'?"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"trials": 0}, "--trials"),
        ({"timeout": "5x"}, "--timeout"),
        ({"flops": "abc"}, "--flops"),
        ({"tolerance": "150%"}, "tolerance"),
        ({"latency": "fast"}, "--latency"),
        ({"backend": "onnxruntime-cpu"}, "--backend without --latency"),
        ({"objectives": "accuracy,latency"}, "latency needs a backend"),
        ({"objectives": "speed"}, "unknown objective"),
        ({"objectives": "netscore,macs"}, "already a trade-off"),
        ({"workers": 0}, "--workers"),
    ],
)
def test_bad_options_are_one_clear_error(options, message):
    with pytest.raises(ConfigError) as info:
        resolve_options(ExploreOptions(**options))
    assert message in info.value.message


def test_pareto_objectives_and_identity():
    spec = resolve_options(ExploreOptions(objectives="accuracy,macs"))
    assert spec.directions == ["maximize", "minimize"] and spec.multi_objective
    budget_only = resolve_options(ExploreOptions(objectives="accuracy,macs", trials=99))
    assert budget_only.identity() == spec.identity()
    other = resolve_options(ExploreOptions(objectives="accuracy,macs", flops="25M"))
    assert other.identity() != spec.identity()
