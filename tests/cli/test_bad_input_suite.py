"""Bad input on every command, as a new user types it: one clear line, nothing lost, no secret.

Each case is one line: ``(id, command line, exit code, text the error must hold, setup)``.
The command line is formatted with the fixtures of ``bad_input_world`` (``{data}``,
``{model}``, ...), ``{new}`` (a fresh folder for this case) and ``{explore}`` (explore with a
budget of seconds, so a case that fails to fail still ends). For every case the suite checks:

- the exit code: 2 for usage errors, 1 otherwise, 130 for Ctrl-C;
- stderr starts with the one ``Error:`` line (``Interrupted`` for Ctrl-C), which holds the
  expected text, and there is no other ``Error:`` line and no traceback;
- no password the storage cases typed appears anywhere in the output;
- every file that existed before is byte-identical afterwards.

Setups: ``nobody`` runs the command in a subprocess without root's power over file modes
(CAP_DAC_OVERRIDE dropped, or as uid 65534; by hand, where neither can be done, those cases
skip; with GENSYNTH_CI=1 they fail instead);
``interrupt:MODULE:NAME`` makes that core function raise KeyboardInterrupt; ``sigint`` runs a
subprocess and sends it SIGINT once it has written its first file; ``no-pg-driver`` hides the
PostgreSQL drivers.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import pytest
from bad_input_world import SECRETS, build_world, snapshot
from typer.testing import CliRunner

from gensynth.cli.main import app
from gensynth.redaction import forget_secrets

IN_CI = os.environ.get("GENSYNTH_CI", "") not in ("", "0")
EXPLORE = (
    "explore --input-size 32 --flops 2M --trials 1 --epochs 1 --final-epochs 0 --timeout 2m "
    "--no-baseline --data {data} --storage sqlite:///{new}/s.db --out {new}/out"
)
PG = "postgresql://gensynth:s3cretPW@127.0.0.1:1/db"


class Case(NamedTuple):
    id: str
    argv: str
    code: int
    needle: str
    setup: str | None = None


# fmt: off
CASES = [
    # data synth
    Case("synth-per-class-zero", "data synth {new}/o --per-class 0", 2, "--per-class"),
    Case("synth-per-class-text", "data synth {new}/o --per-class many", 2, "--per-class"),
    Case("synth-size-too-small", "data synth {new}/o --size 16", 2, "--size"),
    Case("synth-size-too-large", "data synth {new}/o --size 5000", 2, "--size"),
    Case("synth-task-unknown", "data synth {new}/o --task detect", 2, "--task"),
    Case("synth-out-is-a-file", "data synth {file}", 2, "is a file"),
    Case("synth-out-not-empty", "data synth {data} --per-class 1", 2, "not empty"),
    Case("synth-out-read-only", "data synth {ro}/o --per-class 1 --size 32", 1,
         "not writable", "nobody"),
    Case("synth-ctrl-c", "data synth {new}/o --per-class 300 --size 96", 130, "Interrupted",
         "sigint"),
    # data check
    Case("check-missing", "data check {new}/nope", 2, "does not exist"),
    Case("check-file-not-folder", "data check {file}", 2, "is a file, expected a folder"),
    Case("check-empty-folder", "data check {empty_dir}", 1, "is empty"),
    Case("check-no-layout", "data check {no_layout}", 1, "matches no known layout"),
    Case("check-one-class-folder", "data check {lone}", 1, "one class folder ('scratch')"),
    Case("check-format-unknown", "data check {data} --format neu-xyz", 2, "--format"),
    Case("check-format-wrong", "data check {data} --format neu-seg", 1, "not in the neu-seg"),
    Case("check-size-too-small", "data check {data} --size 3", 2, "--size"),
    Case("check-ctrl-c", "data check {data}", 130, "Interrupted",
         "interrupt:gensynth.data:check_dataset"),
    # prototypes
    Case("proto-show-unknown", "prototypes show nosuch", 2, "'nosuch'"),
    Case("proto-show-typo", "prototypes show residul", 2, "did you mean 'residual'"),
    Case("proto-show-input-size", "prototypes show residual --input-size 3", 2, "--input-size"),
    Case("proto-show-classes-zero", "prototypes show residual --num-classes 0", 2,
         "--num-classes"),
    Case("proto-list-input-size-text", "prototypes list --input-size big", 2, "--input-size"),
    Case("proto-ctrl-c", "prototypes show residual", 130, "Interrupted",
         "interrupt:gensynth.cli.prototypes:resolve"),
    # constraints check
    Case("cc-spec-missing", "constraints check {new}/nope.yaml --flops 1M", 2, "does not exist"),
    Case("cc-spec-is-a-folder", "constraints check {data} --flops 1M", 2, "is a folder"),
    Case("cc-spec-invalid-yaml", "constraints check {spec_invalid_yaml} --flops 1M", 2,
         "not valid YAML"),
    Case("cc-spec-unknown-key", "constraints check {spec_unknown_key} --flops 1M", 2, "widht"),
    Case("cc-spec-empty", "constraints check {spec_empty} --flops 1M", 2, "is empty"),
    Case("cc-flops-text", "constraints check {spec} --flops lots", 2, "--flops"),
    Case("cc-flops-zero", "constraints check {spec} --flops 0", 2, "--flops"),
    Case("cc-tolerance-too-big", "constraints check {spec} --flops 1M --tolerance 150%", 2,
         "--tolerance"),
    Case("cc-no-limit", "constraints check {spec}", 2, "at least one limit"),
    Case("cc-params-max-negative", "constraints check {spec} --params-max -5", 2,
         "--params-max"),
    Case("cc-latency-zero", "constraints check {spec} --latency 0ms", 2, "--latency"),
    Case("cc-backend-unknown", "constraints check {spec} --latency 2ms --backend tpu", 2,
         "'tpu'"),
    Case("cc-batch-zero", "constraints check {spec} --latency 2ms --batch 0", 2, "--batch"),
    Case("cc-ctrl-c", "constraints check {spec} --flops 1M", 130, "Interrupted",
         "interrupt:gensynth.prototypes:load_spec"),
    # explore: quantities and names
    Case("ex-flops-text", "{explore} --flops lots", 2, "--flops"),
    Case("ex-flops-zero", "{explore} --flops 0", 2, "--flops"),
    Case("ex-tolerance-over-one", "{explore} --tolerance 5", 2, "--tolerance"),
    Case("ex-trials-zero", "{explore} --trials 0", 2, "--trials"),
    Case("ex-trials-text", "{explore} --trials some", 2, "--trials"),
    Case("ex-epochs-zero", "{explore} --epochs 0", 2, "--epochs"),
    Case("ex-timeout-zero", "{explore} --timeout 0", 2, "'off' for no limit"),
    Case("ex-timeout-text", "{explore} --timeout soon", 2, "--timeout"),
    Case("ex-latency-zero", "{explore} --latency 0ms", 2, "--latency"),
    Case("ex-input-size-tiny", "{explore} --input-size 3", 2, "--input-size"),
    Case("ex-input-size-huge", "{explore} --input-size 5000", 2, "--input-size"),
    Case("ex-task-unknown", "{explore} --task detect", 2, "--task"),
    Case("ex-engine-unknown", "{explore} --engine spark", 2, "--engine"),
    Case("ex-strategy-unknown", "{explore} --strategy genetic", 2, "--strategy"),
    Case("ex-objectives-unknown", "{explore} --objectives speed", 2, "--objectives"),
    Case("ex-backend-alone", "{explore} --backend torch-cpu", 2, "--backend"),
    Case("ex-backend-unknown", "{explore} --latency 2ms --backend tpu", 2, "'tpu'"),
    Case("ex-prototype-unknown", "{explore} --prototype residul", 2, "'residul'"),
    Case("ex-workers-on-sqlite", "{explore} --workers 2", 2, "SQLite"),
    # explore: data
    Case("ex-data-missing", "{explore} --data {new}/nope", 2, "does not exist"),
    Case("ex-data-file", "{explore} --data {file}", 2, "is a file, expected a folder"),
    Case("ex-data-empty", "{explore} --data {empty_dir}", 1, "is empty"),
    Case("ex-data-one-class", "{explore} --data {one_class}", 1, "expected at least 2"),
    Case("ex-data-one-class-folder", "{explore} --data {lone}", 1, "one class folder"),
    Case("ex-data-bad-image", "{explore} --data {bad_data}", 1, "--skip-bad"),
    Case("ex-seg-bad-mask", "{explore} --task segment --data {bad_seg}", 1, "mask is 20x20"),
    Case("ex-seg-without-masks", "{explore} --task segment --data {classes}", 1, "pixel masks"),
    # explore: configs
    Case("ex-config-missing", "{explore} --config {new}/nope.yaml", 2, "does not exist"),
    Case("ex-config-empty", "{explore} --config {cfg_empty}", 2, "is empty"),
    Case("ex-config-folder", "{explore} --config {data}", 2, "is a folder"),
    Case("ex-config-bad-value", "{explore} --config {cfg_bad_value}", 2,
         "cfg_bad_value.yaml: tolerance: expected a fraction"),
    Case("ex-config-unknown-key", "{explore} --config {cfg_unknown_key}", 2, "flopz"),
    Case("ex-config-not-mapping", "{explore} --config {cfg_list}", 2, "expected a mapping"),
    Case("ex-config-invalid-yaml", "{explore} --config {cfg_invalid_yaml}", 2, "not valid YAML"),
    # explore: outputs
    Case("ex-out-is-a-file", "{explore} --out {file}", 2, "is a file, expected a folder"),
    Case("ex-out-holds-a-model", "{explore} --out {out_with_model}", 2,
         "already holds a model"),
    Case("ex-out-read-only", "{explore} --out {ro}/o", 1, "not writable", "nobody"),
    # explore: storages
    Case("ex-storage-unknown-scheme", "{explore} --storage nosuch://x", 1,
         "unknown storage scheme 'nosuch'"),
    Case("ex-storage-no-scheme", "{explore} --storage studies.db", 1, "has no scheme"),
    Case("ex-storage-folder-missing", "{explore} --storage sqlite:///{new}/no/s.db", 1,
         "does not exist"),
    Case("ex-storage-garbage-journal", "{explore} --storage journal:///{garbage_log}", 1,
         "is not an Optuna journal"),
    Case("ex-storage-password-slash",
         "{explore} --storage postgresql://u:s3cret/PWtail@127.0.0.1:1/db", 1, "u:***@"),
    Case("ex-storage-password-at",
         "{explore} --storage postgresql://u:s3cret@PWtail@127.0.0.1:1/db", 1, "%40"),
    Case("ex-storage-query-password-no-driver",
         "{explore} --storage postgresql://u@127.0.0.1:1/db?password=qu3rySecret", 1,
         "needs a PostgreSQL driver", "no-pg-driver"),
    Case("ex-ctrl-c", "{explore}", 130, "Interrupted",
         "interrupt:gensynth.exploration:explore"),
    # studies
    Case("st-list-default-storage-missing", "studies list", 1, "no study file 'gensynth.db'"),
    Case("st-list-missing-file", "studies list --storage sqlite:///{new}/nope.db", 1,
         "no study file"),
    Case("st-list-garbage-journal", "studies list --storage journal:///{garbage_log}", 1,
         "line 1 is not JSON"),
    Case("st-list-non-json-journal", "studies list --storage journal:///{nonjson_log}", 1,
         "line 1 is not JSON"),
    Case("st-list-json-not-journal", "studies list --storage journal:///{entry_log}", 1,
         "not a journal entry"),
    Case("st-list-not-a-database", "studies list --storage sqlite:///{not_a_db}", 1,
         "cannot open storage"),
    Case("st-list-refused-password", f"studies list --storage {PG}", 1, "gensynth:***@"),
    Case("st-list-query-password",
         "studies list --storage postgresql://u@127.0.0.1:1/db?password=qu3rySecret", 1,
         "password=***"),
    Case("st-show-unknown-study", "studies show nosuch --storage sqlite:///{study_db}", 1,
         "no study named 'nosuch'"),
    Case("st-show-typo", "studies show tiyn --storage sqlite:///{study_db}", 1,
         "did you mean 'tiny'"),
    Case("st-show-limit-zero", "studies show tiny --storage sqlite:///{study_db} --limit 0", 2,
         "--limit"),
    Case("st-export-format-unknown",
         "studies export tiny --storage sqlite:///{study_db} --format xml", 2, "'xml'"),
    Case("st-export-folder-missing",
         "studies export tiny --storage sqlite:///{study_db} --out {new}/no/x.csv", 2,
         "does not exist"),
    Case("st-export-read-only",
         "studies export tiny --storage sqlite:///{study_db} --out {ro}/x.csv", 1,
         "not writable", "nobody"),
    Case("st-pareto-axis-unknown",
         "studies pareto tiny --storage sqlite:///{study_db} --out {new}/p.png --x speed", 2,
         "'speed'"),
    Case("st-pareto-not-png",
         "studies pareto tiny --storage sqlite:///{study_db} --out {new}/p.jpg", 2, ".png"),
    Case("st-fetch-trial-missing",
         "studies fetch tiny --storage sqlite:///{study_db} --trial 99 --out {new}/t", 2,
         "no trial 99"),
    Case("st-fetch-trial-text",
         "studies fetch tiny --storage sqlite:///{study_db} --trial seven --out {new}/t", 2,
         "--trial"),
    Case("st-fetch-out-is-a-file",
         "studies fetch tiny --storage sqlite:///{study_db} --trial 0 --out {file}", 2,
         "is a file, expected a folder"),
    Case("st-fetch-read-only",
         "studies fetch tiny --storage sqlite:///{study_db} --trial 0 --out {ro}/t", 1,
         "not writable", "nobody"),
    Case("st-ctrl-c", "studies list --storage sqlite:///{study_db}", 130, "Interrupted",
         "interrupt:gensynth.studies.summary:list_studies"),
    # train
    Case("tr-no-spec", "train --out {new}/m", 2, "expected --spec"),
    Case("tr-no-out", "train --spec {spec}", 2, "--out"),
    Case("tr-spec-missing", "train --spec {new}/nope.yaml --out {new}/m", 2, "does not exist"),
    Case("tr-spec-is-a-folder", "train --spec {model} --out {new}/m", 2, "is a folder"),
    Case("tr-spec-and-study", "train --spec {spec} --study tiny --out {new}/m", 2, "got both"),
    Case("tr-study-without-trial", "train --study tiny --storage sqlite:///{study_db} "
         "--out {new}/m", 2, "--trial"),
    Case("tr-study-unknown", "train --study nosuch --trial 0 --storage sqlite:///{study_db} "
         "--out {new}/m", 1, "no study named 'nosuch'"),
    Case("tr-epochs-zero", "train --spec {spec} --out {new}/m --epochs 0", 2, "--epochs"),
    Case("tr-lr-negative", "train --spec {spec} --out {new}/m --lr -1", 2, "--lr"),
    Case("tr-out-not-empty", "train --spec {spec} --data {data} --out {model}", 2,
         "not empty"),
    Case("tr-out-is-a-file", "train --spec {spec} --data {data} --out {file}", 2, "is a file"),
    Case("tr-spec-input-too-small", "train --spec {spec16} --data {data} --out {new}/m", 2,
         "from 32 to"),
    Case("tr-data-bad-image", "train --spec {spec} --data {bad_data} --out {new}/m", 1,
         "--skip-bad"),
    Case("tr-data-one-class", "train --spec {spec} --data {one_class} --out {new}/m", 1,
         "expected at least 2"),
    Case("tr-out-read-only", "train --spec {spec} --data {data} --out {ro}/m", 1,
         "not writable", "nobody"),
    Case("tr-ctrl-c", "train --spec {spec} --data {data} --out {new}/m", 130, "Interrupted",
         "interrupt:gensynth.data:load_dataset"),
    # export
    Case("exp-missing", "export {new}/nope", 2, "does not exist"),
    Case("exp-file-not-folder", "export {spec}", 2, "is a file, expected a folder"),
    Case("exp-no-weights", "export {model_no_weights}", 1, "has no weights.safetensors"),
    Case("exp-corrupt-weights", "export {model_corrupt}", 1, "missing or corrupt"),
    Case("exp-edited-spec", "export {model_edited}", 1, "was changed after"),
    Case("exp-onnx-is-a-folder", "export {model} --onnx {data}", 2, "is a folder"),
    Case("exp-tolerance-negative", "export {model} --onnx {new}/m.onnx --tolerance -1", 2,
         "--tolerance"),
    Case("exp-onnx-read-only", "export {model} --onnx {ro}/m.onnx", 1, "not writable",
         "nobody"),
    Case("exp-ctrl-c", "export {model} --onnx {new}/m.onnx", 130, "Interrupted",
         "interrupt:gensynth.modeldir:load_model_dir"),
    # bench
    Case("bench-missing", "bench {new}/nope", 2, "does not exist"),
    Case("bench-backend-unknown", "bench {model} --backends tpu", 2, "'tpu'"),
    Case("bench-batch-zero", "bench {model} --batch 0", 2, "--batch"),
    Case("bench-repeats-few", "bench {model} --repeats 2", 2, "--repeats"),
    Case("bench-threads-zero", "bench {model} --threads 0", 2, "--threads"),
    Case("bench-baseline-unknown", "bench {model} --baseline resnet5", 2, "'resnet5'"),
    Case("bench-edited-spec", "bench {model_edited}", 1, "was changed after"),
    Case("bench-ctrl-c", "bench {model} --backends torch-cpu", 130, "Interrupted",
         "interrupt:gensynth.backends:run_bench"),
    # explain
    Case("xp-methods-unknown", "explain {model} --out {new}/r --methods lime", 2, "'lime'"),
    Case("xp-samples-zero", "explain {model} --out {new}/r --samples 0", 2, "--samples"),
    Case("xp-tau-out-of-range", "explain {model} --out {new}/r --tau 2", 2, "--tau"),
    Case("xp-fail-under-bad", "explain {model} --out {new}/r --fail-under impact", 2,
         "--fail-under"),
    Case("xp-out-not-empty", "explain {model} --data {data} --out {data}", 2, "not empty"),
    Case("xp-edited-spec", "explain {model_edited} --out {new}/r", 1, "was changed after"),
    Case("xp-data-bad-image", "explain {model} --data {bad_data} --out {new}/r", 1,
         "--skip-bad"),
    Case("xp-out-read-only", "explain {model} --data {data} --out {ro}/r", 1, "not writable",
         "nobody"),
    Case("xp-ctrl-c", "explain {model} --data {data} --out {new}/r --methods gradcam "
         "--samples 2", 130, "Interrupted", "interrupt:gensynth.explain._audit:run_audit"),
]
# fmt: on


class Outcome(NamedTuple):
    code: int
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def world():
    """The fixtures, in a folder every user can read; removed after the session."""
    root = Path(tempfile.mkdtemp(prefix="gensynth-bad-input-"))
    try:
        paths = build_world(root)
        yield root, paths, snapshot(root)
    finally:
        (root / "ro").chmod(0o755)
        shutil.rmtree(root, ignore_errors=True)


def _environment(root: Path) -> dict[str, str]:
    env = dict(os.environ, GENSYNTH_DEBUG="", GENSYNTH_CACHE=str(root / "cache"))
    env.update(HOME=str(root / "home"), MPLCONFIGDIR=str(root / "home"), COLUMNS="100")
    return env


#: Ways to take root's power over file modes, tried in turn: drop CAP_DAC_OVERRIDE (root
#: then obeys modes, and still reads the files it owns wherever the checkout is), or become
#: the user nobody (the fixtures are readable by all).
_UNPRIVILEGED = (
    ["setpriv", "--bounding-set=-dac_override,-dac_read_search"],
    ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
)


def _obeys_modes(prefix: list[str], root: Path) -> tuple[bool, str]:
    """Whether a command run under ``prefix`` can import gensynth and is refused ``ro/``."""
    probe = "import gensynth, os; print(os.access(os.path.join('ro'), os.W_OK))"
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-c", probe],
            capture_output=True, text=True, cwd=root, check=False, timeout=60,
        )  # fmt: skip
    except OSError as error:
        return False, str(error)
    return done.returncode == 0 and done.stdout.strip() == "False", done.stderr.strip()[-200:]


@pytest.fixture(scope="session")
def as_nobody(world) -> list[str]:
    """The prefix that runs a command without root's power over file modes."""
    if os.geteuid() != 0:
        return []  # an ordinary user: folder modes already apply
    reasons = []
    if shutil.which("setpriv") is not None:
        for prefix in _UNPRIVILEGED:
            works, why = _obeys_modes(prefix, world[0])
            if works:
                return prefix
            reasons.append(f"{' '.join(prefix)}: {why or 'root still writes ro/'}")
    reason = "running as root without its power over file modes needs setpriv (util-linux)"
    reason += f" and the right to drop it ({'; '.join(reasons) or 'setpriv not found'})"
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def _argv(case: Case, paths: dict[str, str], new: Path) -> list[str]:
    template = case.argv.replace("{explore}", EXPLORE)
    return [token.format(**paths, new=new) for token in shlex.split(template)]


