from __future__ import annotations

import csv
import io
import json

import pytest
import yaml
from typer.testing import CliRunner

from gensynth.cli.main import app

runner = CliRunner()


def _error_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.output
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error:")
    return lines[0]


def test_list_counts_every_state(crafted):
    url, _ = crafted
    result = runner.invoke(app, ["studies", "list", "--storage", url, "--json"])
    assert result.exit_code == 0, result.output
    (study,) = json.loads(result.stdout)["studies"]
    assert study["name"] == "crafted" and study["task"] == "classify"
    assert study["limits"] == "MACs 2M ± 10%"
    counts = {k: study[k] for k in ("complete", "feasible", "infeasible", "failed", "running")}
    assert counts == {"complete": 6, "feasible": 4, "infeasible": 2, "failed": 1, "running": 1}
    assert study["best_trial"] == 2 and study["best_value"] == 85.0


def test_list_as_text_names_limits_and_best(crafted):
    url, _ = crafted
    result = runner.invoke(app, ["studies", "list", "--storage", url])
    assert result.exit_code == 0, result.output
    assert "crafted" in result.stdout and "MACs 2M ± 10%" in result.stdout
    assert "6 complete (4 feasible, 2 infeasible)" in result.stdout
    assert "best #2 NetScore 85.00" in result.stdout


def test_list_marks_a_plain_optuna_study(tmp_path):
    import optuna

    url = f"sqlite:///{tmp_path}/plain.db"
    optuna.create_study(study_name="someone-elses", storage=url)
    result = runner.invoke(app, ["studies", "list", "--storage", url])
    assert result.exit_code == 0, result.output
    assert "someone-elses" in result.stdout and "not a gensynth study" in result.stdout


