"""Study storage URLs: sqlite, journal files and PostgreSQL, opened with passwords kept secret.

``journal:///path.log`` is gensynth's own scheme for Optuna's ``JournalStorage`` with a file
backend: the safe choice for several processes on one host or on a shared disk, where SQLite
would fail with "database is locked".
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlencode

from gensynth.errors import StorageError
from gensynth.paths import require_writable_folder
from gensynth.redaction import MASK, register_secret, scrub
from gensynth.vocabulary import DEFAULT_STORAGE

if TYPE_CHECKING:
    from optuna.storages import BaseStorage
    from sqlalchemy.engine import URL

__all__ = [
    "DEFAULT_STORAGE",
    "STORAGE_ENV",
    "StorageLocation",
    "default_storage",
    "open_existing_storage",
    "open_storage",
    "parse_storage_url",
    "redact",
]

#: The environment variable that names the study storage when no ``--storage`` is given.
STORAGE_ENV = "GENSYNTH_STORAGE"


def default_storage() -> str:
    """The storage every command uses when none is named: ``$GENSYNTH_STORAGE``, else
    :data:`DEFAULT_STORAGE` (one SQLite file in the current folder)."""
    return os.environ.get(STORAGE_ENV, "").strip() or DEFAULT_STORAGE


Kind = Literal["sqlite", "journal", "postgresql", "rdb"]
_EXAMPLES = "sqlite:///studies.db, journal:///studies.log or postgresql://user@host/db"
_FILE_SCHEMES = ("sqlite", "journal")
#: Query-string keys that carry a secret (libpq takes ``?password=``).
_SECRET_KEYS = ("password", "passwd", "pwd", "sslpassword", "secret", "token")


def _is_secret_key(key: str) -> bool:
    key = key.lower()
    return any(word in key for word in _SECRET_KEYS)


def _parse(url: str) -> URL | None:
    """SQLAlchemy's reading of ``url``, or None when it is no URL at all."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url.strip())
    except (ArgumentError, ValueError):
        return None


def _fix_at_sign(url: URL) -> URL:
    """``user:se@cret@host``: SQLAlchemy ends the password at the first ``@`` and takes the
    rest of it for the host; move that part back, so that all of it is treated as secret."""
    if not url.host or "@" not in url.host:
        return url
    rest, host = url.host.rsplit("@", 1)
    if url.password is None:
        return url.set(username=f"{url.username or ''}@{rest}", host=host)
    return url.set(password=f"{url.password}@{rest}", host=host)


def _url_secrets(url: URL) -> list[str]:
    url = _fix_at_sign(url)
    found = [str(url.password)] if url.password else []
    for key, value in url.query.items():
        if _is_secret_key(key):
            found += [value] if isinstance(value, str) else list(value)
    return found


def _unparsed_credentials(url: str) -> tuple[int, int] | None:
    """Where the ``user:password`` of a URL SQLAlchemy cannot read lies: (start, end)."""
    start = url.find("//")
    start = 0 if start < 0 else start + 2
    end = url.rfind("@")
    return (start, end) if end > start else None


def _secrets_in(url: str) -> list[str]:
    """The passwords written in ``url``, however it is spelt."""
    parsed = _parse(url)
    if parsed is not None:
        return _url_secrets(parsed)
    span = _unparsed_credentials(url)
    if span is None or ":" not in url[span[0] : span[1]]:
        return []
    return [url[span[0] : span[1]].split(":", 1)[1]]


def _redact_unparsed(url: str) -> str:
    span = _unparsed_credentials(url)
    if span is None:
        return url
    user, colon, _ = url[span[0] : span[1]].partition(":")
    return url[: span[0]] + user + (f":{MASK}" if colon else "") + url[span[1] :]


def redact(url: str) -> str:
    """The URL with its password, and any ``?password=``, shown as ``***``.

    URLs are read with SQLAlchemy's URL object, so a password holding ``/``, ``:`` or an
    unescaped ``@`` is hidden whole. A URL with nothing secret is returned as typed.
    """
    parsed = _parse(url)
    if parsed is None:
        return scrub(_redact_unparsed(url))
    if not _url_secrets(parsed):
        return url
    parsed = _fix_at_sign(parsed)
    query = [(key, MASK if _is_secret_key(key) else value) for key, value in parsed.query.items()]
    text = parsed.set(query={}).render_as_string(hide_password=True)
    if query:
        text += "?" + urlencode(query, doseq=True, safe="*")
    return text


def register_url_secrets(url: str) -> None:
    """Keep every password written in ``url`` out of all later output (see redaction)."""
    for secret in _secrets_in(url):
        register_secret(secret)


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