def _in_process(argv: list[str], monkeypatch, root: Path, new: Path) -> Outcome:
    for name, value in _environment(root).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(new)
    try:
        result = CliRunner().invoke(app, argv)
    finally:
        forget_secrets()
    return Outcome(result.exit_code, result.stdout, result.stderr)


def _subprocess(argv: list[str], root: Path, new: Path, prefix: list[str]) -> Outcome:
    command = [*prefix, sys.executable, "-m", "gensynth.cli.main", *argv]
    proc = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=new,
        env=_environment(root),
        timeout=120,
        check=False,
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


def _sigint(argv: list[str], root: Path, new: Path) -> Outcome:
    """Start the command, and press Ctrl-C once it has written its first file.

    The child gets Ctrl-C's default action back first: a shell without job control (a CI
    script's background job) starts its children with SIGINT ignored, and Python then
    installs no KeyboardInterrupt handler, so the command would run to the end.
    """
    command = [sys.executable, "-m", "gensynth.cli.main", *argv]
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=new,
        env=_environment(root),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if any(path.is_file() for path in new.rglob("*.bmp")):
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    return Outcome(proc.returncode, stdout, stderr)


def _interrupting(monkeypatch, target: str) -> None:
    module, name = target.split(":")

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(f"{module}.{name}", interrupted, raising=False)


