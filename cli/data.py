"""`gensynth data`: write the synthetic NEU-like set, and check a data folder."""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gensynth.cli._common import JsonOpt, OverwriteOpt, SeedOpt, TaskChoice, err, out, print_json
from gensynth.data import FORMATS

if TYPE_CHECKING:
    from gensynth.data import CheckReport

__all__ = ["app"]

app = typer.Typer(
    help="Synthesise the built-in NEU-like data set, or check a folder of defect images.\n\n"
    "Example: gensynth data synth ./neu-synth --preview && gensynth data check ./neu-synth",
    no_args_is_help=True,
    rich_markup_mode="rich",
)


#: Every registered layout (gensynth.data.FORMATS), so help and completion list them all.
FormatChoice = enum.Enum(  # type: ignore[misc]
    "FormatChoice", {name.replace("-", "_"): name for name in FORMATS.names()}, type=str
)


# Size and count are taken as text so that "abc" or "0" get our one-line error, not click's.
SizeOpt = Annotated[
    str, typer.Option("--size", help="Image side in pixels (NEU images are 200).", metavar="N")
]


@contextlib.contextmanager
def _progress(what: str) -> Iterator[Callable[[int, int], None]]:
    """A Rich progress bar on stderr, driven by ``progress(done, total)`` calls."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    columns = (f"[bold]{what}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(what, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


SYNTH_HELP = (
    "Write the synthetic NEU-like steel-defect set to OUT.\n\n"
    "classify: flat Cr_1.bmp … Sc_N.bmp (NEU-CLS), each defect mask in masks/. "
    "segment: Source Images/ + Ground truth/ (NEU-Seg). "
    "The same seed gives byte-identical files.\n\n"
    "Example: gensynth data synth ./neu-synth --per-class 300 --seed 0 --preview"
)
CHECK_HELP = (
    "Detect the layout of PATH, count images per class and split, and list every bad file; "
    "exit 1 when there are problems.\n\n"
    "Layouts: neu-cls (flat Cr_1.bmp … Sc_300.bmp, optional masks/); neu-det (IMAGES/ + "
    "ANNOTATIONS/ VOC, or train|validation/images/<class>/); neu-seg (Source Images/ + "
    "Ground truth/); generic-cls (<class>/*.png|jpg|bmp|tif); generic-seg (images/ + masks/)."
    "\n\nExample: gensynth data check ./NEU-DET --format neu-det --json"
)


@app.command("synth", help=SYNTH_HELP)
def synth(
    out_dir: Annotated[
        Path, typer.Argument(metavar="OUT", help="Folder to write (new or empty).")
    ],
    task: Annotated[
        TaskChoice, typer.Option("--task", help="classify: 6 classes; segment: 3, with masks.")
    ] = TaskChoice.classify,
    per_class: Annotated[
        str, typer.Option("--per-class", help="Images per class (NEU has 300).", metavar="N")
    ] = "300",
    size: SizeOpt = "200",
    seed: SeedOpt = 0,
    overwrite: OverwriteOpt = False,
    preview: Annotated[
        bool,
        typer.Option("--preview", help="Also write a contact sheet per class to OUT/preview/."),
    ] = False,
) -> None:
    """Write the synthetic NEU-like set (see SYNTH_HELP)."""
    from gensynth.constraints.quantities import parse_positive_int
    from gensynth.data import synthesize

    count = parse_positive_int(per_class, what="--per-class")
    side = parse_positive_int(size, what="--size")
    with _progress("synthesising") as progress:
        report = synthesize(
            out_dir,
            task=task.value,
            per_class=count,
            size=side,
            seed=seed,
            overwrite=overwrite,
            preview=preview,
            progress=progress,
        )
    for sheet in report.previews:
        err.print(f"preview: {sheet}", highlight=False)
    err.print(
        f"[green]wrote {report.total} images[/green] ({len(report.counts)} classes × "
        f"{count}, {side}×{side}, seed {seed}) to {report.out} in {report.seconds:.1f} s",
        highlight=False,
    )


def _sizes_line(sizes: dict[str, int], shown: int = 5) -> str:
    """The most common sizes, and the range of the rest (``--json`` lists every one)."""
    if not sizes:
        return "none"
    common = sorted(sizes.items(), key=lambda item: -item[1])
    text = ", ".join(f"{size} ({n})" for size, n in common[:shown])
    if len(common) <= shown:
        return text
    dims = [tuple(int(v) for v in size.split("x")) for size in sizes]
    widths, heights = [w for w, _ in dims], [h for _, h in dims]
    return (
        f"{text} and {len(common) - shown} other sizes; widths {min(widths)}-{max(widths)}, "
        f"heights {min(heights)}-{max(heights)}"
    )


@app.command("check", help=CHECK_HELP)
def check(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="The data folder to check.")],
    format: Annotated[
        FormatChoice | None,
        typer.Option("--format", help="Skip detection and read the folder in this layout."),
    ] = None,
    task: Annotated[
        TaskChoice | None,
        typer.Option("--task", help="Also check the folder suits this task (segment: masks)."),
    ] = None,
    size: SizeOpt = "200",
    channels: Annotated[
        int, typer.Option("--channels", help="Decode as training would: 1 grey, 3 RGB.")
    ] = 1,
    resize: Annotated[
        str, typer.Option("--resize", help="Decode as training would: stretch, pad, crop.")
    ] = "stretch",
    split: Annotated[
        Path | None, typer.Option("--split", help="Check a CSV of path,split rows too.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Report the layout, counts and bad files of a data folder (see CHECK_HELP)."""
    from gensynth.constraints.quantities import parse_input_size
    from gensynth.data import check_dataset

    side = parse_input_size(size, what="--size")
    with _progress("checking") as progress:
        report = check_dataset(
            path,
            format=format.value if format else None,
            task=task.value if task else None,
            input_size=side,
            progress=progress,
            channels=channels,
            resize=resize,
            split=split,
        )
    if as_json:
        print_json(report.to_dict())
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _colour_line(report: CheckReport) -> str:
    sampled, colour = report.colour["sampled"], report.colour["colour"]
    text = f"colour: {colour} of {sampled} sampled images"
    if colour == 0:
        return text + " (grey content: --channels 1 loses nothing)"
    if report.channels == 1:
        return text + " (loaded as grey by default; --channels 3 keeps the colour)"
    return text + " (kept: --channels 3)"


