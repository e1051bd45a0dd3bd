"""`gensynth prototypes`: the design spaces and reference nets; list them, show one as YAML."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from gensynth.cli._common import JsonOpt, out, print_json

if TYPE_CHECKING:
    from gensynth.prototypes import ArchSpec

app = typer.Typer(
    help="Design spaces (prototypes) and reference nets.\n\nExample: gensynth prototypes list",
    no_args_is_help=True,
)

InChannelsOpt = Annotated[
    int | None, typer.Option("--in-channels", help="Input channels (default: the design's).")
]
InputSizeOpt = Annotated[
    int | None, typer.Option("--input-size", help="Square input side in pixels.")
]
NumClassesOpt = Annotated[
    int | None, typer.Option("--num-classes", help="Classes (segmentation: output maps).")
]


def _rows(input_size: int) -> list[dict[str, object]]:
    from gensynth.constraints.costs import count_costs
    from gensynth.prototypes import get_reference, list_prototypes, list_references

    entries: list[tuple[str, str, str, ArchSpec]] = [
        (p.name, "prototype", p.description, p.default_spec(input_size=input_size))
        for p in list_prototypes()
    ]
    for name in list_references():
        ref = get_reference(name)
        entries.append((name, "reference", ref.description, ref.spec(input_size=input_size)))
    rows: list[dict[str, object]] = []
    for name, kind, description, spec in entries:
        costs = count_costs(spec)
        rows.append(
            {
                "name": name,
                "kind": kind,
                "task": spec.task,
                "description": description,
                "input": list(spec.input_shape),
                "macs": costs.macs,
                "params": costs.params,
            }
        )
    return rows


@app.command("list")
def list_command(
    input_size: Annotated[
        int, typer.Option("--input-size", help="Input side at which costs are shown.")
    ] = 200,
    json_output: JsonOpt = False,
) -> None:
    """List the prototypes and reference nets with their default design's MACs and params.

    Example: gensynth prototypes list --input-size 224
    """
    from rich.table import Table

    from gensynth.constraints.indicator import compact_count
    from gensynth.constraints.quantities import parse_input_size

    rows = _rows(parse_input_size(input_size, what="--input-size"))
    if json_output:
        print_json(rows)
        return
    table = Table(title=f"Prototypes and references (default design at {input_size}x{input_size})")
    for column in ("name", "kind", "task", "MACs", "params"):
        table.add_column(column, justify="right" if column in ("MACs", "params") else "left")
    table.add_column("description", overflow="fold")
    for row in rows:
        table.add_row(
            str(row["name"]),
            str(row["kind"]),
            str(row["task"]),
            compact_count(float(str(row["macs"]))),
            compact_count(float(str(row["params"]))),
            str(row["description"]),
        )
    out.print(table)


def resolve(
    name: str,
    *,
    in_channels: int | None = None,
    input_size: int | None = None,
    num_classes: int | None = None,
) -> tuple[ArchSpec, str]:
    """A prototype's default spec or a reference spec by name, and what it is."""
    from gensynth.constraints.quantities import parse_input_size
    from gensynth.errors import ConfigError
    from gensynth.prototypes import PROTOTYPES, get_prototype, list_references, reference_spec
    from gensynth.registry import closest

    io = {"in_channels": in_channels, "input_size": input_size, "num_classes": num_classes}
    for what, value in io.items():
        if value is not None and value <= 0:
            raise ConfigError(
                f"--{what.replace('_', '-')}: expected a positive integer, got {value}"
            )
    if input_size is not None:
        parse_input_size(input_size, what="--input-size")
    if name in PROTOTYPES:
        return get_prototype(name).default_spec(**io), f"{name} (default design)"
    if name in list_references():
        return reference_spec(name, **io), f"{name} (reference)"
    valid = [*PROTOTYPES.names(), *list_references()]
    near = closest(name, valid)
    raise ConfigError(
        f"unknown prototype or reference {name!r}; expected one of: {', '.join(valid)}",
        hint=f"did you mean {near!r}?" if near else "see gensynth prototypes list",
    )


@app.command("show")
def show_command(
    name: Annotated[
        str,
        typer.Argument(
            help="A prototype (residual, residual-unet) or a reference "
            "(resnet50, resnet18, unet, anet)."
        ),
    ],
    in_channels: InChannelsOpt = None,
    input_size: InputSizeOpt = None,
    num_classes: NumClassesOpt = None,
) -> None:
    """Print a prototype's default design, or a reference net, as spec YAML.

    The YAML is a valid spec file: edit it and check it with `gensynth constraints check`.

    Example: gensynth prototypes show resnet50 --in-channels 3 --input-size 224 > r50.yaml
    """
    import sys

    from gensynth.constraints.costs import count_costs
    from gensynth.constraints.indicator import compact_count

    spec, what = resolve(
        name, in_channels=in_channels, input_size=input_size, num_classes=num_classes
    )
    costs = count_costs(spec)
    header = (
        f"# {what}: {spec.describe()}\n"
        f"# {compact_count(costs.macs)} MACs, {compact_count(costs.params)} params, "
        f"hash {spec.spec_hash}\n"
    )
    sys.stdout.write(header + spec.to_yaml())
    sys.stdout.flush()