def _scheme(url: str) -> str | None:
    scheme, sep, _ = url.partition("://")
    plain = scheme.replace("+", "").replace(".", "").replace("-", "")
    if not sep or not plain.isalnum() or not scheme[:1].isalpha() or not plain.isascii():
        return None
    return scheme.lower()


def _unknown_scheme(url: str, scheme: str) -> StorageError:
    return StorageError(
        f"storage URL {redact(url)!r}: unknown storage scheme {scheme!r}; "
        "expected sqlite:///, journal:/// or postgresql://",
        hint=f"e.g. {_EXAMPLES}",
    )


def _check_database_url(url: str, scheme: str) -> None:
    """A database URL SQLAlchemy can read, of a dialect it knows, with a sane user part."""
    from sqlalchemy.exc import NoSuchModuleError

    parsed = _parse(url)
    if parsed is None:
        raise StorageError(
            f"storage URL {redact(url)!r} is not a valid URL; expected e.g. {_EXAMPLES}"
        )
    if parsed.host and "@" in parsed.host:
        raise StorageError(
            f"storage URL {redact(url)!r} has an unescaped '@' in its user name or password; "
            "expected it written as %40",
            hint="or keep the password out of the URL: ~/.pgpass or PGPASSWORD",
        )
    if scheme.startswith("postgres"):
        return
    try:
        parsed.get_dialect()
    except NoSuchModuleError:
        raise _unknown_scheme(url, scheme) from None


def parse_storage_url(url: str) -> StorageLocation:
    """Check a storage URL's form (not yet its reachability) and classify it.

    Every password in it is registered as a secret first, so no later message shows it.
    """
    register_url_secrets(url)
    text = url.strip()
    scheme = _scheme(text)
    if scheme is None:
        raise StorageError(f"storage URL {redact(url)!r} has no scheme; expected e.g. {_EXAMPLES}")
    rest = text.split("://", 1)[1]
    if scheme in _FILE_SCHEMES:
        if not rest.startswith("/") or len(rest) < 2:
            raise StorageError(
                f"storage URL {redact(url)!r} has no file path; expected {scheme}:///path/to/file"
            )
        # sqlite:///rel.db -> "rel.db"; sqlite:////abs/x.db -> "/abs/x.db"
        if rest[1:] == ":memory:":
            return StorageLocation(url=url, kind="sqlite", path=None)
        return StorageLocation(url=url, kind=scheme, path=Path(rest[1:]))  # type: ignore[arg-type]
    _check_database_url(text, scheme)
    if scheme.startswith("postgres"):
        return StorageLocation(url=url, kind="postgresql", path=None)
    return StorageLocation(url=url, kind="rdb", path=None)


def _check_parent(location: StorageLocation, *, writable: bool = False) -> None:
    """The study file's folder exists (and, to write the study, can be written)."""
    if location.path is None:
        return
    parent = location.path.parent
    if not parent.is_dir():
        raise StorageError(
            f"storage {location.redacted}: folder {str(parent)!r} does not exist",
            hint="create the folder first, or point --storage at an existing one",
        )
    if writable:  # SQLite and the journal lock make files beside the study file
        require_writable_folder(parent, what=f"storage {location.redacted}: folder")


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
    writable: bool = True,
) -> BaseStorage:
    """Open (and create if needed) the Optuna storage behind ``url``.

    RDB storages get Optuna's heartbeat: a trial whose process died is marked failed after
    ``grace_period`` seconds and re-queued (up to ``max_retry`` times) with its spec.
    ``writable=False`` opens a study file only to read it (its folder may be read-only).
    """
    import optuna
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
    from optuna.storages.journal import JournalStorage

    from gensynth.studies._journal import CheckedJournalFile

    location = parse_storage_url(url)
    _check_parent(location, writable=writable)
    if location.kind == "journal" and location.path is not None:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        try:
            return JournalStorage(CheckedJournalFile(str(location.path)))
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
            f"storage {location.redacted} needs a driver that is not installed "
            f"({err.name or scrub(str(err))})",
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
    return open_storage(url, heartbeat_interval=None, grace_period=None, writable=False)


def _reason(err: Exception, url: str) -> str:
    """A one-line reason from a driver error, with the password scrubbed (however short)."""
    text = str(getattr(err, "orig", None) or err).strip().splitlines()
    line = next((t.strip() for t in text if t.strip()), type(err).__name__)
    for secret in sorted(_secrets_in(url), key=len, reverse=True):
        line = line.replace(secret, MASK)
    return scrub(line)[:300]
