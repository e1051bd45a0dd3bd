"""Everything one exploration needs, opened once: data, study, generator, inquisitor, store."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.errors import ConfigError, DataError
from gensynth.search.generator import Generator
from gensynth.search.inquisitor import Inquisitor

if TYPE_CHECKING:
    import optuna
    from optuna.artifacts import FileSystemArtifactStore

    from gensynth.data.dataset import DefectDataset
    from gensynth.search.study_spec import StudySpec
    from gensynth.training import TrainConfig

__all__ = ["ExploreSession", "open_session", "proxy_config"]

#: Proxy resolution used when the spec sets none: cheap enough for many trials on a CPU.
DEFAULT_PROXY = {"classify": 96, "segment": 96}
#: Validation images the inquisitor probes each candidate with (one forward per stage).
PROBE_SAMPLES = {"classify": 96, "segment": 48}
DEFAULT_INPUT_SIZE = 200


@dataclasses.dataclass
class ExploreSession:
    spec: StudySpec
    data: DefectDataset
    study: optuna.Study
    resumed: bool
    generator: Generator
    inquisitor: Inquisitor
    artifact_store: FileSystemArtifactStore
    artifact_dir: Path
    train_config: TrainConfig
    worker: int = 0


def proxy_config(spec: StudySpec, input_size: int) -> TrainConfig:
    """The inquisitor's recipe: the task's full recipe on the proxy budget and resolution."""
    from gensynth.training import TrainConfig

    proxy = spec.proxy_size or min(DEFAULT_PROXY[spec.task], input_size)
    return TrainConfig.for_task(
        spec.task,
        epochs=spec.epochs,
        input_size=None if proxy >= input_size else proxy,
        max_train_samples=spec.proxy_samples,
        seed=spec.seed,
        threads=spec.threads,
    )


def data_info(data: DefectDataset, spec: StudySpec) -> dict[str, Any]:
    """What the study records about its data: enough to tell whether a rerun matches."""
    return {
        "source": spec.data,
        "format": data.format,
        "fingerprint": data.fingerprint,
        "classes": list(data.class_names),
        "input_size": data.input_size,
        "counts": data.counts(),
    }


def _check_task_fit(spec: StudySpec, data: DefectDataset) -> None:
    from gensynth.prototypes import get_prototype

    prototype = get_prototype(spec.prototype)
    if prototype.task != spec.task:
        raise ConfigError(
            f"prototype {spec.prototype!r} is for --task {prototype.task}, not {spec.task}",
            hint=f"use --task {prototype.task}, or a {spec.task} prototype "
            "(gensynth prototypes list)",
        )
    if spec.task == "segment" and data.masks is None:
        raise DataError(
            f"data {spec.data!r} has no defect masks, expected masks for --task segment",
            hint="use a segmentation set (images/ + masks/, or NEU-Seg), or --task classify",
        )
    if spec.task == "classify" and data.num_classes < 2:
        raise DataError(
            f"data {spec.data!r} has {data.num_classes} class, expected at least 2 to classify"
        )


def _latency_indicator(spec: StudySpec) -> Any:
    if spec.latency_ms is None:
        return None
    from gensynth.constraints.latency import LatencyIndicator

    return LatencyIndicator(spec.latency_ms, spec.backend, spec.batch, spec.threads)


def open_session(
    spec: StudySpec,
    *,
    force_resume: bool = False,
    worker: int = 0,
    data: DefectDataset | None = None,
) -> ExploreSession:
    """Load data, open (or resume) the study and build the generator–inquisitor pair."""
    from optuna.artifacts import FileSystemArtifactStore

    from gensynth.data import load_dataset
    from gensynth.prototypes import get_prototype
    from gensynth.studies.storage import open_storage, parse_storage_url
    from gensynth.studies.study import make_sampler, open_study

    get_prototype(spec.prototype)  # unknown names fail before any data is read
    latency = _latency_indicator(spec)  # unknown or missing backends fail early too
    storage = open_storage(spec.storage)
    if data is None:
        size = spec.input_size or DEFAULT_INPUT_SIZE
        data = load_dataset(
            spec.data, task=spec.task, input_size=size, format=spec.data_format,
            skip_bad=spec.skip_bad,
        )  # fmt: skip
    _check_task_fit(spec, data)
    study, resumed = open_study(
        spec,
        data_info=data_info(data, spec),
        sampler=make_sampler(spec, worker=worker),
        force_resume=force_resume,
        storage=storage,
    )
    config = proxy_config(spec, data.input_size)
    io = {
        "in_channels": 1,
        "input_size": data.input_size,
        "num_classes": data.num_classes if spec.task == "classify" else 1,
    }
    artifact_dir = parse_storage_url(spec.storage).artifact_dir(
        Path(spec.artifacts) if spec.artifacts else None
    )
    artifact_dir.mkdir(parents=True, exist_ok=True)
    return ExploreSession(
        spec=spec,
        data=data,
        study=study,
        resumed=resumed,
        generator=Generator(spec, latency=latency, **io),
        inquisitor=Inquisitor(
            data, config, task=spec.task, probe_samples=PROBE_SAMPLES[spec.task]
        ),
        artifact_store=FileSystemArtifactStore(str(artifact_dir)),
        artifact_dir=artifact_dir,
        train_config=config,
        worker=worker,
    )
