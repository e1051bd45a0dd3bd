"""`gensynth constraints`: check a spec against operational limits, or repair it to fit."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gensynth.cli._common import EXIT_NEGATIVE, JsonOpt, err, out, print_json
from gensynth.constraints.costs import MAC_CONVENTION

if TYPE_CHECKING:
    from gensynth.constraints.indicator import IndicatorResult

app = typer.Typer(
    help=(
        "Check specs against operational limits (MACs, params, latency) and repair them.\n\n"
        "Example: gensynth constraints check spec.yaml --flops 100M"
    ),
    no_args_is_help=True,
)

SpecArg = Annotated[Path, typer.Argument(help="A spec YAML file (see gensynth prototypes show).")]
FlopsOpt = Annotated[
    str | None,
    typer.Option("--flops", help="Target MACs, e.g. 100M, 1.5G or 97263435 (see convention)."),
]
ToleranceOpt = Annotated[
    str | None, typer.Option("--tolerance", help="Band around --flops: 5% or 0.05 (default 5%).")
]
ParamsMaxOpt = Annotated[
    str | None, typer.Option("--params-max", help="Parameter cap, e.g. 500K or 1.2M.")
]


def _params_max(text: str | None) -> int | None:
    from gensynth.constraints.quantities import parse_count

    return None if text is None else parse_count(text, what="--params-max")


@app.command(
    "check",
    epilog=MAC_CONVENTION,
)
def check_command(
    spec_path: SpecArg,
    flops: FlopsOpt = None,
    tolerance: ToleranceOpt = None,
    params_max: ParamsMaxOpt = None,
    latency: Annotated[
        str | None, typer.Option("--latency", help="Latency budget per batch, e.g. 2ms.")
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option("--backend", help=r"Latency backend (with --latency) \[onnxruntime-cpu]."),
    ] = None,
    batch: Annotated[
        str | None, typer.Option("--batch", help=r"Batch size (with --latency) \[1].")
    ] = None,
    threads: Annotated[
        str | None, typer.Option("--threads", help="CPU threads (with --latency).")
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Check a spec against each limit: a table of measured vs limit. Exit 0 if all pass, 3 if not.

    MACs count multiply-accumulates (ResNet-50 at 224x224 is 4.1 G), batch norm folded; the
    full convention is below.

    Example: gensynth constraints check spec.yaml --flops 100M --tolerance 5% --params-max 500K
    """
    import dataclasses

    from gensynth.constraints import Limits, count_costs, parse_positive_int
    from gensynth.prototypes import load_spec

    limits = Limits.parse(
        flops=flops, tolerance=tolerance, params_max=params_max, latency=latency,
        backend=backend, batch=batch,
    )  # fmt: skip
    n_threads = None if threads is None else parse_positive_int(threads, what="--threads")
    indicators = limits.indicators(threads=n_threads)
    spec = load_spec(spec_path)
    costs = count_costs(spec)
    results = [indicator.check(spec) for indicator in indicators]
    feasible = all(result.passed for result in results)
    if json_output:
        print_json(
            {
                "spec": str(spec_path),
                "prototype": spec.prototype,
                "hash": spec.spec_hash,
                "describe": spec.describe(),
                "costs": {"macs": costs.macs, "params": costs.params},
                "feasible": feasible,
                "indicators": [dict(dataclasses.asdict(r), passed=r.passed) for r in results],
            }
        )
    else:
        _print_table(spec_path, spec.describe(), spec.spec_hash, results)
    raise typer.Exit(0 if feasible else EXIT_NEGATIVE)


def _print_table(
    path: Path, describe: str, spec_hash: str, results: list[IndicatorResult]
) -> None:
    from rich.table import Table
    from rich.text import Text

    from gensynth.constraints.indicator import compact_count

    err.print(Text(f"{path} ({spec_hash}): {describe}"))
    table = Table()
    for column in ("indicator", "measured", "limit", "result", "detail"):
        table.add_column(column)
    for r in results:
        measured = f"{r.measured:.3f} ms" if r.unit == "ms" else compact_count(r.measured)
        verdict = Text("pass", "green") if r.passed else Text("FAIL", "bold red")
        table.add_row(Text(r.name), Text(measured), Text(r.limit), verdict, Text(r.detail))
    out.print(table)


@app.command("repair", epilog=MAC_CONVENTION)
def repair_command(
    spec_path: SpecArg,
    flops: Annotated[str, typer.Option("--flops", help="Target MACs, e.g. 100M or 1.5G.")],
    tolerance: Annotated[str, typer.Option("--tolerance", help="Band: 5% or 0.05.")] = "5%",
    params_max: ParamsMaxOpt = None,
    output: Annotated[
        Path | None, typer.Option("--out", help="Write the repaired spec here (else stdout).")
    ] = None,
) -> None:
    """Scale a spec's widths until its MACs land in the band; print the repaired spec YAML.

    Exit 0 when repaired, 3 when the band cannot be reached (the reason goes to stderr).

    Example: gensynth constraints repair spec.yaml --flops 100M --out repaired.yaml
    """
    import sys

    from rich.text import Text

    from gensynth.constraints.indicator import FlopsBand, compact_count
    from gensynth.constraints.repair import repair
    from gensynth.prototypes import dump_spec, load_spec

    band = FlopsBand.parse(flops, tolerance)
    cap = _params_max(params_max)
    spec = load_spec(spec_path)
    result = repair(spec, band, params_max=cap)
    if not result.feasible:
        err.print(Text("Infeasible: ", "bold red") + Text(str(result.reason)))
        raise typer.Exit(EXIT_NEGATIVE)
    err.print(
        Text(
            f"repaired in {result.steps} steps: width x{result.multiplier:.3g}, "
            f"{compact_count(result.costs.macs)} MACs, {compact_count(result.costs.params)} params"
            + (f" ({result.detail})" if result.detail else "")
        )
    )
    if output is not None:
        dump_spec(result.spec, output)
        err.print(Text(f"wrote {output}"))
    else:
        sys.stdout.write(result.spec.to_yaml())
