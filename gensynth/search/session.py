"""Everything one exploration needs, opened once: data, study, generator, inquisitor, store."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.errors import ConfigError
from gensynth.search.generator import Generator
from gensynth.search.inquisitor import Inquisitor

if TYPE_CHECKING:
    import optuna
    from optuna.artifacts import FileSystemArtifactStore

    from gensynth.data.dataset import DefectDataset
    from gensynth.search.budget import BudgetPlan
    from gensynth.search.study_spec import StudySpec
    from gensynth.studies.study import StudyAttrs
    from gensynth.training import TrainConfig

__all__ = ["ExploreSession", "open_session", "proxy_config", "study_attrs"]

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
    plan: BudgetPlan
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
        device=spec.device,
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
    data.check_task(spec.task)


def study_attrs(spec: StudySpec, data: DefectDataset) -> StudyAttrs:
    """What the study records about itself: the spec, what must match to resume, the data."""
    from gensynth.studies.study import StudyAttrs

    return StudyAttrs(spec=spec.to_dict(), identity=spec.identity(), data=data_info(data, spec))


def open_session(
    spec: StudySpec,
    *,
    force_resume: bool = False,
    worker: int = 0,
    data: DefectDataset | None = None,
) -> ExploreSession:
    """Load data, open (or resume) the study and build the generator–inquisitor pair."""
    from gensynth.data import load_dataset
    from gensynth.prototypes import get_prototype
    from gensynth.search.budget import fixed_plan, plan_budget
    from gensynth.studies.artifacts import AtomicFileSystemArtifactStore
    from gensynth.studies.samplers import make_sampler
    from gensynth.studies.storage import open_storage, parse_storage_url
    from gensynth.studies.study import open_study, stored_spec_of
    from gensynth.training import resolve_device

    get_prototype(spec.prototype)  # unknown names fail before any data is read
    resolve_device(spec.device)  # so does --device cuda without a GPU
    latency = spec.limits.latency_indicator(spec.threads)  # so do unknown or missing backends
    storage = open_storage(spec.storage)
    if data is None:
        size = spec.input_size or DEFAULT_INPUT_SIZE
        data = load_dataset(
            spec.data, task=spec.task, input_size=size, format=spec.data_format,
            skip_bad=spec.skip_bad, channels=spec.channels, resize=spec.resize, split=spec.split,
        )  # fmt: skip
    _check_task_fit(spec, data)
    io = {
        "in_channels": data.channels,
        "input_size": data.input_size,
        "num_classes": data.num_classes if spec.task == "classify" else 1,
    }
    plan = fixed_plan(spec)
    if spec.planned:
        reference = Generator(spec, latency=latency, **io).reference().spec
        stored = stored_spec_of(storage, spec.study_name)
        spec, plan = plan_budget(
            spec, data, reference, proxy_config(spec, data.input_size), stored
        )
    elif latency is not None and spec.limits.band is None:  # latency-first: an unreachable
        Generator(spec, latency=latency, **io).reference()  # budget stops before training
    study, resumed = open_study(
        spec.study_name,
        storage,
        storage_url=spec.storage,
        directions=spec.directions,
        sampler=make_sampler(spec.strategy, seed=spec.seed, trials=spec.trials),
        attrs=study_attrs(spec, data),
        metric_names=list(spec.objectives),
        force_resume=force_resume,
    )
    config = proxy_config(spec, data.input_size)
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
        artifact_store=AtomicFileSystemArtifactStore(artifact_dir),
        artifact_dir=artifact_dir,
        train_config=config,
        plan=plan,
        worker=worker,
    )
