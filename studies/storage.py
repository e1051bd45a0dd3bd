"""Study storage URLs: sqlite, journal files and PostgreSQL, opened with passwords kept secret.

``journal:///path.log`` is gensynth's own scheme for Optuna's ``JournalStorage`` with a file
backend: the safe choice for several processes on one host or on a shared disk, where SQLite
would fail with "database is locked".
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from gensynth.errors import StorageError
from gensynth.vocabulary import DEFAULT_STORAGE

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

__all__ = [
    "DEFAULT_STORAGE",
    "StorageLocation",
    "open_existing_storage",
    "open_storage",
    "parse_storage_url",
    "redact",
]

Kind = Literal["sqlite", "journal", "postgresql", "rdb"]
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.IGNORECASE)
_EXAMPLES = "sqlite:///studies.db, journal:///studies.log or postgresql://user@host/db"


def redact(url: str) -> str:
    """The URL with any password replaced by ``***`` (also for URLs SQLAlchemy cannot parse)."""
    return re.sub(r"(//[^/:@]*:)([^@/]*)(@)", r"\1***\3", url)


@dataclasses.dataclass(frozen=True)
class StorageLocation:
    """A parsed storage URL: its kind, the file it names (if any), and a printable form."""

    url: str
    kind: Kind
    path: Path | None

    @property
    def redacted(self) -> str:
        return redact(self.url)

    def artifact_dir(self, override: Path | None = None) -> Path:
        """Where trained weights go: next to a study file, or ``override`` for databases."""
        if override is not None:
            return override
        if self.path is not None:
            return self.path.with_name(self.path.name + ".artifacts")
        return Path("gensynth-artifacts")


def parse_storage_url(url: str) -> StorageLocation:
    """Check a storage URL's form (not yet its reachability) and classify it."""
    match = _SCHEME.match(url.strip())
    if not match:
        raise StorageError(f"storage URL {redact(url)!r} has no scheme; expected e.g. {_EXAMPLES}")
    scheme = match.group(1).lower()
    rest = url.strip()[match.end() :]
    if scheme in ("sqlite", "journal"):
        if not rest.startswith("/") or len(rest) < 2:
            raise StorageError(
                f"storage URL {url!r} has no file path; expected {scheme}:///path/to/file"
            )
        # sqlite:///rel.db -> "rel.db"; sqlite:////abs/x.db -> "/abs/x.db"
        if rest[1:] == ":memory:":
            return StorageLocation(url=url, kind="sqlite", path=None)
        return StorageLocation(url=url, kind=scheme, path=Path(rest[1:]))  # type: ignore[arg-type]
    if scheme.startswith("postgres"):
        return StorageLocation(url=url, kind="postgresql", path=None)
    return StorageLocation(url=url, kind="rdb", path=None)


def _check_parent(location: StorageLocation) -> None:
    if location.path is None:
        return
    parent = location.path.parent
    if not parent.is_dir():
        raise StorageError(
            f"storage {location.redacted}: folder {str(parent)!r} does not exist",
            hint="create the folder first, or point --storage at an existing one",
        )


def _sqlalchemy_url(location: StorageLocation) -> str:
    """``postgresql://`` -> ``postgresql+psycopg://`` when only psycopg 3 is installed."""
    url = location.url
    if location.kind == "postgresql" and "+" not in url.split("://", 1)[0]:
        import importlib.util

        if importlib.util.find_spec("psycopg2") is None:
            if importlib.util.find_spec("psycopg") is None:
                raise StorageError(
                    f"storage {location.redacted} needs a PostgreSQL driver",
                    hint="pip install 'gensynth[postgres]'",
                )
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def open_storage(
    url: str,
    *,
    heartbeat_interval: int | None = 20,
    grace_period: int | None = 60,
    max_retry: int = 2,
) -> BaseStorage:
    """Open (and create if needed) the Optuna storage behind ``url``.

    RDB storages get Optuna's heartbeat: a trial whose process died is marked failed after
    ``grace_period`` seconds and re-queued (up to ``max_retry`` times) with its spec.
    """
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    location = parse_storage_url(url)
    _check_parent(location)
    if location.kind == "journal" and location.path is not None:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            return JournalStorage(JournalFileBackend(str(location.path)))
        except OSError as err:
            raise StorageError(
                f"cannot open journal {location.redacted}: {err.strerror}"
            ) from None
    engine_kwargs = _engine_kwargs(location)
    try:
        with warnings.catch_warnings():  # heartbeats are "experimental" since Optuna 2.8
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry = RetryHeartbeatStaleTrialCallback(max_retry=max_retry)
            return _with_schema_race_retry(
                lambda: RDBStorage(
                    _sqlalchemy_url(location),
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=heartbeat_interval,
                    grace_period=grace_period,
                    heartbeat_stale_trial_callback=retry if heartbeat_interval else None,
                )
            )
    except StorageError:
        raise
    except (ImportError, ModuleNotFoundError) as err:
        raise StorageError(
            f"storage {location.redacted} needs a driver that is not installed ({err.name})",
            hint="pip install 'gensynth[postgres]' for PostgreSQL",
        ) from None
    except Exception as err:  # sqlalchemy/optuna raise many types; keep the password out
        raise StorageError(
            f"cannot open storage {location.redacted}: {_reason(err, location.url)}",
            hint=f"expected a reachable database, e.g. {_EXAMPLES}",
        ) from None
    finally:
        optuna.logging.set_verbosity(optuna.logging.WARNING)


def _engine_kwargs(location: StorageLocation) -> dict[str, object]:
    """SQLAlchemy engine options: wait for SQLite's lock, fail fast on an absent server."""
    if location.kind == "sqlite":
        return {"connect_args": {"timeout": 60}}
    if location.kind == "postgresql":
        return {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    return {}


#: Driver messages when two processes create the tables of a new database at the same moment.
_SCHEMA_RACE = ("already exists", "UNIQUE constraint failed", "duplicate key")


def _with_schema_race_retry(create: Callable[[], BaseStorage], attempts: int = 4) -> BaseStorage:
    """``create()``, tried again when another process was creating the same new schema."""
    import time

    for attempt in range(attempts - 1):
        try:
            return create()
        except Exception as err:
            if not any(m in str(getattr(err, "orig", None) or err) for m in _SCHEMA_RACE):
                raise
            time.sleep(0.5 * (attempt + 1))
    return create()


def open_existing_storage(url: str) -> BaseStorage:
    """Open a storage to read it: a study file that is not there is an error, not a new file."""
    location = parse_storage_url(url)
    if location.path is not None and not location.path.is_file():
        _check_parent(location)
        raise StorageError(
            f"storage {location.redacted}: no study file {str(location.path)!r}",
            hint="check the path: sqlite:///relative.db or sqlite:////absolute/path.db",
        )
    return open_storage(url, heartbeat_interval=None, grace_period=None)


def _reason(err: Exception, url: str) -> str:
    """A one-line reason from a driver error, with the password scrubbed."""
    text = str(getattr(err, "orig", None) or err).strip().splitlines()
    line = next((t.strip() for t in text if t.strip()), type(err).__name__)
    password = re.search(r"//[^/:@]*:([^@/]*)@", url)
    if password and password.group(1):
        line = line.replace(password.group(1), "***")
    return line[:300]
