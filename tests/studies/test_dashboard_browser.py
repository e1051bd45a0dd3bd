"""A real exploration in optuna-dashboard: its JSON API and its pages in headless Chromium.

Two tiny explorations write one SQLite file: ``--strategy tpe`` (trials carry Optuna params
today) on two objectives with a parameter cap that most candidates break, and the default
strategy. optuna-dashboard serves the file from a thread of this process, and the test reads
what a teammate would see: params, objective names, infeasible trials marked, importances;
then Chromium renders the pages, which must mount the app and raise no script error.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import re
import shutil
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from studies_builders import gensynth_cmd, require

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(900),
    # Optuna's PED-ANOVA on 4 trials: "Some regimes for parameter ... have less than 2 trials"
    pytest.mark.filterwarnings("ignore:Some regimes for parameter:UserWarning"),
]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
NO_CHROMIUM = "headless Chromium is not installed (apt-get install chromium)"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--virtual-time-budget=15000",
    "--enable-logging=stderr", "--v=0",  # the page's console, "Uncaught" errors included
]  # fmt: skip
EXPLORE = [
    "explore", "--flops", "2M", "--input-size", "32", "--epochs", "1", "--final-epochs", "0",
    "--timeout", "off", "--no-baseline", "--threads", "1", "--seed", "0",
]  # fmt: skip
#: study name -> its own flags. ``tpe``'s first 4 trials are seeded random draws: with a 100K
#: parameter cap, 3 of them break it (and are recorded untrained) and one fits.
STUDIES = {
    "tpe": ["--strategy", "tpe", "--objectives", "accuracy,macs", "--params-max", "100K",
            "--trials", "4"],
    "default": ["--trials", "2"],
}  # fmt: skip
CONSOLE = re.compile(r':CONSOLE[^\]]*\] "(.*)", source: ?(\S*)')


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # the browser fetches the bundle and the API at once


def _explore(root: Path, storage: str) -> None:
    for name, flags in STUDIES.items():
        args = [*EXPLORE, *flags, "--storage", storage, "--study", name, "--out", f"out-{name}"]
        done = subprocess.run(
            gensynth_cmd(args), cwd=root, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, f"explore {name}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"


@contextlib.contextmanager
def _serve(storage: str, artifacts: Path) -> Iterator[str]:
    """optuna-dashboard on a free localhost port, as ``optuna-dashboard URL --artifact-dir``."""
    import optuna_dashboard
    from optuna.artifacts import FileSystemArtifactStore

    application = optuna_dashboard.wsgi(storage, FileSystemArtifactStore(str(artifacts)))
    server = make_server("127.0.0.1", 0, application, server_class=_Server, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def _get(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + path, timeout=120) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory) -> Iterator[tuple[str, dict[str, dict[str, Any]]]]:
    """(base URL, study name -> its detail from /api/studies/<id>, with its ``study_id``)."""
    require(importlib.util.find_spec("optuna_dashboard") is not None,
            "optuna-dashboard is not installed (pip install 'gensynth[dashboard]')")  # fmt: skip
    require(Path(CHROMIUM).is_file(), NO_CHROMIUM)
    root = tmp_path_factory.mktemp("dashboard")
    storage = f"sqlite:///{root}/team.db"
    _explore(root, storage)
    with _serve(storage, root / "team.db.artifacts") as base:
        summaries = _get(base, "/api/studies")["study_summaries"]
        ids = {summary["study_name"]: summary["study_id"] for summary in summaries}
        assert set(ids) == set(STUDIES)
        details = {name: _get(base, f"/api/studies/{i}") for name, i in ids.items()}
        yield base, {name: {**detail, "study_id": ids[name]} for name, detail in details.items()}


def _complete(detail: dict[str, Any]) -> list[dict[str, Any]]:
    trials = [t for t in detail["trials"] if t["state"] == "Complete"]
    assert trials, f"no complete trial in {detail['name']}"
    return trials


def _user_attr(trial: dict[str, Any], key: str) -> str | None:
    return next((a["value"] for a in trial["user_attrs"] if a["key"] == key), None)


def _render(base: str, page: str, tmp_path: Path) -> tuple[str, list[str]]:
    """(DOM after the scripts ran, the page's console messages) of one dashboard page."""
    command = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
               base + page]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, [message for message, _ in CONSOLE.findall(done.stderr)]


def _script_errors(console: list[str]) -> list[str]:
    return [m for m in console if re.search(r"Uncaught|Error|Failed to load", m)]


