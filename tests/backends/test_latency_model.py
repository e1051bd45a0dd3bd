"""The fitted latency cost model: the fit recovers known rates, predictions add up, bad input."""

from __future__ import annotations

import json

import pytest

from gensynth import provenance
from gensynth.backends import (
    BlockRate,
    LatencyModel,
    fit_latency_model,
    load_latency_model,
    predict_latency_ms,
    width_alignment,
)
from gensynth.errors import ConfigError
from gensynth.prototypes import ResidualSpec, StageSpec, StemSpec, reference_spec


def _model(**overrides) -> LatencyModel:
    rates = (
        BlockRate("basic", False, 100, "x8", 20.0),
        BlockRate("basic", False, 25, "x8", 40.0),
        BlockRate("basic", False, 25, "other", 10.0),
        BlockRate("inverted", True, 25, "x8", 5.0),
    )
    fields = dict(
        backend="onnxruntime-cpu",
        batch=1,
        threads=2,
        overhead_ms=0.1,
        stem_rates=((100, 2.0),),
        rates=rates,
        machine=provenance.machine_id(),
    )
    return LatencyModel(**{**fields, **overrides})


def _spec(block: str = "basic", width: int = 16, se: bool = False) -> ResidualSpec:
    stages = (
        StageSpec("basic", 16, 1, 1),
        StageSpec(block, width, 2, 2, 3, 4.0 if block == "inverted" else 1.0, se),
    )
    return ResidualSpec(1, 200, 6, StemSpec(16, 3, 2, False), stages)


@pytest.mark.parametrize(("width", "expected"), [(64, "x8"), (60, "x4"), (62, "other"), (8, "x8")])
def test_width_alignment(width, expected):
    assert width_alignment(width) == expected


def test_prediction_is_overhead_plus_each_section_at_its_rate():
    spec = _spec()
    ops = spec.analytic_costs().sections
    # The stem ends at 100 px; stage0 stays at 100 px; stage1 is at 50 px: between the
    # 100 px and 25 px measurements, halfway in log resolution.
    between = 1 / (0.5 / 20.0 + 0.5 / 40.0)
    expected = 0.1 + (ops["stem"] / 2.0 + ops["stage0"] / 20.0 + ops["stage1"] / between) / 1e6
    assert _model().predict_ms(spec) == pytest.approx(expected)
    assert predict_latency_ms(spec, threads=2, model=_model()) == pytest.approx(expected)
    assert set(_model().sections_ms(spec)) == {"stem", "stage0", "stage1"}


def test_rates_clamp_outside_the_measured_sides_and_fall_back_to_another_alignment():
    model = _model()
    assert (
        model.rate("basic", False, 400, 16) == 20.0 and model.rate("basic", False, 7, 16) == 40.0
    )
    assert model.rate("basic", False, 25, 62) == 10.0  # misaligned, measured
    assert model.rate("inverted", True, 25, 62) == 5.0  # misaligned, only x8 measured


def test_a_misaligned_or_squeeze_excited_stage_is_predicted_slower():
    model = _model()
    assert model.predict_ms(_spec(width=30)) > model.predict_ms(_spec(width=32))
    assert model.predict_ms(_spec("inverted", 32, se=True)) > model.predict_ms(_spec(width=32))


def _row(block, se, side, width, rate, stem_rate, overhead, stem_ops=1e6, ops=(2e6, 6e6)):
    t = [overhead + (stem_ops / stem_rate + o / rate) / 1e6 for o in ops]
    return {"block": block, "se": se, "resolution": side, "width": width,
            "stem_ops": stem_ops, "stage_ops": list(ops), "median_ms": t}  # fmt: skip


def test_the_fit_recovers_known_rates():
    rows = [
        _row("basic", False, 100, 16, 20.0, 2.0, 0.1),
        _row("basic", False, 25, 64, 40.0, 3.0, 0.1),
        _row("inverted", True, 25, 62, 5.0, 3.0, 0.1),
        _row("light", False, 25, 64, 30.0, 3.0, 0.1, ops=(2e6, 2e6)),  # no difference: left out
    ]
    model = fit_latency_model(rows, 0.1, backend="onnxruntime-cpu", batch=1, threads=2)
    assert model.rate("basic", False, 100, 16) == pytest.approx(20.0)
    assert model.rate("inverted", True, 25, 62) == pytest.approx(5.0)
    assert dict(model.stem_rates) == pytest.approx({100: 2.0, 25: 3.0})
    assert not any(rate.block == "light" for rate in model.rates)
    with pytest.raises(ConfigError, match="expected a measured block, got 'light'"):
        model.rate("light", False, 25, 64)


def test_a_fit_without_usable_rows_is_an_error():
    rows = [_row("basic", False, 100, 16, 20.0, 2.0, 0.1, ops=(2e6, 2e6))]
    with pytest.raises(ConfigError, match="deeper nets are slower"):
        fit_latency_model(rows, 0.1, backend="onnxruntime-cpu", batch=1, threads=2)


def test_only_residual_specs_are_predicted():
    with pytest.raises(
        ConfigError, match="expected a residual spec, got prototype 'residual-unet'"
    ):
        _model().predict_ms(reference_spec("anet"))


def test_model_files_round_trip_and_are_chosen_by_settings_and_machine(tmp_path, monkeypatch):
    path = tmp_path / "model.json"
    other = _model(threads=1, overhead_ms=9.0)
    path.write_text(json.dumps({"models": [other.to_dict(), _model().to_dict()]}))
    assert load_latency_model(path, threads=2) == _model()
    assert load_latency_model(path, threads=1) == other
    monkeypatch.setenv("GENSYNTH_LATENCY_MODEL", str(path))
    assert predict_latency_ms(_spec(), threads=2) == pytest.approx(_model().predict_ms(_spec()))
    with pytest.raises(ConfigError, match="expected a fit for onnxruntime-cpu b64 t2"):
        load_latency_model(path, batch=64, threads=2)
    monkeypatch.setattr(provenance, "machine_id", lambda: "Another CPU|64")
    with pytest.raises(ConfigError, match="Another CPU"):
        load_latency_model(path, threads=2)


def test_a_missing_model_file_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigError, match="expected a fitted model file") as info:
        load_latency_model(tmp_path / "none.json")
    assert "block_throughput.py" in str(info.value.hint)


def test_a_model_for_other_settings_is_refused():
    with pytest.raises(ConfigError, match="expected onnxruntime-cpu b64"):
        predict_latency_ms(_spec(), batch=64, model=_model())


def test_a_stem_lost_in_the_noise_is_priced_as_a_basic_convolution():
    # Nothing is left for the stem after the overhead and the block: no stem rate is fitted.
    rows = [_row("basic", False, 100, 16, 20.0, 1e12, 0.1, stem_ops=1.0)]
    model = fit_latency_model(rows, 0.5, backend="onnxruntime-cpu", batch=1, threads=2)
    assert model.stem_rates == ()
    assert model.stem_rate(100, 16) == pytest.approx(model.rate("basic", False, 100, 16))
