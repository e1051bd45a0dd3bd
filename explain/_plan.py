"""Opening an audit: the model, the data it is explained on, the settings and the gates.

Everything ``gensynth explain`` checks before any work happens lives here, so a Python user
who calls :func:`open_audit` gets the same checks and the same data as the command.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gensynth.config import check_positive_int
from gensynth.errors import ConfigError, DataError
from gensynth.explain._audit import AuditConfig, AuditResult, Progress
from gensynth.explain._gates import MASK_METRICS, Gate, parse_gate

if TYPE_CHECKING:
    from gensynth.data.dataset import DefectDataset
    from gensynth.modeldir import LoadedModel

__all__ = ["AuditPlan", "open_audit", "parse_methods"]


@dataclasses.dataclass
class AuditPlan:
    """A model and the test data to audit it on, checked, with the settings and the gates."""

    loaded: LoadedModel
    data: DefectDataset
    source: str
    split_seed: int
    config: AuditConfig
    gates: list[Gate]
    warnings: list[str]
    threads: int | None = None

    @property
    def available(self) -> int:
        """Test samples the data holds (the audit explains at most this many)."""
        return int((self.data.split == 2).sum())

    def run(self, progress: Progress | None = None) -> AuditResult:
        """Explain the test samples, run the sanity check and coverage (see ``run_audit``)."""
        from gensynth.explain._audit import run_audit
        from gensynth.explain._subject import Subject
        from gensynth.training import num_threads

        spec = self.loaded.spec
        subject = Subject(
            self.loaded.model, spec.task, spec.input_size, in_channels=spec.in_channels
        )
        with num_threads(self.threads):
            return run_audit(subject, self.data, self.config, progress=progress)

    def describe(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The model and data parts of the report's summary."""
        loaded, data = self.loaded, self.data
        model = {
            "name": loaded.path.resolve().name,
            "path": str(loaded.path),
            "spec": loaded.spec.describe(),
            "spec_hash": loaded.spec.spec_hash,
            "task": loaded.spec.task,
            "input_size": loaded.spec.input_size,
        }
        described = {
            "source": self.source,
            "format": data.format,
            "fingerprint": data.fingerprint,
            "split_seed": self.split_seed,
            "test_samples": int((data.split == 2).sum()),
            "has_masks": data.masks is not None,
            "warnings": self.warnings,
        }
        return model, described


def parse_methods(text: str) -> tuple[str, ...]:
    """Method names from ``gradcam,ig``; unknown ones list the valid ones and the closest."""
    from gensynth.explain._base import EXPLAINERS

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        valid = ", ".join(EXPLAINERS.names())
        raise ConfigError(f"--methods: expected one or more of {valid}, got {text!r}")
    for name in names:
        try:
            EXPLAINERS.get(name)
        except ConfigError as error:
            raise ConfigError(f"--methods: {error.message}", hint=error.hint) from None
    if len(set(names)) != len(names):
        raise ConfigError(f"--methods: expected each method once, got {text!r}")
    return names


def open_audit(
    model_dir: Path,
    *,
    methods: str,
    samples: int = 24,
    tau: float = 0.5,
    ig_steps: int = 16,
    seed: int = 0,
    fail_under: list[str] | None = None,
    data: str | None = None,
    data_format: str | None = None,
    threads: int | None = None,
    skip_bad: bool = False,
) -> AuditPlan:
    """Load the model and its data, and check every setting and gate, before any work."""
    from gensynth.modeldir import load_model_dir
    from gensynth.training import check_compatible

    names = parse_methods(methods)
    check_positive_int(samples, "--samples")
    check_positive_int(ig_steps, "--ig-steps")
    if threads is not None:
        check_positive_int(threads, "--threads")
    if not 0 < tau < 1:
        raise ConfigError(f"--tau: expected a number between 0 and 1 (exclusive), got {tau:g}")
    gates = [parse_gate(text, names) for text in fail_under or []]
    config = AuditConfig(methods=names, samples=samples, tau=tau, seed=seed, ig_steps=ig_steps)
    loaded = load_model_dir(model_dir)
    if loaded.spec.in_channels != 1:  # the explainers and the report read grey images
        raise DataError(
            f"explain reads grey images: {str(model_dir)!r} expects "
            f"{loaded.spec.in_channels} input channels, the data it reads has 1",
            hint="audit a grey model (--channels 1); colour audits are not supported yet",
        )
    source, split_seed, dataset = _load_data(loaded, data, data_format, seed, skip_bad)
    check_compatible(loaded.spec, dataset)
    _check_gates(gates, dataset, loaded.spec.task)
    warnings = _warnings(loaded, dataset)
    return AuditPlan(loaded, dataset, source, split_seed, config, gates, warnings, threads)


def _trained_data(loaded: LoadedModel) -> dict[str, Any]:
    metrics = loaded.metrics if isinstance(loaded.metrics, dict) else {}
    return metrics.get("data") or {}


def _load_data(
    loaded: LoadedModel, data: str | None, data_format: str | None, seed: int, skip_bad: bool
) -> tuple[str, int, DefectDataset]:
    """The data at the model's input size, split with the seed the model was trained on."""
    from gensynth.data import load_dataset

    source = data or _trained_data(loaded).get("source") or "synthetic"
    split_seed = loaded.metrics.get("seed", seed) if isinstance(loaded.metrics, dict) else seed
    if not isinstance(split_seed, int) or isinstance(split_seed, bool):
        split_seed = seed
    trained = _trained_data(loaded)
    dataset = load_dataset(
        source,
        task=loaded.spec.task,
        input_size=loaded.spec.input_size,
        format=data_format,
        seed=split_seed,
        skip_bad=skip_bad,
        # the training's resize policy and split file; colour models are refused by
        # check_compatible (the explainers read grey images)
        resize=trained.get("resize", "stretch"),
        split=(trained.get("split_file") or {}).get("path") if data is None else None,
    )
    return source, split_seed, dataset


def _warnings(loaded: LoadedModel, data: DefectDataset) -> list[str]:
    """What may mislead an auditor: other class names, or data the model was not trained on."""
    trained = _trained_data(loaded)
    warnings = []
    names = trained.get("class_names")
    if names and list(names) != list(data.class_names):
        warnings.append(
            f"class names differ from training: model {names}, data {list(data.class_names)}"
        )
    if trained.get("fingerprint") and trained["fingerprint"] != data.fingerprint:
        warnings.append(
            f"the data (fingerprint {data.fingerprint}) is not the data the model was trained "
            f"on ({trained['fingerprint']}): its test split may hold training images"
        )
    return warnings


def _check_gates(gates: list[Gate], data: DefectDataset, task: str) -> None:
    """Gates on metrics this data cannot measure are usage errors, before any work."""
    from gensynth.explain._coverage import injectable

    for gate in gates:
        if gate.metric in MASK_METRICS and data.masks is None:
            raise ConfigError(
                f"--fail-under {gate}: the data {data.root!r} has no defect masks",
                hint="gate on impact_score or coverage, or use data with masks",
            )
        usable = any(injectable(name) for name in data.class_names)
        if gate.metric == "coverage" and task == "classify" and not usable:
            raise ConfigError(
                f"--fail-under {gate}: coverage needs synthetic defect classes "
                f"(e.g. scratches), the data has {', '.join(data.class_names)}",
                hint="gate on impact_score or the mask metrics instead",
            )
