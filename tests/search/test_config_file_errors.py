"""Errors about options name where the value came from: the flag, or the config file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gensynth.errors import ConfigError
from gensynth.search.study_spec import ExploreOptions, resolve_options


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("flops: abc\n", "study.yaml: flops: expected a positive number"),
        ("trials: 0\n", "study.yaml: trials: expected a positive integer"),
        ("input_size: 3\n", "study.yaml: input_size: expected an image side from 32"),
        ("timeout: 0\n", "study.yaml: timeout: expected a positive duration"),
        ("objectives: foo\n", "study.yaml: objectives: unknown objective"),
        ("flopz: 1M\n", "study.yaml: flopz: unknown key"),
        ("- 1\n- 2\n", "study.yaml: expected a mapping of keys to values"),
    ],
)
def test_a_bad_value_in_a_config_file_names_the_file_and_key(tmp_path, text, message):
    path = _config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        resolve_options(ExploreOptions.from_file(path).merged(ExploreOptions()))
    assert caught.value.message.startswith(str(path.parent / message))


def test_a_flag_that_overrides_the_file_is_named_as_the_flag(tmp_path):
    base = ExploreOptions.from_file(_config(tmp_path, "flops: 100M\ntrials: 3\n"))
    with pytest.raises(ConfigError, match=r"^--trials: expected a positive integer"):
        resolve_options(base.merged(ExploreOptions(trials=0)))
    assert resolve_options(base.merged(ExploreOptions(trials=5))).trials == 5


def test_an_empty_config_file_is_an_error_naming_it(tmp_path):
    path = _config(tmp_path, "# nothing yet\n")
    with pytest.raises(ConfigError, match="is empty") as caught:
        ExploreOptions.from_file(path)
    assert str(path) in caught.value.message


@pytest.mark.parametrize(("raw", "seconds"), [("off", None), ("none", None), ("90s", 90.0)])
def test_timeout_off_means_no_limit(raw, seconds):
    assert resolve_options(ExploreOptions(timeout=raw)).timeout_s == seconds


@pytest.mark.parametrize("raw", ["0", 0, "0s", "-5m"])
def test_a_zero_timeout_is_refused_like_a_zero_latency(raw):
    with pytest.raises(ConfigError, match="or 'off' for no limit"):
        resolve_options(ExploreOptions(timeout=raw))
    with pytest.raises(ConfigError, match="--latency: expected a positive duration"):
        resolve_options(ExploreOptions(latency="0ms"))


def test_skip_bad_is_recorded_in_the_spec():
    assert resolve_options(ExploreOptions(skip_bad=True)).skip_bad is True
    assert resolve_options(ExploreOptions()).skip_bad is False
