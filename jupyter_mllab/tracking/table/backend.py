"""What a runs-table backend answers, and the row shape both backends build."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from .thinning import Window

# Tags that say what a run is; all other mlflow.* tags are MLflow's bookkeeping.
KEPT_MLFLOW_TAGS = ("mlflow.parentRunId", "mlflow.user", "mlflow.source.name")

Row = dict[str, Any]
# {metric: {run_id: [(step, value, timestamp), ...]}}
Histories = dict[str, dict[str, list[tuple[int, float | None, int]]]]


@dataclass(frozen=True)
class Query:
    """One page's question, checked and parsed once (see :mod:`.filters`): the text for
    MLflow's client, the parsed clauses and sort keys for SQL."""

    experiment_ids: list[str]
    filter_string: str
    order_by: list[str]
    clauses: list[dict[str, Any]]
    orders: list[Any]
    offset: int
    limit: int | None


class RunsBackend(Protocol):
    def page(self, query: Query) -> tuple[list[Row], int | None]:
        """The page's rows, in order, and how many runs match (None: not known)."""

    def columns(self, experiment_ids: list[str], rows: list[Row]) -> dict[str, list[str]]:
        """``{"params", "metrics", "tags"}``: the keys the table offers as columns."""

    def runs(self, run_ids: list[str]) -> dict[str, Row]:
        """The rows of those runs that exist, by run id."""

    def histories(
        self,
        run_ids: list[str],
        max_points: int,
        keys: dict[str, list[str]] | None,
        window: Window = ...,
    ) -> Histories:
        """Each metric's history per run (the points in ``window``), thinned to at most
        ``max_points`` points by :mod:`.thinning`'s rule."""


def is_kept_tag(key: str) -> bool:
    return not key.startswith("mlflow.") or key in KEPT_MLFLOW_TAGS


def metric_value(value: float | None, is_nan: int | bool = False) -> float | None:
    """A metric for JSON: NaN (MLflow keeps it as such, or flags it) becomes None."""
    if is_nan or value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def duration(start: int | None, end: int | None) -> float | None:
    return (end - start) / 1000 if start and end else None


def decorate(row: Row) -> Row:
    """What the table shows beside MLflow's fields: the job, notebook and sweep."""
    tags = row["tags"]
    row["job_id"] = tags.get("mllab.job_id")
    row["notebook"] = tags.get("mllab.notebook")
    row["parent_run_id"] = tags.get("mlflow.parentRunId")
    row["is_sweep"] = "mllab.search" in tags
    return row
