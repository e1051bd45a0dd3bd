"""An on-disk cache of measured latency, shared by every process on this machine.

Keyed by (spec hash, backend, batch, threads, runtime options and method, machine id); the
runtime versions and the settings read back from the session are stored with each entry.
SQLite rather than JSON because several search workers write at once. A figure measured
under load never replaces one measured on a quiet machine.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from gensynth.backends._base import RuntimeOptions
from gensynth.backends._result import METHOD, LatencyResult
from gensynth.errors import ConfigError
from gensynth.vocabulary import cache_dir

__all__ = ["LatencyCache", "cache_dir"]

# A new table, not the old "latency" one: figures of the old, interleaved method are not
# comparable and are never read again.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS latency_blocks (
    spec_hash TEXT NOT NULL, backend TEXT NOT NULL, batch INTEGER NOT NULL,
    threads INTEGER NOT NULL, settings TEXT NOT NULL, machine TEXT NOT NULL,
    loaded INTEGER NOT NULL, result TEXT NOT NULL, versions TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (spec_hash, backend, batch, threads, settings, machine)
)
"""


def settings_key(options: RuntimeOptions | None = None) -> str:
    """The cache key part for the runtime options asked for and the measurement method."""
    return f"{METHOD};{(options or RuntimeOptions()).key()}"


class LatencyCache:
    """Measured latency by (spec hash, backend, batch, threads, options, machine).

    ``hits`` and ``misses`` count lookups.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else cache_dir() / "latency.sqlite"
        self.hits = 0
        self.misses = 0

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one transaction (committed on success), closed afterwards."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=30)
            connection.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as error:
            raise ConfigError(
                f"latency cache {str(self.path)!r} cannot be opened: {error}",
                hint="set GENSYNTH_CACHE to a writable folder",
            ) from None
        try:
            with connection:
                yield connection
        finally:
            connection.close()

    def get(
        self,
        spec_hash: str,
        backend: str,
        batch: int,
        threads: int,
        options: RuntimeOptions | None = None,
    ) -> LatencyResult | None:
        """The stored result for this key on this machine, or None."""
        from gensynth.provenance import machine_id

        with self._connect() as connection:
            row = connection.execute(
                "SELECT result FROM latency_blocks WHERE spec_hash=? AND backend=? AND batch=? "
                "AND threads=? AND settings=? AND machine=?",
                (spec_hash, backend, batch, threads, settings_key(options), machine_id()),
            ).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return LatencyResult.from_dict(json.loads(row[0]))

    def put(
        self, spec_hash: str, result: LatencyResult, options: RuntimeOptions | None = None
    ) -> None:
        """Store ``result`` for ``spec_hash`` on this machine, replacing an older one, unless
        ``result`` was measured under load and the stored one was not."""
        from gensynth.provenance import machine_id, versions

        record = json.dumps({k: v for k, v in result.to_dict().items() if k in _FIELDS})
        key = (spec_hash, result.backend, result.batch, result.threads, settings_key(options))
        with self._connect() as connection:
            if result.loaded and self._has_quiet(connection, (*key, machine_id())):
                return
            connection.execute(
                "INSERT OR REPLACE INTO latency_blocks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    *key,
                    machine_id(),
                    int(result.loaded),
                    record,
                    json.dumps(versions()),
                    time.time(),
                ),
            )

    @staticmethod
    def _has_quiet(connection: sqlite3.Connection, key: tuple[object, ...]) -> bool:
        row = connection.execute(
            "SELECT loaded FROM latency_blocks WHERE spec_hash=? AND backend=? AND batch=? "
            "AND threads=? AND settings=? AND machine=?",
            key,
        ).fetchone()
        return row is not None and not row[0]


_FIELDS = {field for field in LatencyResult.__dataclass_fields__}
