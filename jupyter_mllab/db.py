"""The lab's SQLite database: WAL, a busy timeout, and one migration list per domain.

Connections are opened per unit of work (cheap: about 0.1 ms) so that any thread, and
any process sharing the home (kernels, runs), can use the store safely.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Each domain appends its schema here at import; ``Database.migrate`` applies them all.
SCHEMAS: dict[str, str] = {}

_migrated: dict[Path, set[str]] = {}
_lock = threading.Lock()


def register_schema(domain: str, ddl: str) -> None:
    SCHEMAS[domain] = ddl


class Database:
    def __init__(self, path: Path):
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("PRAGMA foreign_keys = ON")
        return conn

    def migrate(self) -> None:
        """Create the file and every registered schema not yet applied by this process
        (domains register theirs when imported, so this may add some later)."""
        with _lock:
            done = _migrated.get(self.path, set()) if self.path.exists() else set()
            missing = {k: v for k, v in SCHEMAS.items() if k not in done}
            if not missing:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._connect()
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                for ddl in missing.values():
                    conn.executescript(ddl)
            finally:
                conn.close()
            _migrated[self.path] = done | set(missing)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one unit of work, migrated first."""
        self.migrate()
        conn = self._connect()
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error)."""
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
