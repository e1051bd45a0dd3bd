"""Fetching one trial's spec and proxy-trained weights from a shared study.

Weights live in the study's artifact store: ``<study file>.artifacts/`` beside a SQLite or
journal file, or the folder given as ``--artifacts`` (recorded on the study) for databases.
A teammate who shares the database and that folder can fetch any trial's model.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.errors import ConfigError, StorageError
from gensynth.studies.records import Attr
from gensynth.studies.storage import parse_storage_url, redact
from gensynth.studies.study import SPEC_KEY, load_existing_study

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial

    from gensynth.prototypes import ArchSpec

__all__ = [
    "artifact_dir_of",
    "download_trial_weights",
    "fetch_trial",
    "find_trial",
    "spec_of_trial",
]


def find_trial(study: optuna.Study, number: int) -> FrozenTrial:
    """Trial ``number`` of ``study``; a missing number says which exist."""
    trials = study.get_trials(deepcopy=False)
    match = next((t for t in trials if t.number == number), None)
    if match is None:
        have = f"0..{len(trials) - 1}" if trials else "none yet"
        raise ConfigError(
            f"--trial: study {study.study_name!r} has no trial {number}; expected one of {have}",
            hint=f"gensynth studies show {study.study_name} --storage URL lists the best ones",
        )
    return match


def _spec_of(trial: FrozenTrial, study_name: str) -> ArchSpec:
    from gensynth.prototypes import spec_from_dict

    data = trial.user_attrs.get(Attr.SPEC)
    if data is None:
        raise ConfigError(
            f"trial {trial.number} of study {study_name!r} has no spec "
            f"(state {trial.state.name}); expected a trial gensynth proposed"
        )
    return spec_from_dict(data, path=f"trial {trial.number} spec")


def spec_of_trial(storage_url: str, study_name: str, number: int) -> ArchSpec:
    """The architecture spec of trial ``number`` (any trial gensynth proposed)."""
    study = load_existing_study(study_name, storage_url)
    return _spec_of(find_trial(study, number), study_name)


def artifact_dir_of(study: optuna.Study, storage_url: str, artifacts: Path | None) -> Path:
    """Where the study's artifacts are: ``artifacts``, the recorded --artifacts, or the default."""
    if artifacts is None:
        recorded = (study.user_attrs.get(SPEC_KEY) or {}).get("artifacts")
        artifacts = Path(recorded) if recorded else None
    return parse_storage_url(storage_url).artifact_dir(artifacts)


def _weights_id(trial: FrozenTrial, study_name: str) -> str:
    artifact = trial.user_attrs.get(Attr.WEIGHTS)
    if artifact:
        return str(artifact)
    why = trial.user_attrs.get(Attr.REASON) or trial.user_attrs.get(Attr.FAIL_REASON)
    raise ConfigError(
        f"trial {trial.number} of study {study_name!r} has no trained weights "
        f"(state {trial.state.name}{'; ' + why if why else ''}); expected a feasible trial",
        hint="pick a trial from gensynth studies show, or train its spec with gensynth train",
    )


def download_trial_weights(
    storage_url: str,
    study_name: str,
    number: int,
    dest: str | Path,
    artifacts: str | Path | None = None,
) -> Path:
    """Copy trial ``number``'s proxy-trained safetensors weights to ``dest``; the file.

    ``dest`` is a file path, or an existing folder (the file is then ``trial-N.safetensors``).
    """
    from optuna.artifacts import FileSystemArtifactStore, download_artifact

    study = load_existing_study(study_name, storage_url)
    trial = find_trial(study, number)
    artifact_id = _weights_id(trial, study_name)
    folder = artifact_dir_of(study, storage_url, Path(artifacts) if artifacts else None)
    if not (folder / artifact_id).is_file():
        raise StorageError(
            f"the weights of trial {number} ({artifact_id}) are not in {str(folder)!r}",
            hint="pass the study's artifact folder (--artifacts DIR) as shared by the team",
        )
    target = Path(dest)
    if target.is_dir():
        target = target / f"trial-{number}.safetensors"
    if target.exists():
        raise ConfigError(f"{str(target)!r} exists already; expected a new file")
    if not target.parent.is_dir():
        raise ConfigError(f"folder {str(target.parent)!r} does not exist", hint="create it")
    download_artifact(
        artifact_store=FileSystemArtifactStore(str(folder)),
        artifact_id=artifact_id,
        file_path=str(target),
    )
    return target


def fetch_trial(
    storage_url: str,
    study_name: str,
    number: int,
    out: Path,
    artifacts: str | Path | None = None,
) -> dict[str, Any]:
    """Write ``spec.yaml`` and (if trained) ``weights.safetensors`` of a trial into ``out``."""
    from gensynth.prototypes import dump_spec

    spec = spec_of_trial(storage_url, study_name, number)
    out.mkdir(parents=True, exist_ok=True)
    if any((out / name).exists() for name in ("spec.yaml", "weights.safetensors")):
        raise ConfigError(f"--out {str(out)!r} already holds spec.yaml or weights.safetensors")
    dump_spec(spec, out / "spec.yaml")
    files = {"spec": str(out / "spec.yaml")}
    try:
        weights = download_trial_weights(
            storage_url, study_name, number, out / "weights.safetensors", artifacts
        )
        files["weights"] = str(weights)
    except ConfigError as error:  # an infeasible or failed trial: the spec alone is useful
        files["weights_missing"] = error.message
    return {"study": study_name, "trial": number, "storage": redact(storage_url), **files}
