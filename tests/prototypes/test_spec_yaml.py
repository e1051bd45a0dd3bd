"""Specs: YAML round trip, stable hash, compact description, and validation by field path."""

from __future__ import annotations

import copy

import pytest
import yaml
from proto_cases import PROTOTYPE_NAMES, SMALL, default

from gensynth.errors import ConfigError
from gensynth.prototypes import (
    SPEC_TYPES,
    ResidualSpec,
    StageSpec,
    StemSpec,
    dump_spec,
    get_prototype,
    load_spec,
    spec_from_dict,
)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_yaml_round_trip_is_exact(name, tmp_path):
    spec = SMALL[name]
    again = spec_from_dict(yaml.safe_load(spec.to_yaml()))
    assert again == spec
    assert type(again) is type(spec)
    assert again.spec_hash == spec.spec_hash
    dump_spec(spec, tmp_path / "spec.yaml")
    assert load_spec(tmp_path / "spec.yaml") == spec


@pytest.mark.parametrize("name", PROTOTYPE_NAMES)
def test_registry_knows_every_prototype_spec(name):
    proto = get_prototype(name)
    assert SPEC_TYPES.get(name) is proto.spec_type
    spec = proto.default_spec()
    assert spec.prototype == name and spec.task == proto.task


def test_hash_is_stable_and_sensitive():
    spec = ResidualSpec(
        stem=StemSpec(16, 3, 2, False),
        stages=(StageSpec("basic", 32, 1, 2, 3, 1.0, False), StageSpec("light", 64, 2, 2)),
    )
    # A golden value: the hash is the cache key of costs, latency and trained runs.
    assert spec.spec_hash == "edb211866f80"
    assert len(spec.spec_hash) == 12 and int(spec.spec_hash, 16) >= 0
    assert spec.replace(num_classes=7).spec_hash != spec.spec_hash
    assert spec.scale_width(1.25).spec_hash != spec.spec_hash


def test_describe_is_compact_and_specific():
    assert default("residual").describe() == (
        "s32 | ir_k3_e4_c24_n1_s2 | ir_k3_e4_c40_n2_s2 | ir_k5_e4_c80_n2_s2_se | "
        "lt_k3_e0.25_c160_n2_s2_se | bt_k3_e0.25_c256_n1_s1"
    )
    assert SMALL["ref-resnet18"].describe() == (
        "s64_k7_mp | bb_k3_c64_n2_s1 | bb_k3_c128_n2_s2 | bb_k3_c256_n2_s2 | bb_k3_c512_n2_s2"
    )
    text = SMALL["unet-all-blocks"].describe()
    for token in ("s16_s2", "mp>c24:dw+dd", "cv>", "ad>", "tp>c32^:db+cc", "bl>c24:lt", "h8"):
        assert token in text
    assert "\n" not in text


@pytest.mark.parametrize("name", PROTOTYPE_NAMES)
def test_scale_width_rounds_to_multiples_of_8_with_a_floor(name):
    spec = default(name)
    for m in (0.01, 0.37, 1.0, 1.9):
        widths = spec.scale_width(m).widths()
        floors = spec.width_floors()
        assert all(w % 8 == 0 and w >= f for w, f in zip(widths, floors, strict=True))
    assert spec.scale_width(1e-3).widths() == spec.width_floors()
    assert spec.scale_width(2.0).widths() == tuple(2 * w for w in spec.widths())


def _residual_dict() -> dict:
    return default("residual").to_dict()


def _unet_dict() -> dict:
    return default("residual-unet").to_dict()


def _set(data: dict, path: str, value) -> dict:
    data = copy.deepcopy(data)
    keys = path.replace("[", ".").replace("]", "").split(".")
    target = data
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    last = keys[-1]
    if value is _DELETE:
        del target[last]
    elif last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return data


_DELETE = object()

