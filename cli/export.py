"""`gensynth export`: a model directory to ONNX, refused unless it matches torch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gensynth.cli._common import JsonOpt, err, out, print_json

if TYPE_CHECKING:
    from gensynth.deploy.int8 import Int8Result


def export_cmd(
    model_dir: Annotated[Path, typer.Argument(help="A model folder (spec.yaml + weights).")],
    onnx: Annotated[
        Path | None,
        typer.Option(
            "--onnx", help=r"Where to write the ONNX file \[default: MODEL_DIR/model.onnx]."
        ),
    ] = None,
    tolerance: Annotated[
        float,
        typer.Option("--tolerance", help="Largest max |torch - ONNX| accepted on random inputs."),
    ] = 1e-4,
    int8: Annotated[
        bool,
        typer.Option(
            "--int8",
            help="Also write MODEL_DIR/model.int8.onnx (ONNX Runtime static quantization, "
            "calibrated on training images) and record FP32 and INT8 test scores in "
            "metrics.json; exit 3 when INT8 loses more than --int8-max-drop points.",
        ),
    ] = False,
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            help="With --int8: the data the model was trained on, when it moved "
            r"\[default: metrics.json's data source].",
        ),
    ] = None,
    int8_max_drop: Annotated[
        float,
        typer.Option(
            "--int8-max-drop", help="With --int8: most test points INT8 may lose against FP32."
        ),
    ] = 1.0,
    int8_calibration: Annotated[
        int,
        typer.Option(
            "--int8-calibration", help="With --int8: training images that calibrate INT8."
        ),
    ] = 256,
    json_out: JsonOpt = False,
) -> None:
    """Export a trained model to ONNX (dynamic batch), checked against torch before writing.

    With --int8, also quantize it to INT8, calibrated on training images only, and score FP32
    and INT8 with ONNX Runtime on the test split (recorded in metrics.json under "int8").

    Example: gensynth export runs/best --onnx best.onnx; gensynth export runs/best --int8
    """
    from gensynth.deploy import export_model_dir
    from gensynth.errors import ConfigError
    from gensynth.modeldir import ONNX_FILE, check_onnx_target, load_model_dir

    if not tolerance >= 0:
        raise ConfigError(f"--tolerance: expected a number >= 0, got {tolerance!r}")
    loaded = load_model_dir(model_dir)
    target = onnx if onnx is not None else model_dir / ONNX_FILE
    check_onnx_target(target)
    if int8:
        from gensynth.deploy.int8 import check_int8_options

        check_int8_options(loaded, target, data, int8_max_drop, int8_calibration)
    with err.status(f"Exporting {loaded.spec.describe()} to ONNX"):
        # With the gensynth metadata (classes, preprocessing, decision rule) that predict reads.
        report, _ = export_model_dir(model_dir, target, tolerance=tolerance, loaded=loaded)
    result = None
    if not json_out:
        batches = " and ".join(str(b) for b in report.parity_batches)
        out.print(
            f"Parity: max |torch - ONNX| = {report.max_abs_diff:.2e} <= {tolerance:.0e} "
            f"at batch {batches} (dynamic batch, opset {report.opset}, {report.exporter} "
            f"exporter, {report.seconds:.1f} s)",
            highlight=False,
        )
        out.print(f"Wrote {report.path}", highlight=False)
    if int8:
        result = _int8(model_dir, target, data, int8_max_drop, int8_calibration, json_out)
    if json_out:
        print_json(
            {
                "path": str(report.path),
                "max_abs_diff": report.max_abs_diff,
                "tolerance": tolerance,
                "opset": report.opset,
                "exporter": report.exporter,
                "parity_batches": list(report.parity_batches),
                "seconds": report.seconds,
                "spec_hash": loaded.spec.spec_hash,
                **({"int8": result.record} if result is not None else {}),
            }
        )
    if result is not None:
        from gensynth.deploy.int8 import check_int8_passed

        check_int8_passed(result)


def _int8(
    model_dir: Path, onnx: Path, data: str | None, max_drop: float, calibration: int, quiet: bool
) -> Int8Result:
    """Quantize, score and record INT8 (the verdict is checked by the caller)."""
    from gensynth.deploy.int8 import export_int8

    with err.status("INT8") as status:
        result = export_int8(
            model_dir,
            onnx=onnx,
            data=data,
            max_drop=max_drop,
            calibration=calibration,
            on_step=lambda text: status.update(f"INT8: {text}"),
        )
    if not quiet:
        out.print(f"INT8 ({result.settings.describe()}): {result.describe()}", highlight=False)
        out.print(f'Wrote {result.path}, and "int8" in metrics.json', highlight=False)
    return result


#: Top-level commands this module adds to the main app, by name.
COMMANDS: dict[str, Callable[..., Any]] = {"export": export_cmd}
