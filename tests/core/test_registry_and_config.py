from __future__ import annotations

import dataclasses
from typing import Literal

import pytest

from gensynth.config import dump_yaml, from_dict, load_yaml, to_dict
from gensynth.errors import ConfigError
from gensynth.registry import Registry


def test_registry_unknown_name_lists_valid_and_closest():
    reg: Registry[int] = Registry("backend")
    reg.add("onnxruntime-cpu", 1)
    reg.add("torch-cpu", 2)
    assert reg.get("torch-cpu") == 2
    with pytest.raises(ConfigError) as info:
        reg.get("onnxruntime-cp")
    assert "onnxruntime-cpu, torch-cpu" in info.value.message
    assert info.value.hint == "did you mean 'onnxruntime-cpu'?"
    with pytest.raises(ValueError, match="twice"):
        reg.add("torch-cpu", 3)
    assert reg.names() == ["onnxruntime-cpu", "torch-cpu"]


@dataclasses.dataclass(frozen=True)
class Stage:
    width: int
    block: Literal["basic", "bottleneck"] = "basic"

    def validate(self, path: str) -> None:
        if self.width <= 0:
            raise ConfigError(f"{path}.width: expected a positive integer, got {self.width}")


@dataclasses.dataclass(frozen=True)
class Net:
    stages: tuple[Stage, ...]
    dropout: float = 0.0
    name: str | None = None


def test_from_dict_round_trip():
    net = Net(stages=(Stage(16), Stage(32, "bottleneck")), dropout=0.1)
    assert from_dict(Net, to_dict(net)) == net
    assert to_dict(net)["stages"][1] == {"width": 32, "block": "bottleneck"}


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"stages": [{"width": 16, "widht": 3}]}, "stages[0].widht: unknown key"),
        ({"stages": [{"width": "wide"}]}, "stages[0].width: expected int"),
        ({"stages": [{"width": 16}, {"width": -3}]}, "stages[1].width: expected a positive"),
        ({"stages": [{"width": 16, "block": "huge"}]}, "stages[0].block: expected one of"),
        ({"stages": [{"width": True}]}, "stages[0].width: expected int"),
        ({}, "stages: required key is missing"),
        ({"stages": 3}, "stages: expected a list"),
    ],
)
def test_from_dict_names_the_field_path(data, path):
    with pytest.raises(ConfigError) as info:
        from_dict(Net, data)
    assert path in info.value.message


def test_unknown_key_suggests_closest():
    with pytest.raises(ConfigError) as info:
        from_dict(Net, {"stages": [], "dropuot": 0.2})
    assert info.value.hint == "did you mean 'dropout'?"


def test_load_yaml_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_yaml(tmp_path / "missing.yaml", what="spec file")
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\nb: 3\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(bad)
    good = tmp_path / "good.yaml"
    good.write_text(dump_yaml({"a": [1, 2]}))
    assert load_yaml(good) == {"a": [1, 2]}