BAD_RESIDUAL = [
    ("stages[1].widht", 64, "stages[1].widht: unknown key"),
    ("stages[0].width", "wide", "stages[0].width: expected int, got str 'wide'"),
    ("stages[2].width", -8, "stages[2].width: expected a positive integer, got -8"),
    ("stages", [], "stages: expected 1 to 8 stages, got 0"),
    ("stages[0].kernel", 4, "stages[0].kernel: expected one of 3, 5, got 4"),
    ("stages[0].block", "dense", "stages[0].block: expected one of 'basic'"),
    ("stages[0].stride", 3, "stages[0].stride: expected one of 1, 2, got 3"),
    ("stages[3].depth", 0, "stages[3].depth: expected a positive integer, got 0"),
    ("stages[1].expansion", 0.0, "stages[1].expansion: expected 1 <= expansion <= 8"),
    ("stem.kernel", 2, "stem.kernel: expected one of 3, 5, 7, got 2"),
    ("stem.width", 0, "stem.width: expected a positive integer, got 0"),
    ("in_channels", 0, "in_channels: expected a positive integer, got 0"),
    ("act", "gelu", "act: expected one of"),
    ("stem", _DELETE, None),  # a default applies: no error
]


@pytest.mark.parametrize(("path", "value", "message"), BAD_RESIDUAL)
def test_residual_validation_names_the_field_path(path, value, message):
    data = _set(_residual_dict(), path, value)
    if message is None:
        assert spec_from_dict(data).stem == ResidualSpec().stem
        return
    with pytest.raises(ConfigError) as info:
        spec_from_dict(data)
    assert message in info.value.message


def test_stride_that_shrinks_the_map_below_1x1_is_named():
    data = _set(_residual_dict(), "input_size", 16)  # 16 -> 8 -> 4 -> 2 -> 1 -> (stage3)
    with pytest.raises(ConfigError) as info:
        spec_from_dict(data)
    assert info.value.message.startswith("stages[3].stride: stride 2 would shrink the 1x1")


def test_unknown_key_suggests_the_closest_field():
    with pytest.raises(ConfigError) as info:
        spec_from_dict(_set(_residual_dict(), "stages[1].widht", 64))
    assert info.value.hint == "did you mean 'width'?"


def test_unknown_prototype_lists_valid_ones_and_the_closest():
    with pytest.raises(ConfigError) as info:
        spec_from_dict({"prototype": "residul"})
    assert "residual, residual-unet" in info.value.message
    assert info.value.hint == "did you mean 'residual'?"


BAD_UNET = [
    ("encoder[0].down", "maxpool", "encoder[0].down: expected 'none', got 'maxpool'"),
    ("encoder[2].down", "none", "encoder[2].down: expected one of 'maxpool', 'conv', 'anet'"),
    ("encoder[1].blocks[0]", "triple", "encoder[1].blocks[0]: expected one of 'single'"),
    ("encoder[1].blocks", [], "encoder[1].blocks: expected 1 to 8 blocks, got 0"),
    ("encoder[3].width", -1, "encoder[3].width: expected a positive integer, got -1"),
    ("decoder[0].up", "pixelshuffle", "decoder[0].up: expected one of"),
    ("decoder[0].skip", "yes", "decoder[0].skip: expected bool"),
    ("head_width", None, "head_width: a stride-2 stem needs the upsampling head"),
    ("stem.stride", 1, "stem.stride: an anet stem halves the map"),
    ("input_size", 8, "encoder[3].down: halving would shrink the 1x1 feature map"),
]


@pytest.mark.parametrize(("path", "value", "message"), BAD_UNET)
def test_unet_validation_names_the_field_path(path, value, message):
    with pytest.raises(ConfigError) as info:
        spec_from_dict(_set(_unet_dict(), path, value))
    assert message in info.value.message


def test_unet_decoder_must_mirror_the_encoder():
    data = _unet_dict()
    data["decoder"] = data["decoder"][:-1]
    with pytest.raises(ConfigError, match=r"decoder: expected 3 levels .* got 2"):
        spec_from_dict(data)


def test_load_spec_reports_missing_and_malformed_files(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_spec(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages: [\n  - {block: basic\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_spec(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="expected a mapping with a 'prototype' key"):
        load_spec(listed)


def test_replace_validates():
    with pytest.raises(ConfigError, match="num_classes"):
        default("residual").replace(num_classes=0)
