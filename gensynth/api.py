"""The public Python API: ``gensynth.explore``, ``gensynth.train``, ``gensynth.load_model``
and ``gensynth.predict``, the same runs as the commands of the same names.

Options are keyword arguments named like the command-line flags (``flops``, ``latency``,
``accuracy_min``, ...). They are checked against the one declaration of explore's options,
``ExploreOptions``, so a misspelt name is an error that names it. Numbers may be given as
numbers (``flops=100_000_000``, ``latency=0.5``) or as the strings the CLI takes
(``"100M"``, ``"0.5ms"``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gensynth.deploy import Prediction
    from gensynth.exploration import ExploreResult
    from gensynth.modeldir import LoadedModel
    from gensynth.prototypes import ArchSpec
    from gensynth.search.events import ExploreEvents

__all__ = ["explore", "load_model", "predict", "train"]


def explore(
    *,
    config: str | Path | None = None,
    events: ExploreEvents | None = None,
    force_resume: bool = False,
    overwrite: bool = False,
    baseline: bool = True,
    **options: Any,
) -> ExploreResult:
    """Search for a network within the limits, then train, export and time the winner.

    ``config`` is a study.yaml whose keys the keyword arguments override, as flags do.
    Returns the run's :class:`gensynth.exploration.ExploreResult`; the winner's folder is
    ``result.final.model_dir`` (``out/best``).
    """
    from gensynth.config import from_dict
    from gensynth.exploration import explore as run
    from gensynth.search.study_spec import ExploreOptions, resolve_options

    given = ExploreOptions.from_file(config) if config is not None else ExploreOptions()
    if options:
        given = given.merged(from_dict(ExploreOptions, options))
    spec = resolve_options(given)
    return run(spec, events, force_resume=force_resume, overwrite=overwrite, baseline=baseline)


def train(
    spec: str | Path | ArchSpec,
    *,
    out: str | Path,
    data: str | Path = "synthetic",
    overwrite: bool = False,
    progress: Callable[..., None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Train ``spec`` (a spec.yaml or an ArchSpec) with the full recipe, test it once, and
    write the model folder ``out``; returns what metrics.json holds.

    Options as ``gensynth train``'s flags: ``epochs``, ``batch_size``, ``lr``, ``seed``,
    ``threads``, ``format``, ``channels``, ``resize``, ``split``, ``device``, ``skip_bad``.
    """
    from gensynth.training.run import TrainRequest, run_training

    request = TrainRequest.from_options(spec, data=data, **options)
    return run_training(
        request, Path(out), overwrite=overwrite, progress=progress, should_stop=should_stop
    )


def load_model(path: str | Path) -> LoadedModel:
    """A trained model folder: its spec, the torch module in eval mode, and its metrics."""
    from gensynth.modeldir import load_model_dir

    return load_model_dir(Path(path))


def predict(
    model: str | Path,
    paths: Iterable[str | Path],
    *,
    int8: bool = False,
    backend: str = "onnxruntime-cpu",
    skip_bad: bool = False,
) -> Iterator[Prediction]:
    """Run an exported model folder (or a gensynth ONNX file) on images and folders: one
    typed row per image, with the preprocessing and decision rule read from the model."""
    from gensynth.deploy import Predictor

    # Built here, not inside a generator: a wrong model folder fails at the call.
    predictor = Predictor.from_model_dir(Path(model), int8=int8, backend=backend)
    return predictor.predict([Path(p) for p in paths], skip_bad=skip_bad)
