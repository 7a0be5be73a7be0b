"""The SQLite backend: the runs table read straight from MLflow's SQLite store.

The page is one SQL query over MLflow's tables (compiled by :mod:`.filters`), plus one
query per kind of value for the page's rows: MLflow's own ``search_runs`` builds ORM
objects for every run it touches, which is what makes it slow at thousands of runs. The
connection is read-only; the schema is checked once (:meth:`SqliteRuns.open`), so that a
store this module cannot read is left to MLflow's client instead.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from . import filters
from .backend import Histories, Query, Row, decorate, duration, is_kept_tag, metric_value
from .thinning import ALL, Window, bucket_queries, buckets_for

CHUNK = 1000  # run ids per query: well under SQLite's variable limit
# The tables and columns of MLflow's schema that this module reads.
SCHEMA = {
    "runs": {
        "run_uuid",
        "name",
        "status",
        "start_time",
        "end_time",
        "experiment_id",
        "lifecycle_stage",
        "user_id",
        "artifact_uri",
    },
    "latest_metrics": {"key", "value", "step", "is_nan", "run_uuid"},
    "metrics": {"key", "value", "step", "timestamp", "is_nan", "run_uuid"},
    "params": {"key", "value", "run_uuid"},
    "tags": {"key", "value", "run_uuid"},
    "inputs": {"source_type", "source_id", "destination_type", "destination_id"},
    "datasets": {"dataset_uuid", "name", "digest"},
}
ROW_COLUMNS = (
    "SELECT r.run_uuid, r.name, r.status, r.start_time, r.end_time, r.experiment_id, r.user_id "
)


class SqliteRuns:
    """Pages, columns, runs and histories in SQL, one read-only connection per thread."""

    def __init__(self, path: Path):
        self.path = path
        self._local = threading.local()

    @classmethod
    def open(cls, path: Path) -> SqliteRuns | None:
        """The backend over ``path``, or None when it is not (yet) an MLflow store with the
        tables and columns this module reads."""
        if not path.exists():
            return None
        backend = cls(path)
        try:
            conn = backend._conn()
            ok = all(
                cols <= {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
                for table, cols in SCHEMA.items()
            )
        except sqlite3.Error:
            ok = False
        return backend if ok else None

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            conn.execute("PRAGMA query_only = 1")
            self._local.conn = conn
        return conn

    def page(self, query: Query) -> tuple[list[Row], int | None]:
        conn = self._conn()
        where, wargs = filters.where(query.experiment_ids, query.clauses)
        joins, order, oargs = filters.order(query.orders)
        total = conn.execute(f"SELECT COUNT(*) FROM runs r WHERE {where}", wargs).fetchone()[0]
        limit = query.limit
        page = f" LIMIT {int(limit)} OFFSET {int(query.offset)}" if limit is not None else ""
        rows = conn.execute(
            f"{ROW_COLUMNS}FROM runs r {joins} WHERE {where} ORDER BY {order}{page}",
            [*oargs, *wargs],
        ).fetchall()
        return self._fill(conn, rows), total

    def runs(self, run_ids: list[str]) -> dict[str, Row]:
        conn = self._conn()
        marks = ", ".join("?" * len(run_ids))
        rows = conn.execute(
            f"{ROW_COLUMNS}FROM runs r WHERE r.run_uuid IN ({marks})", run_ids
        ).fetchall()
        return {r["run_id"]: r for r in self._fill(conn, rows)}

    def _fill(self, conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> list[Row]:
        runs: dict[str, Row] = {}
        for run_id, name, status, start, end, exp, user in rows:
            runs[run_id] = {
                "run_id": run_id,
                "name": name,
                "status": status,
                "start_time": start,
                "end_time": end,
                "duration": duration(start, end),
                "experiment_id": str(exp),
                "user": user,
                "params": {},
                "metrics": {},
                "tags": {},
                "datasets": [],
            }
        if not runs:
            return []
        # SQLite caps a statement's variables (32,766 by default): ask in chunks.
        ids = list(runs)
        for n in range(0, len(ids), CHUNK):
            self._fill_chunk(conn, runs, ids[n : n + CHUNK])
        return [decorate(r) for r in runs.values()]

    @staticmethod
    def _fill_chunk(conn: sqlite3.Connection, runs: dict[str, Row], chunk: list[str]) -> None:
        marks = ", ".join("?" * len(chunk))
        for run_id, key, value in conn.execute(
            f"SELECT run_uuid, key, value FROM params WHERE run_uuid IN ({marks})", chunk
        ):
            runs[run_id]["params"][key] = value
        for run_id, key, value, is_nan in conn.execute(
            f"SELECT run_uuid, key, value, is_nan FROM latest_metrics WHERE run_uuid IN ({marks})",
            chunk,
        ):
            runs[run_id]["metrics"][key] = metric_value(value, is_nan)
        for run_id, key, value in conn.execute(
            f"SELECT run_uuid, key, value FROM tags WHERE run_uuid IN ({marks})", chunk
        ):
            if is_kept_tag(key):
                runs[run_id]["tags"][key] = value
        for run_id, name, digest in conn.execute(
            "SELECT i.destination_id, d.name, d.digest FROM inputs i JOIN datasets d "
            "ON d.dataset_uuid = i.source_id WHERE i.source_type = 'DATASET' "
            f"AND i.destination_type = 'RUN' AND i.destination_id IN ({marks})",
            chunk,
        ):
            runs[run_id]["datasets"].append({"name": name, "digest": digest})

    def columns(self, experiment_ids: list[str], rows: list[Row]) -> dict[str, list[str]]:
        """The parameter, metric and tag keys that the experiments' live runs have (not
        only the page's rows).

        Each table's distinct keys come from its (key, run_uuid) index by a loose index scan
        (one seek per key, not a pass over every row); each key is then kept if one live run
        of the experiment has it (a lookup that stops at the first)."""
        conn = self._conn()
        marks = ", ".join("?" * len(experiment_ids))

        def keys(table: str) -> list[str]:
            every = [
                k
                for (k,) in conn.execute(
                    f"WITH RECURSIVE k(key) AS (SELECT MIN(key) FROM {table} UNION ALL "
                    f"SELECT (SELECT MIN(key) FROM {table} WHERE key > k.key) FROM k "
                    "WHERE k.key IS NOT NULL) SELECT key FROM k WHERE key IS NOT NULL"
                )
            ]
            kept = []
            for key in every:
                if table == "tags" and not is_kept_tag(key):
                    continue
                found = conn.execute(
                    f"SELECT 1 FROM {table} x JOIN runs r ON r.run_uuid = x.run_uuid "
                    f"WHERE x.key = ? AND r.experiment_id IN ({marks}) "
                    "AND r.lifecycle_stage = 'active' LIMIT 1",
                    [key, *experiment_ids],
                ).fetchone()
                if found:
                    kept.append(key)
            return kept

        return {"params": keys("params"), "metrics": keys("latest_metrics"), "tags": keys("tags")}

    def histories(
        self,
        run_ids: list[str],
        max_points: int,
        keys: dict[str, list[str]] | None = None,
        window: Window = ALL,
    ) -> Histories:
        """The thinning is SQL (:mod:`.thinning`'s rule): a history of 100,000 points costs
        about ``max_points`` rows in Python, not 100,000."""
        out: Histories = {}
        conn = self._conn()
        most = max(2, int(max_points))
        marks = ", ".join("?" * len(run_ids))
        where, wargs = window.sql()
        # steps only: the (run_uuid, key, step) index answers it without reading a row
        spans = conn.execute(
            "SELECT run_uuid, key, COUNT(*), MIN(step), MAX(step) FROM metrics "
            f"WHERE run_uuid IN ({marks}){where} GROUP BY run_uuid, key",
            [*run_ids, *wargs],
        ).fetchall()
        select = (
            "SELECT step, value, is_nan, timestamp FROM metrics "
            f"WHERE run_uuid = ? AND key = ?{where}"
        )
        for run_id, key, n, lo, hi in spans:
            args = [run_id, key, *wargs]
            if n <= most:
                rows: list[Any] = conn.execute(
                    f"{select} ORDER BY step, timestamp", args
                ).fetchall()
            else:
                # the first and last points, and each bucket's lowest and highest value;
                # buckets of steps (of times, when every point has the same step)
                col, first, last = "step", lo, hi
                if hi == lo:
                    col = "timestamp"
                    first, last = conn.execute(
                        f"SELECT MIN(timestamp), MAX(timestamp) FROM metrics "
                        f"WHERE run_uuid = ? AND key = ?{where}",
                        args,
                    ).fetchone()
                found = {
                    tuple(
                        conn.execute(
                            f"{select} AND step = ? ORDER BY timestamp {order} LIMIT 1",
                            [*args, step],
                        ).fetchone()
                    )
                    for step, order in ((lo, "ASC"), (hi, "DESC"))
                }
                count = buckets_for(most)
                if count and last > first:
                    for sql in bucket_queries(col, count, where):
                        found.update(
                            tuple(r)
                            for r in conn.execute(sql, [*args, first, count, last - first + 1])
                        )
                rows = sorted(found, key=lambda r: (r[0], r[3]))[:most]
            out.setdefault(key, {})[run_id] = [
                (step, metric_value(value, is_nan), t) for step, value, is_nan, t in rows
            ]
        return out