def _hide_pg_drivers(monkeypatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object):
        return None if name.startswith("psycopg") else real(name, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def _run(case: Case, world, monkeypatch, request) -> Outcome:
    root, paths, _ = world
    new = Path(tempfile.mkdtemp(dir=root / "cases", prefix=f"{case.id}-"))
    new.chmod(0o777)
    argv = _argv(case, paths, new)
    setup = case.setup or ""
    if setup == "nobody":
        return _subprocess(argv, root, new, request.getfixturevalue("as_nobody"))
    if setup == "sigint":
        return _sigint(argv, root, new)
    if setup.startswith("interrupt:"):
        _interrupting(monkeypatch, setup.removeprefix("interrupt:"))
    elif setup == "no-pg-driver":
        _hide_pg_drivers(monkeypatch)
    return _in_process(argv, monkeypatch, root, new)


@pytest.mark.timeout(180)
@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case: Case, world, monkeypatch, request):
    outcome = _run(case, world, monkeypatch, request)
    shown = f"exit {outcome.code}\nstderr:\n{outcome.stderr}\nstdout:\n{outcome.stdout[-2000:]}"
    lines = outcome.stderr.splitlines()
    assert outcome.code == case.code, shown
    assert lines, shown
    first = "Interrupted" if case.code == 130 else "Error: "
    assert lines[0].startswith(first), shown  # first: `2>&1 | head -1` shows it
    assert case.needle in lines[0], shown
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == (0 if case.code == 130 else 1), shown
    assert "Traceback" not in outcome.stderr + outcome.stdout, shown
    for secret in SECRETS:
        assert secret not in outcome.stderr + outcome.stdout, shown
    assert snapshot(world[0]) == world[2], "a file that existed before was changed"


def test_the_suite_covers_every_command_and_enough_cases():
    commands = {" ".join(case.argv.replace("{explore}", "explore").split()[:2]) for case in CASES}
    heads = {c.split()[0] if c.split()[0] not in ("data", "prototypes", "studies", "constraints")
             else c for c in commands}  # fmt: skip
    expected = {
        "data synth", "data check", "prototypes list", "prototypes show", "constraints check",
        "explore", "studies list", "studies show", "studies export", "studies pareto",
        "studies fetch", "train", "export", "bench", "explain",
    }  # fmt: skip
    assert expected <= heads
    assert len(CASES) >= 80
    assert len({case.id for case in CASES}) == len(CASES)
