"""Creating, resuming and describing gensynth studies: plain Optuna studies with metadata.

Everything gensynth stores is JSON-serialisable user attributes, so optuna-dashboard and
Optuna's public API read the same study.
"""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, Any, Literal, cast

from gensynth.errors import ConfigError, StorageError
from gensynth.studies.storage import open_existing_storage, open_storage, redact

if TYPE_CHECKING:
    import optuna

    from gensynth.search.study_spec import StudySpec

__all__ = [
    "DATA_KEY",
    "IDENTITY_KEY",
    "SPEC_KEY",
    "load_existing_study",
    "make_sampler",
    "open_study",
    "study_names",
]

SPEC_KEY = "gensynth.spec"
IDENTITY_KEY = "gensynth.identity"
DATA_KEY = "gensynth.data"
PROVENANCE_KEY = "gensynth.provenance"


def make_sampler(spec: StudySpec, *, worker: int = 0) -> optuna.samplers.BaseSampler:
    """The seeded sampler for a strategy, the same in every worker.

    Draws are reseeded from (seed, trial number) before each trial, so concurrent workers,
    other machines and reruns never replay one another's candidates, and trial N draws the
    same whichever worker runs it. ``worker`` is kept for callers; it no longer changes draws.
    """
    from gensynth.studies.samplers import TrialSeededRandomSampler, TrialSeededTPESampler

    del worker  # one stream per trial number, not per process
    seed = spec.seed * 1009
    if spec.strategy == "random":
        return TrialSeededRandomSampler(seed=seed)
    startup = max(4, min(10, spec.trials // 4))
    return TrialSeededTPESampler(
        seed=seed, n_startup_trials=startup, multivariate=True, constant_liar=True
    )


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
    spec: StudySpec,
    *,
    data_info: dict[str, Any],
    sampler: optuna.samplers.BaseSampler | None = None,
    force_resume: bool = False,
    storage: optuna.storages.BaseStorage | None = None,
) -> tuple[optuna.Study, bool]:
    """Create the study, or resume it if its task, limits and data match; (study, resumed)."""
    import optuna

    from gensynth import provenance

    storage = storage if storage is not None else open_storage(spec.storage)
    resumed = spec.study_name in study_names(storage)
    if resumed:
        study = optuna.load_study(study_name=spec.study_name, storage=storage, sampler=sampler)
        _check_resumable(study, spec, data_info, force_resume)
        return study, True
    study = optuna.create_study(
        study_name=spec.study_name,
        storage=storage,
        sampler=sampler,
        directions=cast("list[Literal['minimize', 'maximize']]", spec.directions),
        load_if_exists=True,  # another worker may create it at the same moment
    )
    if SPEC_KEY not in study.user_attrs:
        study.set_user_attr(SPEC_KEY, {**spec.to_dict(), "storage": redact(spec.storage)})
        study.set_user_attr(IDENTITY_KEY, spec.identity())
        study.set_user_attr(DATA_KEY, data_info)
        study.set_user_attr(
            PROVENANCE_KEY,
            {
                "versions": provenance.versions(),
                "git_sha": provenance.git_sha(),
                "machine": provenance.machine(),
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            },
        )
    return study, False


def _check_resumable(
    study: optuna.Study, spec: StudySpec, data_info: dict[str, Any], force: bool
) -> None:
    attrs = study.user_attrs
    if IDENTITY_KEY not in attrs:
        raise ConfigError(
            f"study {spec.study_name!r} exists but was not made by gensynth explore",
            hint="choose another --study name",
        )
    problems = _differences(attrs[IDENTITY_KEY], spec.identity())
    stored_fp = attrs.get(DATA_KEY, {}).get("fingerprint")
    if stored_fp != data_info.get("fingerprint"):
        problems.append(f"data fingerprint {stored_fp} (now {data_info.get('fingerprint')})")
    if problems and not force:
        raise ConfigError(
            f"study {spec.study_name!r} in {redact(spec.storage)} was made with "
            + "; ".join(problems[:4]),
            hint="pick a new --study name, or pass --force-resume to continue it anyway",
        )


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
