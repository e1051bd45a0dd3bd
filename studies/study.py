"""Creating, resuming and describing gensynth studies: plain Optuna studies with metadata.

Everything gensynth stores is JSON-serialisable user attributes, so optuna-dashboard and
Optuna's public API read the same study.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import TYPE_CHECKING, Any, Literal, cast

from gensynth.errors import ConfigError, StorageError
from gensynth.provenance import stamp
from gensynth.studies.storage import open_existing_storage, redact

if TYPE_CHECKING:
    import optuna

__all__ = [
    "DATA_KEY",
    "IDENTITY_KEY",
    "SPEC_KEY",
    "StudyAttrs",
    "load_existing_study",
    "name_metrics",
    "open_study",
    "stored_spec_of",
    "study_names",
]

SPEC_KEY = "gensynth.spec"
IDENTITY_KEY = "gensynth.identity"
DATA_KEY = "gensynth.data"
PROVENANCE_KEY = "gensynth.provenance"


@dataclasses.dataclass(frozen=True)
class StudyAttrs:
    """What a gensynth study records about itself when it is created.

    ``spec`` is the full resolved exploration, ``identity`` the part that must match for a
    rerun to continue the study, ``data`` what it was run on (its fingerprint must match too).
    """

    spec: dict[str, Any]
    identity: dict[str, Any]
    data: dict[str, Any]


def study_names(storage: optuna.storages.BaseStorage) -> list[str]:
    """Names of the studies in a storage, sorted."""
    import optuna

    summaries = optuna.get_all_study_summaries(storage, include_best_trial=False)
    return sorted(summary.study_name for summary in summaries)


def _differences(stored: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    keys = sorted(set(stored) | set(wanted))
    return [
        f"{key}={stored.get(key)!r} (now {wanted.get(key)!r})"
        for key in keys
        if stored.get(key) != wanted.get(key)
    ]


def open_study(
    name: str,
    storage: optuna.storages.BaseStorage,
    *,
    storage_url: str,
    directions: list[str],
    sampler: optuna.samplers.BaseSampler | None,
    attrs: StudyAttrs,
    metric_names: list[str] | None = None,
    force_resume: bool = False,
) -> tuple[optuna.Study, bool]:
    """Create the study, or resume it if its identity and data match; (study, resumed).

    ``metric_names`` name the objectives, in order. A resumed study that has no names yet (made
    by an older gensynth) gets them, and nothing else of it changes.
    """
    import optuna

    if name in study_names(storage):
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
        _check_resumable(study, name, storage_url, attrs, force_resume)
        name_metrics(study, metric_names or [])
        return study, True
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        sampler=sampler,
        directions=cast("list[Literal['minimize', 'maximize']]", directions),
        load_if_exists=True,  # another worker may create it at the same moment
    )
    if SPEC_KEY not in study.user_attrs:
        study.set_user_attr(SPEC_KEY, {**attrs.spec, "storage": redact(storage_url)})
        study.set_user_attr(IDENTITY_KEY, attrs.identity)
        study.set_user_attr(DATA_KEY, attrs.data)
        study.set_user_attr(PROVENANCE_KEY, stamp())
    name_metrics(study, metric_names or [])
    return study, False


def name_metrics(study: optuna.Study, wanted: list[str]) -> list[str] | None:
    """Give an unnamed study's objectives names; the names it ends up with.

    The objectives the study was created with (its stored spec) win over ``wanted``, since they
    are what its values are; names whose count does not match the directions are never set.
    """
    import optuna

    if study.metric_names is not None:
        return study.metric_names
    stored = study.user_attrs.get(SPEC_KEY, {}).get("objectives")
    count = len(study.directions)
    names = next((list(c) for c in (stored, wanted) if _names_fit(c, count)), None)
    if names is not None:
        with warnings.catch_warnings():  # set_metric_names is "experimental" since Optuna 3.2
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(names)
    return names


def _names_fit(names: Any, count: int) -> bool:
    return (
        isinstance(names, list | tuple)
        and len(names) == count
        and all(isinstance(n, str) and n for n in names)
        and len(set(names)) == count
    )


def _check_resumable(
    study: optuna.Study, name: str, storage_url: str, attrs: StudyAttrs, force: bool
) -> None:
    stored = study.user_attrs
    if IDENTITY_KEY not in stored:
        raise ConfigError(
            f"study {name!r} exists but was not made by gensynth explore",
            hint="choose another --study name",
        )
    problems = _differences(stored[IDENTITY_KEY], attrs.identity)
    stored_fp = stored.get(DATA_KEY, {}).get("fingerprint")
    if stored_fp != attrs.data.get("fingerprint"):
        problems.append(f"data fingerprint {stored_fp} (now {attrs.data.get('fingerprint')})")
    if problems and not force:
        raise ConfigError(
            f"study {name!r} in {redact(storage_url)} was made with " + "; ".join(problems[:4]),
            hint="pick a new --study name, or pass --force-resume to continue it anyway",
        )


def stored_spec_of(storage: optuna.storages.BaseStorage, name: str) -> dict[str, Any] | None:
    """The exploration spec a gensynth study ``name`` was created with, or None."""
    import optuna

    if name not in study_names(storage):
        return None
    spec = optuna.load_study(study_name=name, storage=storage).user_attrs.get(SPEC_KEY)
    return spec if isinstance(spec, dict) else None


def load_existing_study(name: str, storage_url: str) -> optuna.Study:
    """Open a study for reading; a missing name lists the ones that exist."""
    import optuna

    from gensynth.registry import closest

    storage = open_existing_storage(storage_url)
    names = study_names(storage)
    if name not in names:
        near = closest(name, names)
        raise StorageError(
            f"no study named {name!r} in {redact(storage_url)}; "
            f"it holds: {', '.join(names) if names else 'no studies'}",
            hint=f"did you mean {near!r}?" if near else "gensynth studies list --storage URL",
        )
    return optuna.load_study(study_name=name, storage=storage)
