"""Block throughput: achieved MAC/s per block type, squeeze-excitation, resolution and width.

Run: python benchmarks/block_throughput.py [--quick] [--threads 2] [--batch 1] [--install]

Each configuration is a tiny residual net: a one-channel 3x3 stem at the feature-map side,
then one stage of ``depth`` blocks of one type at that side and width, stride 1. The net at
depth 1 and at depth 3 are timed together with ``compare_latency`` (each in its own session,
alternating blocks), and the difference is what two more blocks cost: the marginal time per
block, and the achieved MAC/s (and ops/s, element-wise work included) of that block as it
runs inside a network. Grid: basic, bottleneck, inverted (depthwise), light (depthwise) and
wide blocks, without and with squeeze-excitation; feature maps of 100, 50, 25, 13 and 7 px
at 16, 32, 64, 128 and 256 channels; each width as a multiple of 8, as a multiple of 4 only
(width - 4), and as neither (width - 2). A near-empty net gives the per-run overhead.

Written: ``benchmarks/results/block_throughput-<machine>.json`` (``block_throughput-quick-``
with ``--quick``): every measurement with its settings and load, the table, and the cost model
of ``gensynth.backends.fit_latency_model`` fitted to it. ``--install`` also puts that model
where ``predict_latency_ms`` looks for it (``$GENSYNTH_LATENCY_MODEL`` or the cache folder).
Full run: about 6 minutes on 2 cores at batch 1; ``--quick`` (every block type, 50 and 13 px,
multiples of 8 only, short timing): about 30 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time
from typing import Any

from _common import write_results

from gensynth.backends import (
    LatencyModel,
    TimedModel,
    Timing,
    compare_latency,
    fit_latency_model,
    latency_model_path,
    measure_latency,
    width_alignment,
)
from gensynth.constraints import count_costs
from gensynth.prototypes import ResidualSpec, StageSpec, StemSpec
from gensynth.prototypes.residual import DEFAULT_EXPANSION
from gensynth.provenance import machine_id
from gensynth.vocabulary import DEFAULT_BACKEND

BLOCKS = ("basic", "bottleneck", "inverted", "light", "wide")
#: Feature-map side -> a width that is a multiple of 8, as a network would have there.
SIDES = {100: 16, 50: 32, 25: 64, 13: 128, 7: 256}
#: Width variants: offset from the multiple-of-8 width.
WIDTHS = {"x8": 0, "x4": -4, "other": -2}
DEPTHS = (1, 3)
FULL = Timing(warmup=3, blocks=5, repeats=20, min_time_s=0.5, max_time_s=10.0)
QUICK = Timing(warmup=2, blocks=3, repeats=10, min_time_s=0.1, max_time_s=2.0)
QUICK_GRID = {"blocks": BLOCKS, "sides": (50, 13), "widths": ("x8",)}


def micro_net(block: str, se: bool, side: int, width: int, depth: int) -> ResidualSpec:
    """A one-channel stem and ``depth`` blocks of ``block`` at ``side`` x ``side`` x ``width``."""
    stage = StageSpec(block, width, depth, 1, 3, DEFAULT_EXPANSION[block], se)
    return ResidualSpec(
        in_channels=1,
        input_size=side,
        num_classes=6,
        stem=StemSpec(width, 3, 1, False),
        stages=(stage,),
    )


def null_net() -> ResidualSpec:
    """The smallest net: what one run costs whatever the model (call, copy, head)."""
    return micro_net("basic", False, 8, 8, 1)


def measure_row(
    block: str, se: bool, side: int, width: int, args: argparse.Namespace
) -> dict[str, Any]:
    """One configuration: the two depths side by side, and the marginal cost of a block."""
    specs = [micro_net(block, se, side, width, depth) for depth in DEPTHS]
    items = [TimedModel(s.build().eval(), s.input_shape, count_costs(s).macs) for s in specs]
    comparison = compare_latency(
        items,
        backend=args.backend,
        batch=args.batch,
        threads=args.threads,
        **dataclasses.asdict(args.timing),
    )
    shallow, deep = comparison.results
    sections = [s.analytic_costs().sections for s in specs]
    extra = DEPTHS[1] - DEPTHS[0]
    ms_per_block = (deep.median_ms - shallow.median_ms) / extra
    macs_per_block = (count_costs(specs[1]).macs - count_costs(specs[0]).macs) / extra
    ops_per_block = (sections[1]["stage0"] - sections[0]["stage0"]) / extra
    rate = args.batch / ms_per_block / 1e6 if ms_per_block > 0 else None
    return {
        "block": block,
        "se": se,
        "resolution": side,
        "width": width,
        "alignment": width_alignment(width),
        "macs_per_block": macs_per_block,
        "ops_per_block": ops_per_block,
        "ms_per_block": ms_per_block,
        "gmacs_per_s": None if rate is None else macs_per_block * rate,
        "gops_per_s": None if rate is None else ops_per_block * rate,
        "stem_ops": sections[0]["stem"],
        "stage_ops": [sections[0]["stage0"], sections[1]["stage0"]],
        "median_ms": [shallow.median_ms, deep.median_ms],
        "block_spread": [shallow.block_spread, deep.block_spread],
        "loaded": comparison.loaded,
        "results": [r.to_dict() for r in comparison.results],
    }


def grid(quick: bool) -> list[tuple[str, bool, int, int]]:
    """Every (block, se, side, width) to measure."""
    blocks = QUICK_GRID["blocks"] if quick else BLOCKS
    sides = QUICK_GRID["sides"] if quick else tuple(SIDES)
    widths = QUICK_GRID["widths"] if quick else tuple(WIDTHS)
    return [
        (block, se, side, SIDES[side] + WIDTHS[variant])
        for block in blocks
        for se in (False, True)
        for side in sides
        for variant in widths
    ]


def print_row(row: dict[str, Any]) -> None:
    rate = row["gmacs_per_s"]
    print(
        f"{row['block']:10} {'SE' if row['se'] else '  '} {row['resolution']:4d}px "
        f"{row['width']:4d}ch {row['alignment']:5} {row['macs_per_block'] / 1e6:8.2f}M "
        f"{row['ms_per_block']:8.3f} ms {'-' if rate is None else f'{rate:7.1f}':>7} GMAC/s "
        f"spread {max(row['block_spread']):4.0%}{'  busy' if row['loaded'] else ''}",
        flush=True,
    )


def pivot(rows: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """GMAC/s by block (+SE) and side, for multiple-of-8 widths; and the cost of misalignment."""
    table: dict[str, dict[str, float | None]] = {}
    for row in rows:
        key = f"{row['block']}{' + SE' if row['se'] else ''}"
        table.setdefault(key, {})[f"{row['resolution']}px {row['alignment']}"] = row["gmacs_per_s"]
    print("\nGMAC/s of one more block, by side and width alignment")
    order = {name: i for i, name in enumerate(WIDTHS)}

    def column(name: str) -> tuple[int, int]:
        side, align = name.split("px ")
        return -int(side), order[align]

    columns = sorted({c for v in table.values() for c in v}, key=column)
    print(f"{'block':18}" + "".join(f"{c:>14}" for c in columns))
    for key, values in table.items():
        cells = [values.get(c) for c in columns]
        print(f"{key:18}" + "".join(f"{'-' if v is None else f'{v:.1f}':>14}" for v in cells))
    return table


def install(model: LatencyModel) -> None:
    """Put ``model`` where ``predict_latency_ms`` finds it, replacing a fit for the same key."""
    path = latency_model_path()
    try:
        models = json.loads(path.read_text())["models"]
    except (OSError, ValueError, KeyError):
        models = []
    key = (model.backend, model.batch, model.threads, model.machine)
    models = [m for m in models if (m["backend"], m["batch"], m["threads"], m["machine"]) != key]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"models": [*models, model.to_dict()]}, indent=2) + "\n")
    print(f"Installed the fitted model in {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small grid, short timing")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--backend", default=DEFAULT_BACKEND)
    parser.add_argument("--install", action="store_true", help="install the fitted model")
    args = parser.parse_args()
    args.timing = QUICK if args.quick else FULL
    started, before = time.time(), os.getloadavg()
    print(f"load average before: {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}")
    null = null_net()
    overhead = measure_latency(
        null.build().eval(),
        null.input_shape,
        backend=args.backend,
        batch=args.batch,
        threads=args.threads,
        **dataclasses.asdict(args.timing),
    )
    print(f"per-run overhead (near-empty net): {overhead.median_ms:.3f} ms")
    rows = []
    for config in grid(args.quick):
        rows.append(measure_row(*config, args))
        print_row(rows[-1])
    model = fit_latency_model(
        rows,
        overhead.median_ms,
        backend=args.backend,
        batch=args.batch,
        threads=args.threads,
        machine=machine_id(),
    )
    table = pivot(rows)
    after = os.getloadavg()
    loaded = sum(row["loaded"] for row in rows) + overhead.loaded
    path = write_results(
        "block_throughput-quick" if args.quick else "block_throughput",
        {
            "backend": args.backend,
            "batch": args.batch,
            "threads": args.threads,
            "timing": dataclasses.asdict(args.timing),
            "depths": list(DEPTHS),
            "overhead": overhead.to_dict(),
            "rows": rows,
            "gmacs_per_s_table": table,
            "models": [model.to_dict()],
            "load_avg_before": list(before),
            "load_avg_after": list(after),
            "measurements_under_load": loaded,
            "seconds": time.time() - started,
        },
    )
    print(
        f"\nload average before {before[0]:.2f}, after {after[0]:.2f}; {loaded} of "
        f"{len(rows) + 1} measurements flagged as under load. {time.time() - started:.0f} s. "
        f"Wrote {path}"
    )
    if args.install:
        install(model)


if __name__ == "__main__":
    main()
