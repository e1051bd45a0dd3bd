"""One full training run from its options: checks first, then data, then the model folder.

``gensynth train`` and :func:`gensynth.train` both go through :func:`run_training`, so
the Python API gets the same checks, defaults and order (nothing is written until the spec,
the options and the data have all been accepted).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.errors import ConfigError

if TYPE_CHECKING:
    from gensynth.prototypes import ArchSpec
    from gensynth.training._fit import Progress

__all__ = ["TrainRequest", "run_training"]


@dataclasses.dataclass(frozen=True)
class TrainRequest:
    """What to train and how: a spec, its data, and the options of ``gensynth train``.

    ``None`` means the recipe's default (``TrainConfig.full``); ``channels`` defaults to the
    spec's ``in_channels``. An explicit ``epochs`` is not cut to the default time budget.
    """

    spec: ArchSpec
    data: str = "synthetic"
    format: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    seed: int = 0
    threads: int | None = None
    channels: int | None = None
    resize: str = "stretch"
    split: Path | None = None
    device: str = "auto"
    skip_bad: bool = False

    @classmethod
    def from_options(
        cls, spec: str | Path | ArchSpec, *, data: str | Path = "synthetic", **options: Any
    ) -> TrainRequest:
        """From a spec (file or object) and keyword options named like the CLI flags."""
        from gensynth.prototypes import ArchSpec, load_spec

        known = {f.name for f in dataclasses.fields(cls)} - {"spec", "data"}
        for name in options:
            if name not in known:
                from gensynth.registry import closest

                near = closest(name, sorted(known))
                raise ConfigError(
                    f"train: unknown option {name!r}; expected one of: {', '.join(sorted(known))}",
                    hint=f"did you mean {near!r}?" if near else None,
                )
        arch = spec if isinstance(spec, ArchSpec) else load_spec(Path(spec))
        split = options.pop("split", None)
        return cls(
            spec=arch,
            data=str(data),
            split=None if split is None else Path(split),
            **options,
        )

    def check(self) -> None:
        """Every check that needs no data: numbers, channels, resize, device."""
        from gensynth.data.preprocess import Preprocessing
        from gensynth.training._device import resolve_device
        from gensynth.training._full import check_channels

        for name in ("epochs", "batch_size", "lr", "threads"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not value > 0):
                flag = "--" + name.replace("_", "-")
                raise ConfigError(f"{flag}: expected a positive number, got {value}")
        channels = self.resolved_channels
        Preprocessing(channels=channels, input_size=self.spec.input_size, resize=self.resize)  # type: ignore[arg-type]
        check_channels(self.spec, channels)
        resolve_device(self.device)  # --device cuda without a GPU fails before any data is read

    @property
    def resolved_channels(self) -> int:
        return self.spec.in_channels if self.channels is None else int(self.channels)

    def config(self) -> Any:
        """The ``TrainConfig`` of this request: the full recipe with the options applied."""
        from gensynth.training._config import TrainConfig

        options: dict[str, Any] = {"seed": self.seed, "threads": self.threads}
        options["device"] = self.device
        if self.epochs is not None:
            options |= {"epochs": self.epochs, "time_budget": None}
        options.update(
            {k: v for k, v in (("batch_size", self.batch_size), ("lr", self.lr)) if v is not None}
        )
        return TrainConfig.full(self.spec.task, **options)


def run_training(
    request: TrainRequest,
    out: Path,
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """Check, load the data, train, test once and write the model folder; its metrics."""
    from gensynth.data import load_dataset
    from gensynth.paths import check_out_dir, prepare_out_dir
    from gensynth.training._full import train_to_dir

    request.check()
    check_out_dir(out, overwrite=overwrite, what="model folder")
    config = request.config()
    arch = request.spec
    dataset = load_dataset(
        request.data, task=arch.task, input_size=arch.input_size, format=request.format,
        seed=request.seed, skip_bad=request.skip_bad, channels=request.resolved_channels,
        resize=request.resize, split=request.split,
    )  # fmt: skip
    prepare_out_dir(out, overwrite=overwrite, what="model folder")  # data errors write nothing
    return train_to_dir(
        arch,
        dataset,
        config,
        out,
        data_source=request.data,
        progress=progress,
        should_stop=should_stop,
    )
