"""`gensynth predict` through Typer's CliRunner: outputs, summary, and one line per bad input."""

from __future__ import annotations

import csv
import json

from PIL import Image
from typer.testing import CliRunner

from gensynth.cli.main import app

runner = CliRunner()


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("Error:")]


def test_classify_to_a_csv_file(classifier_dir, classify_images, tmp_path):
    out = tmp_path / "rows.csv"
    result = runner.invoke(app, ["predict", str(classifier_dir), str(classify_images),
                                 "--out", str(out), "--threads", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    images = sorted(p for p in classify_images.rglob("*.bmp"))
    assert len(rows) == len(images) == 30
    assert {"path", "label", "confidence", "p_crazing"} <= set(rows[0])
    assert "30 images in" in result.stderr and "images/s" in result.stderr
    assert f"Wrote {out}" in result.stderr


def test_json_to_stdout(classifier_dir, classify_images):
    files = sorted(classify_images.glob("*.bmp"))[:4]
    result = runner.invoke(app, ["predict", str(classifier_dir), *map(str, files), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["model"]["task"] == "classify"
    assert doc["model"]["preprocessing"]["input_size"] == 32
    assert [p["path"] for p in doc["predictions"]] == [str(f) for f in files]
    assert sum(doc["summary"]["per_class"].values()) == 4


def test_segment_to_a_folder_writes_masks_at_the_image_size(
    segmenter_dir, segment_images, tmp_path
):
    out = tmp_path / "pred"
    source = segment_images / "Source Images"
    result = runner.invoke(app, ["predict", str(segmenter_dir), str(source), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with (out / "predictions.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(list(source.iterdir()))
    for row in rows[:3]:
        with Image.open(out / row["mask"]) as mask:
            assert mask.size == (int(row["width"]), int(row["height"]))
    assert "Verdict: defect when >=" in result.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_bad_image_stops_with_one_line_and_writes_nothing(
    classifier_dir, classify_images, tmp_path
):
    bad = tmp_path / "in" / "zz-broken.bmp"
    bad.parent.mkdir()
    bad.write_bytes(b"BM not an image")
    good = sorted(classify_images.glob("*.bmp"))[0]
    out = tmp_path / "pred"
    args = ["predict", str(classifier_dir), str(good), str(bad.parent), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    errors = _errors(result.output)
    assert len(errors) == 1 and "zz-broken.bmp" in errors[0] and "--skip-bad" in errors[0]
    assert not out.exists()
    result = runner.invoke(app, [*args, "--skip-bad"])
    assert result.exit_code == 0, result.output
    assert "Skipped" in result.stderr and "zz-broken.bmp" in result.stderr
    assert "1 skipped" in result.stderr


def test_folder_without_images_is_one_line(classifier_dir, tmp_path):
    (tmp_path / "empty").mkdir()
    result = runner.invoke(app, ["predict", str(classifier_dir), str(tmp_path / "empty")])
    assert result.exit_code == 1
    assert len(_errors(result.output)) == 1 and "holds no images" in result.output


def test_model_without_onnx_is_one_line_with_the_export_command(classifier_dir, classify_images):
    (classifier_dir / "model.onnx").unlink()
    result = runner.invoke(app, ["predict", str(classifier_dir), str(classify_images)])
    assert result.exit_code == 1
    (error,) = _errors(result.output)
    assert "has no model.onnx" in error and "gensynth export" in error
    result = runner.invoke(app, ["predict", str(classifier_dir), str(classify_images), "--export"])
    assert result.exit_code == 0, result.output
    assert (classifier_dir / "model.onnx").is_file()


def test_colour_images_warn_once(classifier_dir, classify_images, tmp_path):
    colour = tmp_path / "colour"
    colour.mkdir()
    for k, source in enumerate(sorted(classify_images.glob("*.bmp"))[:3]):
        Image.open(source).convert("RGB").save(colour / f"c{k}.png")
    result = runner.invoke(app, ["predict", str(classifier_dir), str(colour)])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("Warning:") == 1


def test_existing_out_file_needs_overwrite(classifier_dir, classify_images, tmp_path):
    out = tmp_path / "rows.json"
    out.write_text("{}")
    args = ["predict", str(classifier_dir), str(classify_images), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and "--overwrite" in result.output
    result = runner.invoke(app, [*args, "--overwrite"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(out.read_text())["predictions"]) == 30