def test_show_ranks_feasible_trials_without_reuses(crafted):
    url, _ = crafted
    result = runner.invoke(app, ["studies", "show", "crafted", "--storage", url, "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["leaderboard"]
    assert [r["trial"] for r in rows] == [2, 0, 1]  # trial 3 reused trial 2's result
    limited = runner.invoke(app, ["studies", "show", "crafted", "--storage", url, "--limit", "1"])
    assert limited.exit_code == 0, limited.output
    assert "net-2150000" in limited.stdout and "net-1900000" not in limited.stdout


def test_show_an_unknown_study_lists_the_ones_there(crafted):
    url, _ = crafted
    result = runner.invoke(app, ["studies", "show", "crafed", "--storage", url])
    assert result.exit_code == 1
    line = _error_line(result)
    assert "no study named 'crafed'" in line and "it holds: crafted" in line
    assert "did you mean 'crafted'?" in line


@pytest.mark.parametrize("command", ["list", "show", "export"])
def test_a_missing_study_file_is_not_created(tmp_path, command):
    url = f"sqlite:///{tmp_path}/absent.db"
    args = ["studies", command, *(["x"] if command != "list" else []), "--storage", url]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "no study file" in _error_line(result)
    assert not (tmp_path / "absent.db").exists()


def test_an_unreachable_database_hides_the_password():
    url = "postgresql://alice:s3cret-pw@127.0.0.1:1/gensynth"
    result = runner.invoke(app, ["studies", "list", "--storage", url])
    assert result.exit_code == 1
    line = _error_line(result)
    assert "s3cret-pw" not in result.output
    assert "postgresql://alice:***@127.0.0.1:1/gensynth" in line


def test_export_csv_has_one_row_per_trial_with_constraints_and_spec(crafted):
    url, study = crafted
    result = runner.invoke(app, ["studies", "export", "crafted", "--storage", url])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [int(r["number"]) for r in rows] == [t.number for t in study.trials]
    assert {"constraint_macs_over", "constraint_macs_under"} <= set(rows[0])
    assert float(rows[4]["constraint_macs_over"]) == 0.4
    assert rows[4]["feasible"] == "False" and "misses" in rows[4]["infeasible_reason"]
    assert rows[6]["state"] == "FAIL" and "diverged" in rows[6]["fail_reason"]
    assert rows[7]["state"] == "RUNNING"
    assert yaml.safe_load(rows[0]["spec"])["prototype"] == "residual"
    assert json.loads(rows[0]["metrics"]) == {"accuracy": 60.0}


def test_export_json_to_a_file_keeps_nesting_and_redacts(crafted, tmp_path):
    url, _ = crafted
    out = tmp_path / "trials.json"
    args = ["studies", "export", "crafted", "--storage", url, "--format", "json", "--out", out]
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["study"] == "crafted" and document["directions"] == ["maximize"]
    trials = document["trials"]
    assert len(trials) == 8
    assert trials[0]["constraints"] == {"macs_over": -0.05, "macs_under": -0.05}
    assert trials[0]["spec"]["stem"]["width"] == 8
    assert trials[3]["origin"] == "reuse" and trials[3]["reused_from"] == 2


def test_export_rejects_an_unknown_format(crafted):
    url, _ = crafted
    result = runner.invoke(app, ["studies", "export", "crafted", "--storage", url,
                                 "--format", "xml"])  # fmt: skip
    assert result.exit_code == 2
    assert "expected one of csv, json, got 'xml'" in _error_line(result)


def test_pareto_draws_the_front_and_the_infeasible(crafted, tmp_path):
    url, _ = crafted
    out = tmp_path / "pareto.png"
    args = ["studies", "pareto", "crafted", "--storage", url, "--out", str(out), "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    plot = json.loads(result.stdout)
    assert plot["front"] == [0, 2]  # lower MACs and higher accuracy than trial 1
    assert plot["feasible"] == 3 and plot["infeasible"] == 2
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


def test_pareto_by_params_and_netscore(crafted, tmp_path):
    url, _ = crafted
    out = tmp_path / "p.png"
    args = ["studies", "pareto", "crafted", "--storage", url, "--out", str(out),
            "--x", "params", "--y", "netscore", "--json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["front"] == [2]  # fewest params and best NetScore


@pytest.mark.parametrize(
    ("extra", "text"),
    [
        (["--x", "flops"], "--x: expected one of macs, params, latency, got 'flops'"),
        (["--x", "latency"], "no trials with latency"),
    ],
)
def test_pareto_bad_axes(crafted, tmp_path, extra, text):
    url, _ = crafted
    args = ["studies", "pareto", "crafted", "--storage", url, "--out", str(tmp_path / "p.png")]
    result = runner.invoke(app, [*args, *extra])
    assert result.exit_code == 2
    assert text in _error_line(result)


def test_every_studies_command_has_an_example_in_its_help():
    for command in ("list", "show", "export", "pareto", "fetch"):
        result = runner.invoke(app, ["studies", command, "--help"])
        assert result.exit_code == 0
        assert "Example: gensynth studies " + command in " ".join(result.stdout.split())


def test_studies_read_gensynth_storage_when_no_flag(crafted, monkeypatch):
    url, _ = crafted
    monkeypatch.setenv("GENSYNTH_STORAGE", url)
    result = runner.invoke(app, ["studies", "show", "crafted", "--json"])
    assert result.exit_code == 0, result.output
    assert [r["trial"] for r in json.loads(result.stdout)["leaderboard"]] == [2, 0, 1]


def test_studies_default_to_explores_storage(tmp_path, monkeypatch):
    import optuna

    monkeypatch.delenv("GENSYNTH_STORAGE", raising=False)
    monkeypatch.chdir(tmp_path)
    optuna.create_study(study_name="here", storage="sqlite:///gensynth.db")
    result = runner.invoke(app, ["studies", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert [s["name"] for s in json.loads(result.stdout)["studies"]] == ["here"]


def test_explore_options_read_gensynth_storage(monkeypatch):
    from gensynth.search.study_spec import ExploreOptions, resolve_options

    monkeypatch.setenv("GENSYNTH_STORAGE", "journal:///team.log")
    assert resolve_options(ExploreOptions()).storage == "journal:///team.log"
    monkeypatch.delenv("GENSYNTH_STORAGE")
    assert resolve_options(ExploreOptions()).storage == "sqlite:///gensynth.db"
