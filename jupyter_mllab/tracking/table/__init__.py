"""The runs table: one page of a project's MLflow runs, filtered, sorted, with its columns.

Four parts: :mod:`.filters` (MLflow's filter syntax and quick filters, checked and compiled
to SQL), two backends that answer the same questions (:mod:`.sqlite`, SQL straight over
MLflow's embedded SQLite store, fast at thousands of runs; :mod:`.mlflow_client`, MLflow's
client for any other store, e.g. a remote ``mlflow server``) and :mod:`.export` (CSV).
:class:`RunsTable` checks the arguments, parses the filter once and asks its backend,
chosen once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import BadRequest, NotFound
from . import filters
from .backend import Histories, Query, RunsBackend
from .export import csv_lines
from .filters import DEFAULT_ORDER, QUICK
from .mlflow_client import MlflowClientRuns
from .sqlite import SqliteRuns
from .thinning import ALL, Window

__all__ = [
    "DEFAULT_ORDER",
    "MAX_COMPARE",
    "MAX_LIMIT",
    "QUICK",
    "RunsTable",
    "Window",
    "choose_backend",
]

MAX_LIMIT = 1000
MAX_COMPARE = 50


def choose_backend(tracking_uri: str, client: Any = None) -> RunsBackend:
    """SQL over the store when it is an embedded SQLite store with MLflow's schema as
    :mod:`.sqlite` reads it; MLflow's client otherwise."""
    if tracking_uri.startswith("sqlite:///"):
        fast = SqliteRuns.open(Path(tracking_uri[len("sqlite:///") :]))
        if fast is not None:
            return fast
    return MlflowClientRuns(tracking_uri, client)


class RunsTable:
    """Pages of runs for an experiment, their comparison, histories and CSV."""

    def __init__(self, tracking_uri: str, client: Any = None):
        self.tracking_uri = tracking_uri
        self._client = client
        self._backend: RunsBackend | None = None
        self._lock = threading.Lock()

    @property
    def backend(self) -> RunsBackend:
        """Chosen once, at first use: the lab builds its table before it prepares the store
        (a new SQLite file gets its schema then), and the choice reads that schema."""
        if self._backend is None:
            with self._lock:
                if self._backend is None:
                    self._backend = choose_backend(self.tracking_uri, self._client)
        return self._backend

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
        full = filters.combined_filter(filter_string, quick or {})
        clauses, orders = filters.parse(full, order_by)
        query = Query(experiment_ids, full, order_by, clauses, orders, offset, limit)
        backend = self.backend
        rows, total = backend.page(query)
        return {
            "runs": rows,
            "total": total,
            "offset": offset,
            "limit": limit,
            "columns": backend.columns(experiment_ids, rows),
            "filter": full,
            "order_by": order_by,
        }

    def compare(
        self, run_ids: list[str], max_points: int = 500, window: Window = ALL
    ) -> dict[str, Any]:
        """Several runs side by side: their rows, which parameters and metrics differ, and
        each metric's history per run (the points in ``window``, at most ``max_points``,
        thinned by :mod:`.thinning`'s rule)."""
        if not 1 <= len(run_ids) <= MAX_COMPARE:
            raise BadRequest(f"Compare 1 to {MAX_COMPARE} runs.", reason="bad_argument")
        found = self.backend.runs(run_ids)
        missing = [r for r in run_ids if r not in found]
        if missing:
            raise NotFound(f"No such run: {', '.join(missing)}.", reason="no_such_run")
        runs = [found[r] for r in run_ids]
        histories = {
            key: {run_id: [[p[0], p[1]] for p in points] for run_id, points in series.items()}
            for key, series in self.histories(
                run_ids, max_points, {r: list(found[r]["metrics"]) for r in run_ids}, window
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
        self,
        run_ids: list[str],
        max_points: int,
        keys: dict[str, list[str]] | None = None,
        window: Window = ALL,
    ) -> Histories:
        """``{metric: {run_id: [(step, value, timestamp), ...]}}``, in step order: each
        history's points in ``window`` (all by default), thinned to at most ``max_points``
        that keep its first and last points and each stretch's extremes (:mod:`.thinning`).
        ``keys``: the metrics of each run, when known (MLflow's client needs them)."""
        return self.backend.histories(run_ids, max_points, keys, window)

    def csv(self, page: dict[str, Any]) -> Iterator[str]:
        """The rows of ``page`` (made with ``limit=None``) as CSV, a line at a time."""
        return csv_lines(page)
