"""`gensynth export`: a model directory to ONNX, refused unless it matches torch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from gensynth.cli._common import JsonOpt, err, out, print_json


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
    json_out: JsonOpt = False,
) -> None:
    """Export a trained model to ONNX (dynamic batch), checked against torch before writing.

    Example: gensynth export runs/best --onnx best.onnx
    """
    from gensynth.backends import export_onnx
    from gensynth.errors import ConfigError
    from gensynth.modeldir import ONNX_FILE, check_onnx_target, load_model_dir

    if not tolerance >= 0:
        raise ConfigError(f"--tolerance: expected a number >= 0, got {tolerance!r}")
    loaded = load_model_dir(model_dir)
    target = onnx if onnx is not None else model_dir / ONNX_FILE
    check_onnx_target(target)
    with err.status(f"Exporting {loaded.spec.describe()} to ONNX"):
        report = export_onnx(loaded.model, loaded.spec.input_shape, target, tolerance=tolerance)
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
            }
        )
        return
    batches = " and ".join(str(b) for b in report.parity_batches)
    out.print(
        f"Parity: max |torch - ONNX| = {report.max_abs_diff:.2e} <= {tolerance:.0e} "
        f"at batch {batches} (dynamic batch, opset {report.opset}, {report.exporter} exporter, "
        f"{report.seconds:.1f} s)",
        highlight=False,
    )
    out.print(f"Wrote {report.path}", highlight=False)


#: Top-level commands this module adds to the main app, by name.
COMMANDS: dict[str, Callable[..., Any]] = {"export": export_cmd}
