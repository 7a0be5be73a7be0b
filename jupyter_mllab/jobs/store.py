"""The job store: one SQLite table under the lab's home (WAL, busy timeout via db.py).

It is also the queue: a job is QUEUED until the server's scheduler claims it, so a kernel
can submit (``%mllab run``) by inserting rows, and a restarted server finds its queue.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..db import Database, register_schema
from ..errors import MLLabError, NotFound
from ..paths import db_path

QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED = (
    "QUEUED",
    "RUNNING",
    "COMPLETED",
    "FAILED",
    "CANCELLED",
)
STATUSES = (QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED)
TERMINAL = (COMPLETED, FAILED, CANCELLED)

register_schema(
    "jobs",
    """
    CREATE TABLE IF NOT EXISTS jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        parent_id TEXT,
        project TEXT NOT NULL,
        notebook TEXT NOT NULL,
        kernel TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL,
        parameters TEXT NOT NULL DEFAULT '{}',
        spec TEXT NOT NULL DEFAULT '{}',
        tags TEXT NOT NULL DEFAULT '{}',
        datasets TEXT NOT NULL DEFAULT '[]',
        gpus INTEGER NOT NULL DEFAULT 0,
        timeout REAL,
        created REAL NOT NULL,
        started REAL,
        finished REAL,
        error TEXT,
        mlflow_run_id TEXT,
        mlflow_experiment_id TEXT,
        idempotency_key TEXT,
        retry_of TEXT,
        attempt INTEGER NOT NULL DEFAULT 0,
        kernel_pid INTEGER,
        cells_total INTEGER,
        cell_durations TEXT,
        summary TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status, seq);
    CREATE INDEX IF NOT EXISTS jobs_parent ON jobs(parent_id, seq);
    CREATE INDEX IF NOT EXISTS jobs_project ON jobs(project, seq);
    CREATE INDEX IF NOT EXISTS jobs_queue ON jobs(status, kind, seq);
    -- the server's limits, kept here so that a kernel's submit obeys them too
    CREATE TABLE IF NOT EXISTS job_limits (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    CREATE UNIQUE INDEX IF NOT EXISTS jobs_idempotency
        ON jobs(project, idempotency_key) WHERE idempotency_key IS NOT NULL;
    """,
)


def new_id() -> str:
    return secrets.token_hex(6)


@dataclass
class Job:
    id: str
    kind: str  # "run" or "sweep"
    parent_id: str | None
    project: str
    notebook: str  # absolute path
    kernel: str
    status: str
    parameters: dict[str, Any]
    spec: dict[str, Any]  # the submission as asked (sweeps: the parameter specs)
    tags: dict[str, str]
    datasets: list[str]
    gpus: int
    timeout: float | None
    created: float
    started: float | None = None
    finished: float | None = None
    error: dict[str, str] | None = None
    mlflow_run_id: str | None = None
    mlflow_experiment_id: str | None = None
    idempotency_key: str | None = None
    retry_of: str | None = None
    attempt: int = 0
    kernel_pid: int | None = None
    cells_total: int | None = None
    cell_durations: list[float] | None = None
    summary: dict[str, Any] | None = None
    seq: int = 0
    children: list[Job] = field(default_factory=list)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def duration(self) -> float | None:
        if self.started is None:
            return None
        return (self.finished or time.time()) - self.started


_JSON = ("parameters", "spec", "tags", "datasets", "error", "cell_durations", "summary")
_COLUMNS = [
    "id",
    "kind",
    "parent_id",
    "project",
    "notebook",
    "kernel",
    "status",
    "parameters",
    "spec",
    "tags",
    "datasets",
    "gpus",
    "timeout",
    "created",
    "started",
    "finished",
    "error",
    "mlflow_run_id",
    "mlflow_experiment_id",
    "idempotency_key",
    "retry_of",
    "attempt",
    "kernel_pid",
    "cells_total",
    "cell_durations",
    "summary",
]


def _row(row: sqlite3.Row) -> Job:
    data = dict(row)
    data.pop("cancel_requested", None)
    for key in _JSON:
        value = data.get(key)
        data[key] = json.loads(value) if value else None
    data["parameters"] = data["parameters"] or {}
    data["spec"] = data["spec"] or {}
    data["tags"] = data["tags"] or {}
    data["datasets"] = data["datasets"] or []
    return Job(**data)


def _values(job: Job) -> list[Any]:
    out = []
    for col in _COLUMNS:
        value = getattr(job, col)
        out.append(json.dumps(value) if col in _JSON and value is not None else value)
    return out


class JobStore:
    def __init__(self, home: Path):
        self.db = Database(db_path(Path(home)))
        self.jobs_dir = Path(home) / "jobs"

    def job_dir(self, job_id: str) -> Path:
        return self.jobs_dir / job_id

    # -- writes ------------------------------------------------------------------------
    def set_max_queued(self, limit: int) -> None:
        """The most runs that may wait in the queue (the server's MLLabApp.max_queued_jobs)."""
        with self.db.connect() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO job_limits (name, value) VALUES ('max_queued', ?)",
                (limit,),
            )

    def insert(self, jobs: list[Job]) -> list[Job]:
        """Insert a run, or a sweep and its children, in one transaction. With an
        idempotency key already used in the project, return what that submit made.
        A submit that would put more runs in the queue than its limit gets a 429."""
        first = jobs[0]
        with self.db.transaction() as conn:
            if first.idempotency_key:
                row = conn.execute(
                    "SELECT * FROM jobs WHERE project = ? AND idempotency_key = ?",
                    (first.project, first.idempotency_key),
                ).fetchone()
                if row is not None:
                    return [_row(row)]
            limit = conn.execute(
                "SELECT value FROM job_limits WHERE name = 'max_queued'"
            ).fetchone()
            adding = sum(1 for j in jobs if j.kind == "run" and j.status == QUEUED)
            if limit is not None and adding:
                waiting = conn.execute(
                    "SELECT COUNT(*) FROM jobs WHERE status = 'QUEUED' AND kind = 'run'"
                ).fetchone()[0]
                if waiting + adding > limit[0]:
                    raise MLLabError(
                        f"The queue is full: {waiting} runs are waiting and this submit adds "
                        f"{adding}; at most {limit[0]} may wait (MLLabApp.max_queued_jobs). "
                        "Try again when some have started, or cancel some.",
                        reason="queue_full",
                        status=429,
                    )
            marks = ",".join("?" * len(_COLUMNS))
            conn.executemany(
                f"INSERT INTO jobs ({','.join(_COLUMNS)}) VALUES ({marks})",
                [_values(j) for j in jobs],
            )
        return jobs

    def _set(self, job_id: str, fields: dict[str, Any], only_if: tuple[str, ...] = ()) -> bool:
        """Update a job's fields (only while its status is one of ``only_if``, if given);
        True when it changed."""
        if not fields:
            return False
        sets = ", ".join(f"{k} = ?" for k in fields)
        values = [json.dumps(v) if k in _JSON and v is not None else v for k, v in fields.items()]
        guard = f" AND status IN ({','.join('?' * len(only_if))})" if only_if else ""
        with self.db.connect() as conn:
            cur = conn.execute(
                f"UPDATE jobs SET {sets} WHERE id = ?{guard}", [*values, job_id, *only_if]
            )
            return cur.rowcount == 1

    def update(self, job_id: str, **fields: Any) -> None:
        self._set(job_id, fields)

    def claim(self, job_id: str, **fields: Any) -> bool:
        """QUEUED -> RUNNING, atomically; False when the job is no longer queued."""
        return self._set(job_id, {"status": RUNNING, **fields}, (QUEUED,))

    def cancel_queued(self, job_id: str, now: float) -> bool:
        """QUEUED -> CANCELLED, atomically; False when it has started (or ended)."""
        error = {"reason": "cancelled", "message": "Cancelled before it started."}
        return self._set(job_id, {"status": CANCELLED, "finished": now, "error": error}, (QUEUED,))

    def finish(self, job_id: str, status: str, **fields: Any) -> bool:
        """Make a job terminal (once: a terminal job stays as it is)."""
        return self._set(job_id, {**fields, "status": status}, (QUEUED, RUNNING))

    # -- reads -------------------------------------------------------------------------
    def get(self, job_id: str, *, children: bool = False) -> Job:
        with self.db.connect() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise NotFound(f"No job '{job_id}'.", reason="no_such_job")
            job = _row(row)
            if children and job.kind == "sweep":
                rows = conn.execute(
                    "SELECT * FROM jobs WHERE parent_id = ? ORDER BY seq", (job_id,)
                ).fetchall()
                job.children = [_row(r) for r in rows]
        return job

    def list_jobs(
        self,
        *,
        project: str | None = None,
        statuses: list[str] | None = None,
        notebook: str | None = None,
        parent: str | None = None,
        top: bool = False,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Job], int]:
        where, args = [], []
        if project:
            where.append("project = ?")
            args.append(project)
        if statuses:
            where.append(f"status IN ({','.join('?' * len(statuses))})")
            args += statuses
        if notebook:
            where.append("notebook = ?")
            args.append(notebook)
        if parent:
            where.append("parent_id = ?")
            args.append(parent)
        elif top:
            where.append("parent_id IS NULL")
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self.db.connect() as conn:
            total = conn.execute(f"SELECT COUNT(*) FROM jobs {clause}", args).fetchone()[0]
            rows = conn.execute(
                f"SELECT * FROM jobs {clause} ORDER BY seq DESC LIMIT ? OFFSET ?",
                [*args, limit, offset],
            ).fetchall()
        return [_row(r) for r in rows], total

    def queued(self) -> list[Job]:
        """Runs waiting, first in first out."""
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE status = 'QUEUED' AND kind = 'run' ORDER BY seq"
            ).fetchall()
        return [_row(r) for r in rows]

    def queue_positions(self, job_ids: list[str]) -> dict[str, int]:
        """Where each of these queued runs stands (1: next), counted in SQL over the
        status index: a page of the list costs its own rows, not the whole queue."""
        if not job_ids:
            return {}
        marks = ",".join("?" * len(job_ids))
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT j.id, (SELECT COUNT(*) FROM jobs q WHERE q.status = 'QUEUED' "
                "AND q.kind = 'run' AND q.seq <= j.seq) FROM jobs j "
                f"WHERE j.id IN ({marks}) AND j.status = 'QUEUED' AND j.kind = 'run'",
                job_ids,
            ).fetchall()
        return {job_id: int(position) for job_id, position in rows}

    def running(self) -> list[Job]:
        with self.db.connect() as conn:
            rows = conn.execute(
                "SELECT * FROM jobs WHERE status = 'RUNNING' AND kind = 'run'"
            ).fetchall()
        return [_row(r) for r in rows]

    def child_counts(self, parent_ids: list[str]) -> dict[str, dict[str, int]]:
        if not parent_ids:
            return {}
        marks = ",".join("?" * len(parent_ids))
        with self.db.connect() as conn:
            rows = conn.execute(
                f"SELECT parent_id, status, COUNT(*) FROM jobs WHERE parent_id IN ({marks}) "
                "GROUP BY parent_id, status",
                parent_ids,
            ).fetchall()
        out: dict[str, dict[str, int]] = {p: dict.fromkeys(STATUSES, 0) for p in parent_ids}
        for parent, status, n in rows:
            out[parent][status] = n
        return out

    def last_cell_durations(self, notebook: str) -> list[float] | None:
        """Cell durations of the latest completed run of this notebook (for ETAs)."""
        with self.db.connect() as conn:
            row = conn.execute(
                "SELECT cell_durations FROM jobs WHERE notebook = ? AND status = 'COMPLETED' "
                "AND cell_durations IS NOT NULL ORDER BY finished DESC LIMIT 1",
                (notebook,),
            ).fetchone()
        return json.loads(row[0]) if row else None

    def request_cancel(self, job_id: str) -> None:
        """Ask the server to cancel a running job (what a kernel can do)."""
        with self.db.connect() as conn:
            conn.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))

    def cancel_requests(self) -> list[str]:
        with self.db.connect() as conn:
            rows = conn.execute("SELECT id, status FROM jobs WHERE cancel_requested = 1").fetchall()
            if rows:  # a write only when a kernel asked (this runs every second)
                conn.execute("UPDATE jobs SET cancel_requested = 0 WHERE cancel_requested = 1")
        return [r[0] for r in rows if r[1] in ("QUEUED", "RUNNING")]

    def rename_project(self, old: str, new: str) -> None:
        with self.db.connect() as conn:
            conn.execute("UPDATE jobs SET project = ? WHERE project = ?", (new, old))

    def forget_project(self, project_name: str) -> None:
        """Drop a deleted project's jobs from the table (their MLflow runs go with it)."""
        with self.db.connect() as conn:
            conn.execute("DELETE FROM jobs WHERE project = ?", (project_name,))

    def project_count(self, project_name: str) -> int:
        with self.db.connect() as conn:
            return int(
                conn.execute(
                    "SELECT COUNT(*) FROM jobs WHERE project = ? AND parent_id IS NULL",
                    (project_name,),
                ).fetchone()[0]
            )
