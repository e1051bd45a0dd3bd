"""A real (tiny) exploration read back the way a teammate would: Optuna, the dashboard, fetch."""

from __future__ import annotations

import io
import json
import wsgiref.util

import optuna
import pytest
from safetensors.torch import load_file
from typer.testing import CliRunner

from gensynth.cli.main import app
from gensynth.errors import ConfigError, StorageError
from gensynth.exploration import explore
from gensynth.search.study_spec import ExploreOptions, resolve_options
from gensynth.studies.leaderboard import leaderboard
from gensynth.studies.records import Attr, constraints_of
from gensynth.studies.trials import download_trial_weights, spec_of_trial

runner = CliRunner()


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """(storage URL, folder) of a 2-trial study explored on a data folder."""
    from studies_builders import write_class_folder

    root = tmp_path_factory.mktemp("shared")
    data = write_class_folder(root / "data")
    url = f"sqlite:///{root}/team.db"
    spec = resolve_options(ExploreOptions(
        data=str(data), input_size=32, flops="2M", tolerance="10%", trials=2, epochs=1,
        final_epochs=0, storage=url, study="team", timeout="off", out=str(root / "out"),
    ))  # fmt: skip
    explore(spec, finalize_winner=False)
    return url, root


def _trained(url):
    study = optuna.load_study(study_name="team", storage=url)
    return study, [t for t in study.trials if t.user_attrs.get(Attr.WEIGHTS)]


def test_the_study_reads_back_through_optunas_public_api(shared):
    url, _ = shared
    study = optuna.load_study(study_name="team", storage=url)
    json.dumps(study.user_attrs)  # every study attribute is plain JSON
    assert study.user_attrs["gensynth.spec"]["flops"] == 2_000_000
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(complete) == 2
    assert study.metric_names == ["netscore"]
    for trial in study.trials:
        json.dumps(trial.user_attrs)
        assert set(constraints_of(trial)) == {"macs_over", "macs_under"}
        assert list(trial.constraints.values()) == list(constraints_of(trial).values())
        feasible = all(v <= 0 for v in trial.constraints.values())
        assert feasible == trial.user_attrs[Attr.FEASIBLE]
    best = study.best_trials
    assert best and best[0].number == leaderboard(study)[0].trial


def test_optuna_dashboard_serves_the_study(shared):
    optuna_dashboard = pytest.importorskip("optuna_dashboard")
    url, _ = shared
    application = optuna_dashboard.wsgi(url)
    environ = {"PATH_INFO": "/api/studies", "REQUEST_METHOD": "GET"}
    wsgiref.util.setup_testing_defaults(environ)
    environ["wsgi.input"] = io.BytesIO(b"")
    status: list[str] = []
    body = b"".join(application(environ, lambda s, headers, *a: status.append(s)))
    assert status[0].startswith("200")
    names = [s["study_name"] for s in json.loads(body)["study_summaries"]]
    assert names == ["team"]


def test_spec_and_weights_of_a_trial_rebuild_the_model(shared, tmp_path):
    url, _ = shared
    _, trained = _trained(url)
    number = trained[0].number
    spec = spec_of_trial(url, "team", number)
    assert spec.to_dict() == trained[0].user_attrs[Attr.SPEC]
    path = download_trial_weights(url, "team", number, tmp_path)
    assert path == tmp_path / f"trial-{number}.safetensors"
    model = spec.build()
    model.load_state_dict(load_file(str(path)))  # strict: every tensor matches


def test_fetch_writes_spec_and_weights(shared, tmp_path):
    url, _ = shared
    _, trained = _trained(url)
    out = tmp_path / "fetched"
    args = ["studies", "fetch", "team", "--storage", url, "--trial", str(trained[0].number),
            "--out", str(out), "--json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (out / "spec.yaml").is_file() and (out / "weights.safetensors").is_file()
    assert json.loads(result.stdout)["weights"].endswith("weights.safetensors")


def test_fetch_errors_name_what_to_do(shared, tmp_path):
    url, _ = shared
    with pytest.raises(ConfigError, match=r"has no trial 99; expected one of 0\.\.1"):
        spec_of_trial(url, "team", 99)
    _, trained = _trained(url)
    with pytest.raises(StorageError, match="are not in") as info:
        download_trial_weights(url, "team", trained[0].number, tmp_path, artifacts=tmp_path)
    assert "--artifacts" in info.value.hint
