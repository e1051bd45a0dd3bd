"""`gensynth constraints`: check a spec against operational limits, or repair it to fit."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gensynth.cli._common import JsonOpt, err, out, print_json
from gensynth.constraints.costs import MAC_CONVENTION

if TYPE_CHECKING:
    from gensynth.constraints.indicator import FlopsBand, Indicator, IndicatorResult

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


def _band(flops: str | None, tolerance: str | None) -> FlopsBand | None:
    from gensynth.constraints.indicator import FlopsBand
    from gensynth.errors import ConfigError

    if flops is None:
        if tolerance is not None:
            raise ConfigError("--tolerance: only applies with --flops", hint="add --flops 100M")
        return None
    return FlopsBand.parse(flops, "5%" if tolerance is None else tolerance)


def _params_max(text: str | None) -> int | None:
    from gensynth.constraints.quantities import parse_count

    return None if text is None else parse_count(text, what="--params-max")


def _latency(latency: str, backend: str, batch: str, threads: str | None) -> Indicator:
    from gensynth.errors import BackendUnavailable

    try:
        from gensynth.constraints.latency import LatencyIndicator
    except ModuleNotFoundError as error:
        if error.name != "gensynth.constraints.latency":
            raise
        raise BackendUnavailable(
            "--latency: latency budgets are not available in this installation",
            hint="use --flops or --params-max",
        ) from None
    return LatencyIndicator.from_flags(latency, backend, batch, threads)


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
        str, typer.Option("--backend", help="Latency backend (with --latency).")
    ] = "onnxruntime-cpu",
    batch: Annotated[str, typer.Option("--batch", help="Batch size (with --latency).")] = "1",
    threads: Annotated[
        str | None, typer.Option("--threads", help="CPU threads (with --latency).")
    ] = None,
    json_output: JsonOpt = False,
) -> None:
    """Check a spec against each limit: a table of measured vs limit. Exit 0 if all pass, 1 if not.

    MACs count multiply-accumulates (ResNet-50 at 224x224 is 4.1 G), batch norm folded; the
    full convention is below.

    Example: gensynth constraints check spec.yaml --flops 100M --tolerance 5% --params-max 500K
    """
    import dataclasses

    from gensynth.constraints.costs import count_costs
    from gensynth.constraints.indicator import MacsIndicator, ParamsIndicator, ParamsLimit
    from gensynth.errors import ConfigError
    from gensynth.prototypes import load_spec

    band, cap = _band(flops, tolerance), _params_max(params_max)
    indicators: list[Indicator] = []
    indicators += [MacsIndicator(band)] if band is not None else []
    indicators += [ParamsIndicator(ParamsLimit(cap))] if cap is not None else []
    if latency is not None:
        indicators.append(_latency(latency, backend, batch, threads))
    if not indicators:
        raise ConfigError(
            "expected at least one limit: --flops, --params-max or --latency",
            hint="e.g. gensynth constraints check spec.yaml --flops 100M",
        )
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
    raise typer.Exit(0 if feasible else 1)


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

    Exit 0 when repaired, 1 when the band cannot be reached (the reason goes to stderr).

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
        raise typer.Exit(1)
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
