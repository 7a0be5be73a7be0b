"""The runs table: one page of a project's MLflow runs, filtered, sorted, with its columns.

Filters are MLflow's search syntax (``metrics.acc > 0.9 and params.lr = '0.1'``), parsed by
MLflow itself so that a bad one fails with MLflow's message; quick filters (status,
notebook, sweep, dataset, tag) are turned into the same syntax.

On the embedded SQLite store the page is one SQL query over MLflow's tables (its schema is
checked first), plus one query per kind of value for the page's rows: MLflow's own
``search_runs`` builds ORM objects for every run it touches, which is what makes it slow at
thousands of runs. On any other store (a remote ``mlflow server``) MLflow's client does the
search.
"""

from __future__ import annotations

import csv
import io
import math
import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import BadRequest, NotFound

MAX_LIMIT = 1000
# Longest LIKE/ILIKE pattern and filter (characters): bounds the work of one match and of
# MLflow's parser, whatever the text.
MAX_PATTERN = 500
MAX_FILTER = 5000
CHUNK = 1000  # run ids per query: well under SQLite's variable limit
DEFAULT_ORDER = "attributes.start_time DESC"
# MLflow's run attributes, as columns of its ``runs`` table.
ATTRIBUTES = {
    "status": "r.status",
    "start_time": "r.start_time",
    "end_time": "r.end_time",
    "run_name": "r.name",
    "run_id": "r.run_uuid",
    "user_id": "r.user_id",
    "artifact_uri": "r.artifact_uri",
    "created": "r.start_time",
    "duration": "(r.end_time - r.start_time)",
}
# Tags that say what a run is; all other mlflow.* tags are MLflow's bookkeeping.
KEPT_MLFLOW_TAGS = ("mlflow.parentRunId", "mlflow.user", "mlflow.source.name")
NUMERIC = "({v} GLOB '*[0-9]*' AND NOT {v} GLOB '*[^-+0-9.eE]*')"
QUICK = ("status", "notebook", "sweep", "dataset", "tag")


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def quick_filters(quick: dict[str, str]) -> list[str]:
    """Quick filters as MLflow filter clauses."""
    clauses = []
    if quick.get("status"):
        clauses.append(f"attributes.status = {_quote(quick['status'].strip().upper())}")
    if quick.get("notebook"):
        # the tag holds the notebook's full path; people give its name or a path's end
        clauses.append(f"tags.`mllab.notebook` LIKE {_quote('%' + quick['notebook'])}")
    if quick.get("sweep"):
        clauses.append(f"tags.`mlflow.parentRunId` = {_quote(quick['sweep'])}")
    if quick.get("dataset"):
        key = quick["dataset"]
        if "@" in key:
            clauses.append(f"datasets.name = {_quote(key)}")
        else:  # any version of it
            clauses.append(f"datasets.name LIKE {_quote(key + '@%')}")
    if quick.get("tag"):
        name, _, value = quick["tag"].partition("=")
        if value:
            clauses.append(f"tags.`{name.strip()}` = {_quote(value.strip())}")
        else:
            clauses.append(f"tags.`{name.strip()}` LIKE '%'")
    return clauses


def combined_filter(filter_string: str, quick: dict[str, str]) -> str:
    # MLflow's syntax is a chain of ANDs (no OR, no parentheses): adding clauses is safe.
    parts = [filter_string.strip()] if filter_string.strip() else []
    return " and ".join(parts + quick_filters(quick))


