"""`gensynth prototypes` and `gensynth constraints`: output, exit codes, one-line errors."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from gensynth.cli.main import app
from gensynth.constraints import FlopsBand, count_costs
from gensynth.prototypes import get_prototype, load_spec, spec_from_dict

runner = CliRunner()


def _error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    return lines[0]


def test_prototypes_list_shows_every_prototype_and_reference():
    result = runner.invoke(app, ["prototypes", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {
        "residual",
        "residual-unet",
        "plain",
        "resnet50",
        "resnet18",
        "unet",
        "anet",
    }
    assert rows["residual"]["macs"] == 99_464_896 and rows["residual"]["input"] == [1, 200, 200]
    assert rows["unet"]["input"] == [1, 200, 200]
    table = runner.invoke(app, ["prototypes", "list"])
    assert table.exit_code == 0 and "residual-unet" in table.stdout and "99.46M" in table.stdout


def test_prototypes_show_prints_a_loadable_spec(tmp_path):
    result = runner.invoke(app, ["prototypes", "show", "residual"])
    assert result.exit_code == 0
    assert result.stdout.startswith("# residual (default design): s32 | ")
    spec = spec_from_dict(yaml.safe_load(result.stdout))
    assert spec == get_prototype("residual").default_spec()
    (tmp_path / "r50.yaml").write_text(
        runner.invoke(
            app,
            [
                "prototypes",
                "show",
                "resnet50",
                "--in-channels",
                "3",
                "--input-size",
                "224",
                "--num-classes",
                "1000",
            ],
        ).stdout
    )
    r50 = load_spec(tmp_path / "r50.yaml")
    assert count_costs(r50).params == 25_557_032


def test_prototypes_show_unknown_name_lists_valid_ones():
    result = runner.invoke(app, ["prototypes", "show", "resnt50"])
    assert result.exit_code == 2
    line = _error_line(result)
    assert "residual, residual-unet, anet, plain, resnet18, resnet50, unet" in line
    assert "did you mean 'resnet50'?" in line


@pytest.fixture
def spec_file(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(get_prototype("residual").default_spec().to_yaml())
    return path


def test_check_passes_with_exit_0_and_a_table(spec_file):
    result = runner.invoke(
        app, ["constraints", "check", str(spec_file), "--flops", "100M", "--params-max", "500K"]
    )
    assert result.exit_code == 0, result.output
    for text in ("macs", "99.46M", "100M ± 5%", "params", "299.88K", "<= 500K", "pass"):
        assert text in result.stdout
    assert "FAIL" not in result.stdout


def test_check_fails_with_exit_3_and_json(spec_file):
    result = runner.invoke(
        app,
        ["constraints", "check", str(spec_file), "--flops", "50M", "--tolerance", "0.1", "--json"],
    )
    assert result.exit_code == 3
    data = json.loads(result.stdout)
    assert data["feasible"] is False and data["costs"]["macs"] == 99_464_896
    (macs,) = data["indicators"]
    assert macs["limit"] == "50M ± 10%" and macs["passed"] is False
    assert macs["violation"] == pytest.approx(FlopsBand(50_000_000, 0.1).violation(99_464_896))


def test_check_help_states_the_mac_convention():
    result = runner.invoke(app, ["constraints", "check", "--help"], terminal_width=200)
    assert result.exit_code == 0
    assert "batch norm" in result.stdout and "folded" in result.stdout


def _bad_spec(tmp_path, edit) -> str:
    data = get_prototype("residual").default_spec().to_dict()
    edit(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


BAD_SPECS = {
    "unknown key": (lambda d: d["stages"][0].update(widht=8), "stages[0].widht: unknown key"),
    "wrong type": (lambda d: d["stem"].update(width="32"), "stem.width: expected int"),
    "negative width": (
        lambda d: d["stages"][1].update(width=-16),
        "stages[1].width: expected a positive integer, got -16",
    ),
    "zero stages": (lambda d: d.update(stages=[]), "stages: expected 1 to 8 stages, got 0"),
    "stride too large": (
        lambda d: d.update(input_size=8),
        "stride 2 would shrink the 1x1 feature map below 1x1",
    ),
    "unknown prototype": (
        lambda d: d.update(prototype="residul"),
        "unknown prototype 'residul'; expected one of: residual, residual-unet",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_check_bad_spec_is_one_line_exit_2(case, tmp_path):
    edit, message = BAD_SPECS[case]
    result = runner.invoke(
        app, ["constraints", "check", _bad_spec(tmp_path, edit), "--flops", "100M"]
    )
    assert result.exit_code == 2
    assert message in _error_line(result)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--flops", "abc"], "--flops: expected a positive number like 100M"),
        (["--flops", "-5M"], "--flops: expected a positive number like 100M"),
        (["--flops", "100M", "--tolerance", "150%"], "--tolerance: expected a fraction in"),
        (["--params-max", "lots"], "--params-max: expected a positive number"),
        (["--tolerance", "5%"], "--tolerance: only applies with --flops"),
        ([], "expected at least one limit"),
    ],
)
def test_check_bad_flags_are_one_line_exit_2(spec_file, args, message):
    result = runner.invoke(app, ["constraints", "check", str(spec_file), *args])
    assert result.exit_code == 2
    assert message in _error_line(result)


def test_check_missing_or_non_yaml_file(tmp_path):
    result = runner.invoke(
        app, ["constraints", "check", str(tmp_path / "nope.yaml"), "--flops", "1M"]
    )
    assert result.exit_code == 2 and "does not exist" in _error_line(result)
    bad = tmp_path / "bad.yaml"
    bad.write_text("stem: {width: 8\n")
    result = runner.invoke(app, ["constraints", "check", str(bad), "--flops", "1M"])
    assert result.exit_code == 2 and "is not valid YAML" in _error_line(result)


def test_check_latency_flag_is_wired(spec_file):
    pytest.importorskip("gensynth.constraints.latency")
    result = runner.invoke(
        app, ["constraints", "check", str(spec_file), "--latency", "soon", "--flops", "100M"]
    )
    assert result.exit_code == 2 and "--latency" in _error_line(result)


def test_repair_command_writes_a_spec_inside_the_band(spec_file, tmp_path):
    out = tmp_path / "repaired.yaml"
    result = runner.invoke(
        app, ["constraints", "repair", str(spec_file), "--flops", "50M", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert FlopsBand(50_000_000).contains(count_costs(load_spec(out)).macs)
    assert "repaired in" in result.stderr
    cheap = runner.invoke(app, ["constraints", "repair", str(spec_file), "--flops", "100G"])
    assert cheap.exit_code == 3 and "Infeasible:" in cheap.stderr and cheap.stdout == ""
