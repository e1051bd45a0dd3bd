"""What a crash or a full disk leaves behind: whole artifacts only, and a journal that reads.

The real faults (``kill -9``, a full tmpfs) run in ``tests/engines/test_faults.py``; these are
the same failures made by hand, fast.
"""

from __future__ import annotations

import errno
import json
from pathlib import Path

import optuna
import pytest

from gensynth.errors import FileAccessError
from gensynth.studies import artifacts
from gensynth.studies._journal import drop_torn_tail
from gensynth.studies.artifacts import AtomicFileSystemArtifactStore, upload_trial_artifact
from gensynth.studies.records import Attr
from gensynth.studies.recovery import recover_lost_trials
from gensynth.studies.storage import open_existing_storage, open_storage

WEIGHTS = b"0123456789" * 1000


@pytest.fixture
def trial_and_file(tmp_path: Path) -> tuple[optuna.Trial, Path]:
    study = optuna.create_study(storage=open_storage(f"journal:///{tmp_path}/s.log"))
    path = tmp_path / "trial-0.safetensors"
    path.write_bytes(WEIGHTS)
    return study.ask(), path


def _references(trial: optuna.Trial) -> list[str]:
    frozen = trial.study._storage.get_trial(trial._trial_id)
    return [k for k in frozen.system_attrs if k.startswith("artifacts:")]


def test_an_upload_is_written_whole_then_referenced(tmp_path, trial_and_file):
    trial, path = trial_and_file
    store = AtomicFileSystemArtifactStore(tmp_path / "store")
    (tmp_path / "store").mkdir()
    artifact_id = upload_trial_artifact(store, trial, path)
    assert [p.name for p in (tmp_path / "store").iterdir()] == [artifact_id]
    metas = optuna.artifacts.get_all_artifact_meta(trial)
    assert [(m.artifact_id, m.filename) for m in metas] == [(artifact_id, path.name)]
    optuna.artifacts.download_artifact(
        artifact_store=store, artifact_id=artifact_id, file_path=str(tmp_path / "back")
    )
    assert (tmp_path / "back").read_bytes() == WEIGHTS


def _half_then_full(source, target, *_args) -> None:
    target.write(source.read()[: len(WEIGHTS) // 2])
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_mid_write_leaves_no_file_and_no_reference(
    tmp_path, trial_and_file, monkeypatch
):
    trial, path = trial_and_file
    folder = tmp_path / "store"
    folder.mkdir()
    monkeypatch.setattr(artifacts.shutil, "copyfileobj", _half_then_full)
    with pytest.raises(FileAccessError) as caught:
        upload_trial_artifact(AtomicFileSystemArtifactStore(folder), trial, path)
    assert caught.value.message.startswith("disk full: the artifact store")
    assert str(folder) in caught.value.message and "rerun" in (caught.value.hint or "")
    assert list(folder.iterdir()) == []  # no half-written file, not even the partial one
    assert _references(trial) == []


def test_another_write_error_names_the_store_and_leaves_nothing(
    tmp_path, trial_and_file, monkeypatch
):
    trial, path = trial_and_file
    folder = tmp_path / "store"
    folder.mkdir()

    def broken(*_args) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(artifacts.shutil, "copyfileobj", broken)
    with pytest.raises(FileAccessError, match=r"cannot write to the artifact store .*: Input/out"):
        upload_trial_artifact(AtomicFileSystemArtifactStore(folder), trial, path)
    assert list(folder.iterdir()) == [] and _references(trial) == []


def test_a_reference_that_cannot_be_recorded_removes_the_file(
    tmp_path, trial_and_file, monkeypatch
):
    trial, path = trial_and_file
    folder = tmp_path / "store"
    folder.mkdir()

    def refused(*_args) -> None:
        raise RuntimeError("storage gone")

    monkeypatch.setattr(artifacts, "reference_trial_artifact", refused)
    with pytest.raises(RuntimeError, match="storage gone"):
        upload_trial_artifact(AtomicFileSystemArtifactStore(folder), trial, path)
    assert list(folder.iterdir()) == []


def test_the_store_refuses_an_id_with_a_folder(tmp_path):
    store = AtomicFileSystemArtifactStore(tmp_path)
    with open(__file__, "rb") as body, pytest.raises(ValueError, match="without a folder"):
        store.write("../escape", body)
    assert not (tmp_path.parent / "escape").exists()


def _torn(path: Path) -> bytes:
    """Append the first half of a journal entry, as a writer killed mid-append leaves it."""
    entry = json.dumps({"op_code": 5, "worker_id": "dead", "trial_id": 0, "user_attr": {}})
    torn = entry[: len(entry) // 2].encode()
    with path.open("ab") as handle:
        handle.write(torn)
    return torn


def test_a_journal_with_a_torn_last_line_stays_readable_after_more_writes(tmp_path):
    url = f"journal:///{tmp_path}/s.log"
    study = optuna.create_study(study_name="s", storage=open_storage(url))
    study.tell(study.ask(), 1.0)
    good = (tmp_path / "s.log").read_bytes()
    _torn(tmp_path / "s.log")

    resumed = optuna.load_study(study_name="s", storage=open_storage(url))
    resumed.set_user_attr("after", 1)  # glued onto the torn line before the fix
    resumed.tell(resumed.ask(), 2.0)

    again = optuna.load_study(study_name="s", storage=open_existing_storage(url))
    assert [t.value for t in again.trials] == [1.0, 2.0]
    assert again.user_attrs == {"after": 1}
    assert (tmp_path / "s.log").read_bytes().startswith(good)  # nothing acknowledged is cut


@pytest.mark.parametrize(
    ("content", "kept"),
    [(b"", b""), (b"a\n", b"a\n"), (b"a\nb\nhalf", b"a\nb\n"), (b"half", b"")],
)
def test_drop_torn_tail_cuts_only_after_the_last_newline(tmp_path, content, kept):
    path = tmp_path / "j.log"
    path.write_bytes(content)
    assert drop_torn_tail(path) == len(content) - len(kept)
    assert path.read_bytes() == kept


def test_drop_torn_tail_finds_a_newline_far_back(tmp_path):
    path = tmp_path / "j.log"
    path.write_bytes(b"x\n" + b"y" * 200_000)
    drop_torn_tail(path)
    assert path.read_bytes() == b"x\n"


@pytest.mark.parametrize(
    ("reason", "retried"),
    [
        ("disk full: the artifact store '/a' has no space left for a trial's weights", True),
        ("cannot write to the artifact store '/a': Input/output error", True),
        ("training diverged: loss is nan", False),  # the candidate's own fault
    ],
)
def test_a_trial_the_artifact_store_failed_is_retried_by_the_rerun(tmp_path, reason, retried):
    study = optuna.create_study(storage=open_storage(f"journal:///{tmp_path}/s.log"))
    trial = study.ask()
    trial.set_user_attr(Attr.SPEC, {"prototype": "residual"})
    trial.set_user_attr(Attr.FAIL_REASON, reason)
    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    assert recover_lost_trials(study) == ([0] if retried else [])
    waiting = study.get_trials(states=(optuna.trial.TrialState.WAITING,))
    assert [t.user_attrs[Attr.SPEC] for t in waiting] == ([{"prototype": "residual"}] * retried)
