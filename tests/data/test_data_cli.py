"""``gensynth data synth`` and ``gensynth data check`` through the real app."""

from __future__ import annotations

import json
from pathlib import Path

import data_builders as build
import pytest
from typer.testing import CliRunner

from gensynth.cli.main import app

runner = CliRunner()


def _run(*args: str):
    result = runner.invoke(app, ["data", *args])
    assert "Traceback" not in result.output
    return result


def test_synth_then_check_round_trip(tmp_path: Path):
    out = tmp_path / "synth"
    result = _run("synth", str(out), "--per-class", "3", "--size", "48", "--preview")
    assert result.exit_code == 0, result.output
    assert "wrote 18 images" in result.stderr
    assert (out / "preview" / "preview_crazing.png").is_file()

    result = _run("check", str(out), "--size", "48")
    assert result.exit_code == 0, result.output
    assert "neu-cls" in result.stdout and "rolled-in_scale" in result.stdout
    assert "48x48 (18)" in result.stdout


def test_segment_check_json(tmp_path: Path):
    out = tmp_path / "seg"
    assert _run("synth", str(out), "--task", "segment", "--per-class", "3").exit_code == 0
    result = _run("check", str(out), "--task", "segment", "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["format"] == "neu-seg" and report["ok"] and report["total"] == 9
    assert report["counts"]["scratches"] == {"total": 3, "train": 1, "val": 1, "test": 1}


def test_check_lists_bad_files_and_exits_1(tmp_path: Path):
    build.neu_cls(tmp_path, per_class=4)
    build.truncate(tmp_path / "In_3.bmp")
    result = _run("check", str(tmp_path))
    assert result.exit_code == 1
    assert "In_3.bmp: truncated image" in result.stdout
    report = json.loads(_run("check", str(tmp_path), "--json").stdout)
    assert report["problems"] == [{"path": "In_3.bmp", "reason": "truncated image"}]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["synth", "{out}", "--per-class", "0"], 2, "--per-class: expected a positive integer"),
        (["synth", "{out}", "--per-class", "-4"], 2, "--per-class: expected a positive integer"),
        (["synth", "{out}", "--size", "big"], 2, "--size: expected a positive integer, got 'big'"),
        (["synth", "{out}", "--size", "0"], 2, "--size: expected a positive integer"),
        (["check", "{out}/missing"], 2, "does not exist"),
        (["check", "{out}", "--size", "1.5"], 2, "--size: expected a positive integer"),
        (["check", "{empty}"], 1, "is empty"),
        (["check", "{text}"], 1, "matches no known layout"),
    ],
)
def test_bad_input_is_one_error_line(tmp_path: Path, args, code, message):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "notes.txt").write_text("hi")
    paths = {"out": tmp_path / "o", "empty": tmp_path / "empty", "text": tmp_path / "text"}
    result = _run(*(a.format(**paths) for a in args))
    assert result.exit_code == code
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and message in lines[0]


def test_synth_refuses_non_empty_folder_without_overwrite(tmp_path: Path):
    (tmp_path / "keep.txt").write_text("user file")
    result = _run("synth", str(tmp_path), "--per-class", "1", "--size", "32")
    assert result.exit_code == 2 and "--overwrite" in result.stderr
    assert not (tmp_path / "Cr_1.bmp").exists()
    result = _run("synth", str(tmp_path), "--per-class", "1", "--size", "32", "--overwrite")
    assert result.exit_code == 0 and (tmp_path / "Cr_1.bmp").is_file()
    assert (tmp_path / "keep.txt").read_text() == "user file"


def test_unknown_format_suggests_the_closest(tmp_path: Path):
    build.neu_cls(tmp_path, per_class=3)
    result = _run("check", str(tmp_path), "--format", "neu-clss")
    assert result.exit_code == 2 and "neu-cls" in result.output


@pytest.mark.parametrize("command", ["synth", "check"])
def test_help_has_an_example(command: str):
    result = _run(command, "--help")
    assert result.exit_code == 0 and "Example: gensynth data " + command in result.stdout
