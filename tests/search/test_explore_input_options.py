"""explore's --channels, --resize, --split and --device: parsed once, kept out of the study's
identity (the data fingerprint covers the data), and colour carried to every network."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import optuna
import pytest
from search_builders import tiny_dataset, tiny_spec

from gensynth.errors import ConfigError
from gensynth.exploration import explore
from gensynth.search.study_spec import ExploreOptions, resolve_options
from gensynth.studies.records import Attr


def test_defaults_are_grey_stretched_seeded_and_auto():
    spec = resolve_options(ExploreOptions())
    assert (spec.channels, spec.resize, spec.split, spec.device) == (1, "stretch", None, "auto")


def test_the_options_resolve_and_stay_out_of_the_identity(tmp_path):
    grey = resolve_options(ExploreOptions(data=str(tmp_path)))
    given = ExploreOptions(data=str(tmp_path), channels=3, resize="pad", split="s.csv",
                           device="cpu")  # fmt: skip
    spec = resolve_options(given)
    assert (spec.channels, spec.resize, spec.split, spec.device) == (3, "pad", "s.csv", "cpu")
    assert spec.identity() == grey.identity()  # the data fingerprint tells the data apart
    assert spec.to_dict()["channels"] == 3


def test_a_config_file_sets_them_like_flags(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("channels: 3\nresize: crop\ndevice: cpu\n")
    spec = resolve_options(ExploreOptions.from_file(path))
    assert (spec.channels, spec.resize, spec.device) == (3, "crop", "cpu")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"channels": 2}, r"--channels: expected 1 \(grey\) or 3 \(RGB\), got 2"),
        ({"resize": "zoom"}, "--resize: expected one of stretch, pad, crop, got 'zoom'"),
        ({"device": "tpu"}, "--device: expected one of auto, cpu, cuda, got 'tpu'"),
        ({"split": "s.csv"}, "--split: the synthetic set has its own seeded split"),
    ],
)
def test_bad_values_are_one_line(options, message):
    with pytest.raises(ConfigError, match=message) as info:
        resolve_options(ExploreOptions(**options))
    assert "\n" not in str(info.value)


def _colour(data):
    """The tiny set in colour: the square red, the noise grey."""
    images = np.repeat(data.images[:, None], 3, axis=1)
    images[:, 1:][np.repeat(data.masks[:, None] == 1, 2, axis=1)] = 30
    return dataclasses.replace(data, images=images, fingerprint=data.fingerprint + "-rgb")


@pytest.mark.slow
def test_explore_on_colour_data_builds_every_network_for_three_channels(tmp_path):
    spec = tiny_spec(tmp_path, trials=2, finalists=1, channels=3)
    result = explore(spec, data=_colour(tiny_dataset()), baseline=True)
    trials = optuna.load_study(study_name="tiny", storage=spec.storage).get_trials()
    shapes = {t.user_attrs[Attr.SPEC]["in_channels"] for t in trials if Attr.SPEC in t.user_attrs}
    assert shapes == {3}  # the reference and the generated candidates
    best = tmp_path / "out" / "best"
    metrics = json.loads((best / "metrics.json").read_text())
    assert metrics["preprocessing"]["channels"] == 3
    assert metrics["latency"]["baseline"]["name"] == "resnet50"  # built for 3 channels
    assert result.final is not None and metrics["device"]["type"] in ("cpu", "cuda")


def test_explore_cli_refuses_bad_values_in_one_line(tmp_path):
    import torch
    from typer.testing import CliRunner

    from gensynth.cli.main import app

    storage = f"sqlite:///{tmp_path}/s.db"
    runner = CliRunner()
    result = runner.invoke(app, ["explore", "--channels", "2", "--storage", storage])
    assert result.exit_code == 2 and result.output.count("Error:") == 1
    assert "--channels: expected 1 (grey) or 3 (RGB), got 2" in " ".join(result.output.split())
    if torch.cuda.is_available():
        return
    out = tmp_path / "out"
    result = runner.invoke(app, ["explore", "--device", "cuda", "--storage", storage, "--out",
                                 str(out), "--trials", "1"])  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--device cuda:" in result.output and result.output.count("Error:") == 1
    assert not (tmp_path / "s.db").exists() and not out.exists()  # nothing written
