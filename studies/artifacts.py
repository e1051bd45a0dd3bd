"""Trial artifacts written whole or not at all: the file first, then the trial's reference.

Optuna's ``upload_artifact`` records an artifact on its trial before it writes the file, and
its file store writes in place. A full disk (or a kill) in the middle of a write therefore
left a trial pointing at a half-written file. Here a file goes to a hidden partial name in
the store folder and is renamed into place, and only then is it referenced on the trial. A
write that fails leaves neither a file nor a reference behind, and a full disk is a typed
"disk full" error that names the folder.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Protocol

from optuna.artifacts import ArtifactMeta, FileSystemArtifactStore

from gensynth.errors import FileAccessError
from gensynth.studies._optuna_internals import reference_trial_artifact

if TYPE_CHECKING:
    import optuna

__all__ = ["PARTIAL_SUFFIX", "AtomicFileSystemArtifactStore", "upload_trial_artifact"]

#: Suffix of a file still being written (hidden: ``.<artifact id>.partial``).
PARTIAL_SUFFIX = ".partial"
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class ArtifactStore(Protocol):
    """What an upload needs of an Optuna artifact store."""

    def write(self, artifact_id: str, content_body: BinaryIO) -> None: ...

    def remove(self, artifact_id: str) -> None: ...


def _write_error(error: OSError, folder: Path) -> FileAccessError:
    where = repr(str(folder))
    if error.errno in _DISK_FULL:
        return FileAccessError(
            f"disk full: the artifact store {where} has no space left for a trial's weights",
            hint="free some space there, or point --artifacts at a larger disk, then rerun "
            "the same command; finished trials are kept and this one is run again",
        )
    return FileAccessError(
        f"cannot write to the artifact store {where}: {error.strerror or error}",
        hint="check the folder (ls -ld, df -h), then rerun the same command; "
        "finished trials are kept",
    )


class AtomicFileSystemArtifactStore(FileSystemArtifactStore):
    """Optuna's folder store, whose writes land whole (renamed into place) or not at all."""

    def __init__(self, base_path: str | Path) -> None:
        super().__init__(base_path)
        self.folder = Path(base_path)

    def write(self, artifact_id: str, content_body: BinaryIO) -> None:
        if Path(artifact_id).name != artifact_id or artifact_id.startswith("."):
            raise ValueError(f"expected an artifact id without a folder, got {artifact_id!r}")
        target = self.folder / artifact_id
        partial = self.folder / f".{artifact_id}{PARTIAL_SUFFIX}"
        try:
            with partial.open("wb") as handle:
                shutil.copyfileobj(content_body, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, target)
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise _write_error(error, self.folder) from error
        except BaseException:
            partial.unlink(missing_ok=True)
            raise


def upload_trial_artifact(
    store: ArtifactStore,
    trial: optuna.Trial,
    file_path: Path,
    *,
    mimetype: str = "application/octet-stream",
) -> str:
    """Write ``file_path`` to ``store``, then reference it on ``trial``; the artifact id.

    The reference is Optuna's own (``get_all_artifact_meta``, ``download_artifact`` and
    optuna-dashboard find it). A reference that cannot be recorded removes the file again.
    """
    artifact_id = str(uuid.uuid4())
    with file_path.open("rb") as handle:
        store.write(artifact_id, handle)
    meta = ArtifactMeta(
        artifact_id=artifact_id, filename=file_path.name, mimetype=mimetype, encoding=None
    )
    try:
        reference_trial_artifact(trial, dataclasses.asdict(meta))
    except BaseException:
        store.remove(artifact_id)
        raise
    return artifact_id
