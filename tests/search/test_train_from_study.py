"""`gensynth train --study NAME --trial N --storage URL` trains a trial's spec in full."""

from __future__ import annotations

import json

from search_builders import tiny_dataset, tiny_spec
from typer.testing import CliRunner

from gensynth.cli.main import app
from gensynth.exploration import explore

runner = CliRunner()


def test_train_a_trial_of_a_study(tmp_path, tiny_data, monkeypatch):
    spec = tiny_spec(tmp_path, trials=1, final_epochs=0)
    explore(spec, data=tiny_data, finalize_winner=False)
    monkeypatch.setattr(
        "gensynth.data.load_dataset", lambda *a, **k: tiny_dataset(), raising=False
    )
    out = tmp_path / "model"
    args = ["train", "--study", "tiny", "--trial", "0", "--storage", spec.storage,
            "--epochs", "1", "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    study_spec = spec_hash_of_trial(spec.storage)
    assert metrics["spec_hash"] == study_spec


def spec_hash_of_trial(storage: str) -> str:
    import optuna

    return optuna.load_study(study_name="tiny", storage=storage).trials[0].user_attrs["spec_hash"]


def test_unknown_study_and_trial(tmp_path, tiny_data):
    spec = tiny_spec(tmp_path, trials=1, final_epochs=0)
    explore(spec, data=tiny_data, finalize_winner=False)
    base = ["train", "--storage", spec.storage, "--out", str(tmp_path / "m")]
    missing = runner.invoke(app, [*base, "--study", "tinny", "--trial", "0"])
    assert missing.exit_code == 1 and "did you mean 'tiny'" in missing.output
    no_trial = runner.invoke(app, [*base, "--study", "tiny", "--trial", "7"])
    assert no_trial.exit_code == 2 and "has no trial 7" in no_trial.output
