"""The services table: one row per deployed model service, in the lab's SQLite database.

The row is the service's desired state (``desired``: running, stopped, removed) and what
the supervisor last saw (``status``, ``pid``, ``port``, the resolved model, restarts, the
last error). The server's supervisor reconciles the table every second, so a kernel can
deploy and undeploy by writing rows (as it submits runs through the jobs table), and a
restarted server finds its services (and their secrets, to re-adopt them by). Light: the
kernel client imports it.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..db import Database, register_schema
from ..errors import BadRequest, Conflict, NotFound
from ..paths import db_path

STARTING, RUNNING, RESTARTING, STOPPING, STOPPED, FAILED = (
    "starting",
    "running",
    "restarting",
    "stopping",
    "stopped",
    "failed",
)
STATUSES = (STARTING, RUNNING, RESTARTING, STOPPING, STOPPED, FAILED)
DESIRED = ("running", "stopped", "removed")
NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
DEFAULT_OPTIONS: dict[str, Any] = {
    "workers": 1,
    "batching": {"enabled": True, "max_rows": 64, "window_ms": 2.0},
    "max_body_bytes": 32 * 2**20,
}

register_schema(
    "services",
    """
    CREATE TABLE IF NOT EXISTS services (
        name TEXT PRIMARY KEY,
        project TEXT NOT NULL,
        desired TEXT NOT NULL DEFAULT 'running',
        status TEXT NOT NULL DEFAULT 'starting',
        source_model TEXT,
        source_alias TEXT,
        source_bundle TEXT,
        model TEXT,
        requested_port INTEGER,
        port INTEGER,
        pid INTEGER,
        secret TEXT NOT NULL,
        token TEXT NOT NULL,
        options TEXT NOT NULL DEFAULT '{}',
        input_example TEXT,
        restarts INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        log_tail TEXT,
        created_at REAL NOT NULL,
        started_at REAL
    );
    CREATE INDEX IF NOT EXISTS services_project ON services (project);
    """,
)


def check_name(name: object) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise BadRequest(
            f"'{name}' is not a service name: lower-case letters, digits and '-', starting "
            "with a letter or digit, at most 63 characters.",
            reason="invalid_name",
        )
    return name


def name_from(model_name: str) -> str:
    """A service name made from a model's name (``Wine_Model`` -> ``wine-model``)."""
    name = re.sub(r"[^a-z0-9-]+", "-", model_name.lower()).strip("-")[:56]
    return name or "service"


@dataclass
class ServiceRow:
    name: str
    project: str
    secret: str = field(repr=False)
    token: str = field(repr=False)
    desired: str = "running"
    status: str = STARTING
    source_model: str | None = None
    source_alias: str | None = None
    source_bundle: str | None = None
    model: dict[str, Any] | None = None
    requested_port: int | None = None
    port: int | None = None
    pid: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    input_example: dict[str, Any] | None = None
    restarts: int = 0
    error: str | None = None
    log_tail: list[str] | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ServiceRow:
        data = dict(row)
        for key in ("model", "options", "input_example", "log_tail"):
            data[key] = json.loads(data[key]) if data[key] else None
        data["options"] = data["options"] or {}
        return cls(**data)


_JSON = ("model", "options", "input_example", "log_tail")
_FIELDS = tuple(ServiceRow.__dataclass_fields__)


class ServiceStore:
    def __init__(self, home: Path):
        self.home = Path(home)
        self.db = Database(db_path(self.home))

    def service_dir(self, name: str) -> Path:
        return self.home / "services" / check_name(name)

    def _values(self, row: ServiceRow, keys: tuple[str, ...]) -> list[Any]:
        values = []
        for key in keys:
            value = getattr(row, key)
            values.append(json.dumps(value) if key in _JSON and value is not None else value)
        return values

    def create(self, row: ServiceRow, *, unique_suffix: bool = False) -> ServiceRow:
        """Insert ``row``; a taken name is a 409, or with ``unique_suffix`` the first free
        of ``name-2``, ``name-3``, ..."""
        base = check_name(row.name)
        for attempt in range(1, 1000):
            if attempt > 1:
                row.name = f"{base[:58]}-{attempt}"
            try:
                with self.db.transaction() as conn:
                    conn.execute(
                        f"INSERT INTO services ({', '.join(_FIELDS)}) "
                        f"VALUES ({', '.join('?' for _ in _FIELDS)})",
                        self._values(row, _FIELDS),
                    )
                return row
            except sqlite3.IntegrityError:
                if not unique_suffix:
                    raise Conflict(
                        f"A service named '{row.name}' exists already.", reason="name_taken"
                    ) from None
        raise Conflict(f"No free name like '{base}'.", reason="name_taken")

    def get(self, name: str) -> ServiceRow:
        with self.db.connect() as conn:
            row = conn.execute("SELECT * FROM services WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"There is no service named '{name}'.", reason="no_service")
        return ServiceRow.from_row(row)

    def find(self, name: str) -> ServiceRow | None:
        try:
            return self.get(name)
        except NotFound:
            return None

    def rows(self, project: str | None = None) -> list[ServiceRow]:
        query = "SELECT * FROM services"
        args: tuple[str, ...] = ()
        if project is not None:
            query, args = query + " WHERE project = ?", (project,)
        with self.db.connect() as conn:
            rows = conn.execute(query + " ORDER BY created_at, name", args).fetchall()
        return [ServiceRow.from_row(r) for r in rows]

    def update(self, name: str, **changes: Any) -> None:
        """Set some fields of a service's row (no error if it is gone)."""
        unknown = set(changes) - set(_FIELDS)
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}")
        keys = tuple(changes)
        values = [
            json.dumps(changes[k]) if k in _JSON and changes[k] is not None else changes[k]
            for k in keys
        ]
        with self.db.transaction() as conn:
            conn.execute(
                f"UPDATE services SET {', '.join(f'{k} = ?' for k in keys)} WHERE name = ?",
                [*values, name],
            )

    def delete(self, name: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM services WHERE name = ?", (name,))

    def serving(self, project: str, model_name: str, version: int) -> list[str]:
        """Services (not removed) whose model is that version."""
        key = f"{project}/{model_name}@{version}"
        return [
            r.name
            for r in self.rows(project)
            if r.desired != "removed" and r.model and r.model.get("key") == key
        ]


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def new_token() -> str:
    return secrets.token_urlsafe(24)