def _text(dom: str) -> list[str]:
    """The visible text of a DOM, one string per text node."""
    import html

    body = re.sub(r"<(script|style)\b.*?</\1>", "", dom, flags=re.S)
    return [html.unescape(t).strip() for t in re.split(r"<[^>]+>", body) if t.strip()]


# --- the JSON API ---------------------------------------------------------------------------


def test_objectives_are_named_after_the_exploration(dashboard):
    _, details = dashboard
    assert details["tpe"]["objective_names"] == ["accuracy", "macs"]
    assert details["tpe"]["directions"] == ["maximize", "minimize"]
    assert details["default"]["objective_names"] == ["netscore"]


def test_tpe_trials_carry_their_design_as_params(dashboard):
    _, details = dashboard
    for trial in _complete(details["tpe"]):
        names = {p["name"] for p in trial["params"]}
        assert {"n_stages", "stem_width"} <= names, trial["number"]


def test_infeasible_trials_are_marked_by_their_constraints(dashboard):
    _, details = dashboard
    for name in STUDIES:
        verdicts = []
        for trial in _complete(details[name]):
            constraints = trial["constraints"]
            assert constraints, f"{name} #{trial['number']} shows no constraints"
            feasible = all(c <= 0 for c in constraints)  # the dashboard's own rule
            assert str(feasible) == _user_attr(trial, "feasible"), (name, trial["number"])
            verdicts.append(feasible)
        if name == "tpe":
            assert True in verdicts and False in verdicts, verdicts


def test_the_dashboard_computes_importances_per_objective(dashboard):
    base, details = dashboard
    study_id = details["tpe"]["study_id"]
    importances = _get(base, f"/api/studies/{study_id}/param_importances")["param_importances"]
    assert len(importances) == 2
    names = {p["name"] for t in _complete(details["tpe"]) for p in t["params"]}
    for per_objective in importances:
        assert per_objective and {p["name"] for p in per_objective} <= names


def test_default_strategy_trials_carry_their_design_as_params(dashboard):
    """Generative trials (reference, drafts, mutations) record their designs as params too."""
    _, details = dashboard
    for trial in _complete(details["default"]):
        assert trial["params"], f"default #{trial['number']} has no params"


# --- the pages in Chromium ------------------------------------------------------------------


def test_chromium_reports_a_script_error_on_stderr(tmp_path):
    """The error check below can fail: an uncaught error reaches the console log."""
    require(Path(CHROMIUM).is_file(), NO_CHROMIUM)
    page = tmp_path / "broken.html"
    page.write_text('<p id="x">x</p><script>throw new TypeError("canary")</script>')
    _, console = _render("", page.as_uri(), tmp_path)
    assert _script_errors(console) == ["Uncaught TypeError: canary"], console


def test_the_study_page_renders_names_importance_and_infeasible_trials(dashboard, tmp_path):
    base, details = dashboard
    detail = details["tpe"]
    dom, console = _render(base, f"/dashboard/studies/{detail['study_id']}", tmp_path)
    assert not _script_errors(console), console
    text = _text(dom)
    assert "NOW LOADING" not in text, "the app never mounted"
    assert f"tpe (id={detail['study_id']})" in text
    assert {"accuracy", "macs", "Hyperparameter Importance"} <= set(text)
    names = {p["name"] for t in _complete(detail) for p in t["params"]}
    assert names & set(text), "no parameter is named on the page (importance, plots)"
    assert "Infeasible" in text, "infeasible trials are not marked in the plots"


def test_the_trial_list_renders_params_and_feasibility(dashboard, tmp_path):
    base, details = dashboard
    detail = details["tpe"]
    dom, console = _render(base, f"/dashboard/studies/{detail['study_id']}/trials", tmp_path)
    assert not _script_errors(console), console
    text = _text(dom)
    assert f"{len(detail['trials'])} Trials" in text
    assert any(t.startswith("n_stages ") for t in text), "no params on the trial page"
    assert any(t.startswith("feasible ") for t in text)


def test_the_default_strategy_study_page_renders(dashboard, tmp_path):
    base, details = dashboard
    detail = details["default"]
    dom, console = _render(base, f"/dashboard/studies/{detail['study_id']}", tmp_path)
    assert not _script_errors(console), console
    text = _text(dom)
    assert "NOW LOADING" not in text and f"default (id={detail['study_id']})" in text
    assert "netscore" in text
