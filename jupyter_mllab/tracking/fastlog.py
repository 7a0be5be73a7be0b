"""Metric points straight into an embedded (SQLite) MLflow store, with MLflow's semantics.

MLflow's ``log_batch`` on its SQLAlchemy store builds ORM objects and runs several queries
for every batch; a training loop's points need two ``executemany`` statements. This writes
exactly what MLflow's store writes for the same points:

- ``metrics``: one row per point; a point identical to a stored one (same key, value,
  timestamp, step) is stored once, as MLflow's primary key makes it;
- ``latest_metrics``: per key, the point with the greatest (step, timestamp, value);
- NaN is stored as value 0 with ``is_nan`` set, +/-inf as +/-float max, as MLflow does.

It is used only when the store's ``metrics`` and ``latest_metrics`` tables have exactly the
columns written here (checked once); otherwise, and for any other store, callers use
MLflow's client. Only ``sqlite3`` is imported.
"""

from __future__ import annotations

import math
import sqlite3
import sys
import threading
from pathlib import Path

METRICS = {"key", "value", "timestamp", "run_uuid", "step", "is_nan"}
LATEST = {"key", "value", "timestamp", "step", "is_nan", "run_uuid"}
Point = tuple[str, float, int, int]  # key, value, timestamp (ms), step


class RunNotActive(Exception):
    pass


def _stored(value: float) -> tuple[float, int]:
    if math.isnan(value):
        return 0.0, 1
    if math.isinf(value):
        return (sys.float_info.max if value > 0 else -sys.float_info.max), 0
    return value, 0


class SqliteMetricWriter:
    def __init__(self, tracking_uri: str):
        self.path = (
            Path(tracking_uri[len("sqlite:///") :])
            if tracking_uri.startswith("sqlite:///")
            else None
        )
        self._usable: bool | None = None
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def usable(self) -> bool:
        if self._usable is None:
            self._usable = False
            if self.path is not None and self.path.exists():
                try:
                    conn = self._connect()
                    metrics = {r[1] for r in conn.execute("PRAGMA table_info(metrics)")}
                    latest = {r[1] for r in conn.execute("PRAGMA table_info(latest_metrics)")}
                    self._usable = metrics == METRICS and latest == LATEST
                except sqlite3.Error:
                    self._usable = False
        return self._usable

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            assert self.path is not None
            self._conn = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
        return self._conn

    def write(self, run_id: str, points: list[Point]) -> None:
        """Store ``points`` of one run in one transaction; RunNotActive if the run is
        deleted or unknown (as MLflow refuses them)."""
        rows = []
        latest: dict[str, tuple[int, int, float, int]] = {}
        for key, value, ts, step in points:
            stored, is_nan = _stored(value)
            rows.append((key, stored, ts, run_id, step, is_nan))
            candidate = (step, ts, stored, is_nan)
            if key not in latest or candidate[:3] > latest[key][:3]:
                latest[key] = candidate
        with self._lock:
            conn = self._connect()
            with conn:
                found = conn.execute(
                    "SELECT lifecycle_stage FROM runs WHERE run_uuid = ?", (run_id,)
                ).fetchone()
                if found is None or found[0] != "active":
                    raise RunNotActive(f"Run {run_id} is not an active run.")
                conn.executemany(
                    "INSERT OR IGNORE INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
                conn.executemany(
                    "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key, run_uuid) DO UPDATE SET "
                    "value = excluded.value, timestamp = excluded.timestamp, "
                    "step = excluded.step, is_nan = excluded.is_nan "
                    "WHERE (excluded.step, excluded.timestamp, excluded.value) > "
                    "(latest_metrics.step, latest_metrics.timestamp, latest_metrics.value)",
                    [(k, v, ts, step, nan, run_id) for k, (step, ts, v, nan) in latest.items()],
                )