def parse(filter_string: str, order_by: list[str]) -> tuple[list[dict[str, Any]], list[Any]]:
    """MLflow's parse of a filter and sort keys; a 400 with MLflow's message when bad."""
    from mlflow.exceptions import MlflowException
    from mlflow.utils.search_utils import SearchUtils

    if len(filter_string) > MAX_FILTER:
        raise BadRequest(
            f"The filter is {len(filter_string)} characters long; at most {MAX_FILTER} are "
            "allowed.",
            reason="filter_too_long",
        )
    try:
        clauses = SearchUtils.parse_search_filter(filter_string) if filter_string else []
        orders = [SearchUtils.parse_order_by_for_search_runs(o) for o in order_by]
    except MlflowException as exc:
        raise BadRequest(exc.message, reason="bad_filter") from None
    for c in clauses:
        if c["comparator"].upper() in ("LIKE", "ILIKE") and len(str(c["value"])) > MAX_PATTERN:
            raise BadRequest(
                f"A {c['comparator'].upper()} pattern is {len(str(c['value']))} characters "
                f"long; at most {MAX_PATTERN} are allowed.",
                reason="pattern_too_long",
            )
    return clauses, orders


def _value(row_value: float | None, is_nan: int) -> float | None:
    if is_nan or row_value is None or (isinstance(row_value, float) and math.isnan(row_value)):
        return None
    return row_value