def _print_report(report: CheckReport) -> None:
    from rich.markup import escape
    from rich.table import Table

    masks = {"pixel": "pixel masks", "boxes": "bounding boxes (filled as masks)"}
    out.print(
        f"[bold]{escape(report.root)}[/bold]: format [cyan]{report.format}[/cyan], "
        f"{masks.get(report.masks or '', 'no masks')}",
        highlight=False,
    )
    table = Table("class", "images", "train", "val", "test")
    for name, count in report.counts.items():
        table.add_row(escape(name), *(str(count[k]) for k in ("total", "train", "val", "test")))
    out.print(table)
    out.print(f"image sizes on disk: {_sizes_line(report.image_sizes)}", highlight=False)
    if report.colour.get("sampled"):
        out.print(_colour_line(report), highlight=False)
    if report.fingerprint:
        out.print(f"fingerprint: {report.fingerprint}", highlight=False)
    if report.ok:
        err.print(f"[green]ok[/green]: {report.total} usable images, no problems", highlight=False)
        return
    for problem in report.problems:
        out.print(
            f"[red]bad[/red] {escape(problem.path)}: {escape(problem.reason)}", highlight=False
        )
    err.print(
        f"[bold red]{len(report.problems)} problem(s)[/bold red] in {escape(report.root)}",
        highlight=False,
    )