class RunsTable:
    """Pages of runs for an experiment (fast path on SQLite, MLflow's client elsewhere)."""

    def __init__(self, tracking_uri: str, client: Any = None):
        self.tracking_uri = tracking_uri
        self._client = client
        self.path: Path | None = (
            Path(tracking_uri[len("sqlite:///") :])
            if tracking_uri.startswith("sqlite:///")
            else None
        )
        self._schema_ok: bool | None = None
        self._local = threading.local()

    # -- the SQLite fast path ------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            assert self.path is not None
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            conn.execute("PRAGMA query_only = 1")
            self._local.conn = conn
        return conn

    def fast(self) -> bool:
        """True when the store is SQLite with the tables and columns this module reads."""
        if self.path is None or not self.path.exists():
            return False
        if self._schema_ok is None:
            need = {
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
            try:
                conn = self._conn()
                self._schema_ok = all(
                    cols <= {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
                    for table, cols in need.items()
                )
            except sqlite3.Error:
                self._schema_ok = False
        return bool(self._schema_ok)

    @staticmethod
    def _clause(c: dict[str, Any], args: list[Any]) -> str:
        kind, key, op, value = c["type"], c["key"], c["comparator"].upper(), c["value"]

        def compare(column: str, numeric: bool = False) -> str:
            if op in ("IN", "NOT IN"):
                values = list(value)
                args.extend(values)
                return f"{column} {op} ({', '.join('?' * len(values))})"
            if op == "LIKE":  # case-sensitive, as in MLflow: SQLite's GLOB
                args.append(_glob(str(value)))
                return f"{column} GLOB ?"
            if op == "ILIKE":
                args.append(str(value).lower())
                return f"LOWER({column}) LIKE ?"
            if op not in ("=", "!=", ">", ">=", "<", "<="):
                raise BadRequest(f"Comparator '{op}' is not supported here.", reason="bad_filter")
            args.append(float(value) if numeric else value)
            return f"{column} {op} ?"

        if kind == "metric":
            args.append(key)
            return (
                "EXISTS (SELECT 1 FROM latest_metrics x WHERE x.run_uuid = r.run_uuid "
                f"AND x.key = ? AND x.is_nan = 0 AND {compare('x.value', numeric=True)})"
            )
        if kind in ("parameter", "tag"):
            table = "params" if kind == "parameter" else "tags"
            args.append(key)
            return (
                f"EXISTS (SELECT 1 FROM {table} x WHERE x.run_uuid = r.run_uuid "
                f"AND x.key = ? AND {compare('x.value')})"
            )
        if kind == "attribute":
            if key not in ATTRIBUTES:
                raise BadRequest(f"Unknown attribute '{key}'.", reason="bad_filter")
            numeric = key in ("start_time", "end_time", "created", "duration")
            return compare(ATTRIBUTES[key], numeric=numeric)
        if kind == "dataset":
            column = {"name": "d.name", "digest": "d.digest", "context": "NULL"}.get(key)
            if column is None or column == "NULL":
                raise BadRequest(
                    f"Filtering on datasets.{key} is not supported.", reason="bad_filter"
                )
            return (
                "EXISTS (SELECT 1 FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id "
                "WHERE i.destination_type = 'RUN' AND i.destination_id = r.run_uuid "
                f"AND i.source_type = 'DATASET' AND {compare(column)})"
            )
        raise BadRequest(f"Cannot filter on '{kind}'.", reason="bad_filter")

    def _where(
        self, experiment_ids: list[str], clauses: list[dict[str, Any]]
    ) -> tuple[str, list[Any]]:
        args: list[Any] = list(experiment_ids)
        sql = (
            f"r.experiment_id IN ({', '.join('?' * len(experiment_ids))}) "
            "AND r.lifecycle_stage = 'active'"
        )
        for c in clauses:
            sql += " AND " + self._clause(c, args)
        return sql, args

    def _order(self, orders: list[Any]) -> tuple[str, str, list[Any]]:
        joins, terms, args = [], [], []
        for n, (kind, key, ascending) in enumerate(orders):
            direction = "ASC" if ascending else "DESC"
            alias = f"o{n}"
            if kind == "metric":
                joins.append(
                    f"LEFT JOIN latest_metrics {alias} ON {alias}.run_uuid = r.run_uuid "
                    f"AND {alias}.key = ? AND {alias}.is_nan = 0"
                )
                args.append(key)
                terms += [f"{alias}.value IS NULL", f"{alias}.value {direction}"]
            elif kind in ("parameter", "tag"):
                table = "params" if kind == "parameter" else "tags"
                joins.append(
                    f"LEFT JOIN {table} {alias} ON {alias}.run_uuid = r.run_uuid "
                    f"AND {alias}.key = ?"
                )
                args.append(key)
                v = f"{alias}.value"
                numeric = NUMERIC.format(v=v)
                terms += [
                    f"{v} IS NULL",
                    f"NOT {numeric}",
                    f"CASE WHEN {numeric} THEN CAST({v} AS REAL) END {direction}",
                    f"{v} {direction}",
                ]
            elif kind == "attribute":
                column = ATTRIBUTES.get(key)
                if column is None:
                    raise BadRequest(f"Cannot sort by attribute '{key}'.", reason="bad_order")
                terms += [f"{column} IS NULL", f"{column} {direction}"]
        terms.append("r.start_time DESC")
        terms.append("r.run_uuid")
        return " ".join(joins), ", ".join(terms), args

    def _fast_page(
        self, experiment_ids: list[str], clauses: list[Any], orders: list[Any], offset: int,
        limit: int | None,
    ) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
        conn = self._conn()
        where, wargs = self._where(experiment_ids, clauses)
        joins, order, oargs = self._order(orders)
        total = conn.execute(f"SELECT COUNT(*) FROM runs r WHERE {where}", wargs).fetchone()[0]
        page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
        rows = conn.execute(
            "SELECT r.run_uuid, r.name, r.status, r.start_time, r.end_time, r.experiment_id, "
            f"r.user_id FROM runs r {joins} WHERE {where} ORDER BY {order}{page}",
            [*oargs, *wargs],
        ).fetchall()
        return self._fill(conn, rows), total

    def _fill(self, conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
        runs: dict[str, dict[str, Any]] = {}
        for run_id, name, status, start, end, exp, user in rows:
            runs[run_id] = {
                "run_id": run_id,
                "name": name,
                "status": status,
                "start_time": start,
                "end_time": end,
                "duration": (end - start) / 1000 if start and end else None,
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
        return [_decorate(r) for r in runs.values()]

    @staticmethod
    def _fill_chunk(
        conn: sqlite3.Connection, runs: dict[str, dict[str, Any]], chunk: list[str]
    ) -> None:
        marks = ", ".join("?" * len(chunk))
        for run_id, key, value in conn.execute(
            f"SELECT run_uuid, key, value FROM params WHERE run_uuid IN ({marks})", chunk
        ):
            runs[run_id]["params"][key] = value
        for run_id, key, value, is_nan in conn.execute(
            f"SELECT run_uuid, key, value, is_nan FROM latest_metrics WHERE run_uuid IN ({marks})",
            chunk,
        ):
            runs[run_id]["metrics"][key] = _value(value, is_nan)
        for run_id, key, value in conn.execute(
            f"SELECT run_uuid, key, value FROM tags WHERE run_uuid IN ({marks})", chunk
        ):
            if not key.startswith("mlflow.") or key in KEPT_MLFLOW_TAGS:
                runs[run_id]["tags"][key] = value
        for run_id, name, digest in conn.execute(
            "SELECT i.destination_id, d.name, d.digest FROM inputs i JOIN datasets d "
            "ON d.dataset_uuid = i.source_id WHERE i.source_type = 'DATASET' "
            f"AND i.destination_type = 'RUN' AND i.destination_id IN ({marks})",
            chunk,
        ):
            runs[run_id]["datasets"].append({"name": name, "digest": digest})

    def _fast_columns(self, experiment_ids: list[str]) -> dict[str, list[str]]:
        """The parameter, metric and tag keys that the experiment's live runs have.

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
                if table == "tags" and key.startswith("mlflow.") and key not in KEPT_MLFLOW_TAGS:
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

    # -- any store: MLflow's client ------------------------------------------------------
    @property
    def client(self) -> Any:
        if self._client is None:
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(tracking_uri=self.tracking_uri)
        return self._client

    def _client_page(
        self, experiment_ids: list[str], filter_string: str, order_by: list[str], offset: int,
        limit: int | None,
    ) -> tuple[list[dict[str, Any]], int | None]:  # fmt: skip
        from mlflow.exceptions import MlflowException

        runs: list[Any] = []
        token = None
        want = None if limit is None else offset + limit
        try:
            while want is None or len(runs) < want + 1:
                batch = self.client.search_runs(
                    experiment_ids,
                    filter_string=filter_string,
                    order_by=order_by,
                    max_results=min(50_000, (want + 1 - len(runs)) if want else 50_000),
                    page_token=token,
                )
                runs.extend(batch)
                token = batch.token
                if not token:
                    break
        except MlflowException as exc:
            raise BadRequest(exc.message, reason="bad_filter") from None
        total = len(runs) if not token else None
        chosen = runs[offset : (offset + limit) if limit is not None else None]
        return [_decorate(_from_entity(r)) for r in chosen], total

    def _client_columns(self, rows: list[dict[str, Any]]) -> dict[str, list[str]]:
        return {
            kind: sorted({k for r in rows for k in r[kind]})
            for kind in ("params", "metrics", "tags")
        }

    # -- the API ---------------------------------------------------------------------------
    def page(
        self,
        experiment_ids: list[str],
        *,
        filter_string: str = "",
        order_by: list[str] | None = None,
        quick: dict[str, str] | None = None,
        offset: int = 0,
        limit: int | None = 100,
    ) -> dict[str, Any]:
        """``{"runs", "total", "offset", "limit", "columns", "filter", "order_by"}``;
        ``limit=None``: every matching run."""
        if offset < 0 or (limit is not None and not 0 < limit <= MAX_LIMIT):
            raise BadRequest(
                f"'limit' must be from 1 to {MAX_LIMIT} and 'offset' not negative.",
                reason="bad_argument",
            )
        order_by = [o for o in (order_by or []) if o.strip()] or [DEFAULT_ORDER]
        full = combined_filter(filter_string, quick or {})
        clauses, orders = parse(full, order_by)
        total: int | None
        if self.fast():
            rows, total = self._fast_page(experiment_ids, clauses, orders, offset, limit)
            columns = self._fast_columns(experiment_ids)
        else:
            rows, total = self._client_page(experiment_ids, full, order_by, offset, limit)
            columns = self._client_columns(rows)
        return {
            "runs": rows,
            "total": total,
            "offset": offset,
            "limit": limit,
            "columns": columns,
            "filter": full,
            "order_by": order_by,
        }

    def compare(self, run_ids: list[str], max_points: int = 500) -> dict[str, Any]:
        """Several runs side by side: their rows, which parameters and metrics differ, and
        each metric's history per run (at most ``max_points`` points, evenly thinned)."""
        if not 1 <= len(run_ids) <= 50:
            raise BadRequest("Compare 1 to 50 runs.", reason="bad_argument")
        if self.fast():
            conn = self._conn()
            marks = ", ".join("?" * len(run_ids))
            rows = conn.execute(
                "SELECT r.run_uuid, r.name, r.status, r.start_time, r.end_time, r.experiment_id, "
                f"r.user_id FROM runs r WHERE r.run_uuid IN ({marks})",
                run_ids,
            ).fetchall()
            found = {r["run_id"]: r for r in self._fill(conn, rows)}
        else:
            found = {}
            for run_id in run_ids:
                try:
                    found[run_id] = _decorate(_from_entity(self.client.get_run(run_id)))
                except Exception:
                    continue
        missing = [r for r in run_ids if r not in found]
        if missing:
            raise NotFound(f"No such run: {', '.join(missing)}.", reason="no_such_run")
        runs = [found[r] for r in run_ids]
        histories = {
            key: {run_id: [[p[0], p[1]] for p in points] for run_id, points in series.items()}
            for key, series in self.histories(
                run_ids, max_points, {r: list(found[r]["metrics"]) for r in run_ids}
            ).items()
        }

        def differs(kind: str) -> dict[str, bool]:
            keys = sorted({k for r in runs for k in r[kind]})
            return {k: len({repr(r[kind].get(k)) for r in runs}) > 1 for k in keys}

        return {
            "runs": runs,
            "params": differs("params"),
            "metrics": differs("metrics"),
            "histories": histories,
        }

    def histories(
        self, run_ids: list[str], max_points: int, keys: dict[str, list[str]] | None = None
    ) -> dict[str, dict[str, list[tuple[int, float | None, int]]]]:
        """``{metric: {run_id: [(step, value, timestamp), ...]}}``, in step order, each
        history thinned to at most ``max_points`` evenly spread points that keep its first
        and last. On SQLite the thinning is SQL (window functions): a history of 100,000
        points costs ``max_points`` rows in Python, not 100,000. ``keys``: the metrics of
        each run, when known (MLflow's client needs them)."""
        out: dict[str, dict[str, list[tuple[int, float | None, int]]]] = {}
        if self.fast():
            conn = self._conn()
            most = max(2, int(max_points))
            marks = ", ".join("?" * len(run_ids))
            spans = conn.execute(
                "SELECT run_uuid, key, COUNT(*), MIN(step), MAX(step), MIN(timestamp), "
                f"MAX(timestamp) FROM metrics WHERE run_uuid IN ({marks}) GROUP BY run_uuid, key",
                run_ids,
            ).fetchall()
            for run_id, key, n, lo, hi, t_lo, t_hi in spans:
                if n <= most:
                    rows: list[Any] = conn.execute(
                        "SELECT step, value, is_nan, timestamp FROM metrics "
                        "WHERE run_uuid = ? AND key = ? ORDER BY step, timestamp",
                        (run_id, key),
                    ).fetchall()
                else:
                    # The first point of each of most - 1 equal spans of steps (of times,
                    # when every point has the same step), and the last point.
                    col, first, last = ("step", lo, hi) if hi > lo else ("timestamp", t_lo, t_hi)
                    rows = [
                        r[1:]
                        for r in conn.execute(
                            f"SELECT MIN({col}) AS x, step, value, is_nan, timestamp "
                            "FROM metrics WHERE run_uuid = ? AND key = ? GROUP BY "
                            f"CASE WHEN {col} = ? THEN ? ELSE ({col} - ?) * ? / ? END ORDER BY x",
                            (run_id, key, last, most, first, most - 1, last - first + 1),
                        )
                    ]
                out.setdefault(key, {})[run_id] = [
                    (step, _value(value, is_nan), t) for step, value, is_nan, t in rows
                ]
            return out
        for run_id in run_ids:
            names = (keys or {}).get(run_id)
            if names is None:
                names = list(self.client.get_run(run_id).data.metrics)
            for key in names:
                points = sorted(
                    self.client.get_metric_history(run_id, key), key=lambda m: (m.step, m.timestamp)
                )
                out.setdefault(key, {})[run_id] = _thin(
                    [
                        (m.step, None if math.isnan(m.value) else m.value, m.timestamp)
                        for m in points
                    ],
                    max_points,
                )
        return out

    def csv(self, page: dict[str, Any]) -> Iterator[str]:
        """The rows of ``page`` (made with ``limit=None``) as CSV, a line at a time."""
        columns = page["columns"]
        header = ["run_id", "name", "status", "start_time", "duration_s", "notebook"]
        header += [f"params.{k}" for k in columns["params"]]
        header += [f"metrics.{k}" for k in columns["metrics"]]
        out = io.StringIO()
        writer = csv.writer(out)

        def line(values: list[Any]) -> str:
            out.seek(0)
            out.truncate()
            writer.writerow(["" if v is None else v for v in values])
            return out.getvalue()

        yield line(header)
        for r in page["runs"]:
            yield line(
                [
                    _csv_safe(v)
                    for v in [
                        r["run_id"],
                        r["name"],
                        r["status"],
                        r["start_time"],
                        r["duration"],
                        r.get("notebook"),
                    ]
                    + [r["params"].get(k) for k in columns["params"]]
                ]
                + [r["metrics"].get(k) for k in columns["metrics"]]
            )


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")


def _csv_safe(value: Any) -> Any:
    """No spreadsheet formulas from any text (run and notebook names, parameters): text
    that a spreadsheet would read as a formula gets a leading ``'``; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not NUMBER.fullmatch(value):
        return "'" + value
    return value


def _glob(pattern: str) -> str:
    """A LIKE pattern (``%`` any run, ``_`` one character) as SQLite GLOB, which is
    case-sensitive like MLflow's LIKE and, unlike a regular expression, matches without
    backtracking (a pattern of many ``_%`` takes microseconds, not minutes)."""
    special = {"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}
    return "".join(special.get(ch, ch) for ch in pattern)


def _thin(points: list[Any], most: int) -> list[Any]:
    if len(points) <= most:
        return points
    stride = len(points) / most
    picked = [points[int(i * stride)] for i in range(most - 1)]
    return [*picked, points[-1]]


def _from_entity(run: Any) -> dict[str, Any]:
    info, data = run.info, run.data
    start, end = info.start_time, info.end_time
    return {
        "run_id": info.run_id,
        "name": info.run_name,
        "status": info.status,
        "start_time": start,
        "end_time": end,
        "duration": (end - start) / 1000 if start and end else None,
        "experiment_id": str(info.experiment_id),
        "user": info.user_id,
        "params": dict(data.params),
        "metrics": {k: (None if math.isnan(v) else v) for k, v in data.metrics.items()},
        "tags": {
            k: v
            for k, v in data.tags.items()
            if not k.startswith("mlflow.") or k in KEPT_MLFLOW_TAGS
        },
        "datasets": [
            {"name": d.dataset.name, "digest": d.dataset.digest}
            for d in (run.inputs.dataset_inputs if run.inputs else [])
        ],
    }


def _decorate(row: dict[str, Any]) -> dict[str, Any]:
    """What the table shows beside MLflow's fields: the job, notebook and sweep."""
    tags = row["tags"]
    row["job_id"] = tags.get("mllab.job_id")
    row["notebook"] = tags.get("mllab.notebook")
    row["parent_run_id"] = tags.get("mlflow.parentRunId")
    row["is_sweep"] = "mllab.search" in tags
    return row
