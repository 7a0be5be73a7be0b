"""The filter compiler: the runs table's filters and sort keys, from text to SQL.

Filters are MLflow's search syntax (``metrics.acc > 0.9 and params.lr = '0.1'``), parsed by
MLflow itself so that a bad one fails with MLflow's message; quick filters (status,
notebook, sweep, dataset, tag) are turned into the same syntax first. :func:`parse` checks
the text (lengths, MLflow's grammar); :func:`where` and :func:`order` compile the parsed
clauses to SQL over MLflow's SQLite tables (runs aliased ``r``), with ``?`` arguments.
"""

from __future__ import annotations

from typing import Any

from ...errors import BadRequest

# Longest LIKE/ILIKE pattern and filter (characters): bounds the work of one match and of
# MLflow's parser, whatever the text.
MAX_PATTERN = 500
MAX_FILTER = 5000
DEFAULT_ORDER = "attributes.start_time DESC"
QUICK = ("status", "notebook", "sweep", "dataset", "tag")
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
NUMERIC_ATTRIBUTES = ("start_time", "end_time", "created", "duration")
# A text value that reads as a number (sorted as one, before the other texts).
NUMERIC = "({v} GLOB '*[0-9]*' AND NOT {v} GLOB '*[^-+0-9.eE]*')"
COMPARATORS = ("=", "!=", ">", ">=", "<", "<=")


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


def glob(pattern: str) -> str:
    """A LIKE pattern (``%`` any run, ``_`` one character) as SQLite GLOB, which is
    case-sensitive like MLflow's LIKE and, unlike a regular expression, matches without
    backtracking (a pattern of many ``_%`` takes microseconds, not minutes)."""
    special = {"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}
    return "".join(special.get(ch, ch) for ch in pattern)


def clause(c: dict[str, Any], args: list[Any]) -> str:
    """One parsed MLflow clause as a SQL condition on run ``r``; its arguments go to ``args``."""
    kind, key, op, value = c["type"], c["key"], c["comparator"].upper(), c["value"]

    def compare(column: str, numeric: bool = False) -> str:
        if op in ("IN", "NOT IN"):
            values = list(value)
            args.extend(values)
            return f"{column} {op} ({', '.join('?' * len(values))})"
        if op == "LIKE":  # case-sensitive, as in MLflow: SQLite's GLOB
            args.append(glob(str(value)))
            return f"{column} GLOB ?"
        if op == "ILIKE":
            args.append(str(value).lower())
            return f"LOWER({column}) LIKE ?"
        if op not in COMPARATORS:
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
        return compare(ATTRIBUTES[key], numeric=key in NUMERIC_ATTRIBUTES)
    if kind == "dataset":
        column = {"name": "d.name", "digest": "d.digest"}.get(key)
        if column is None:
            raise BadRequest(f"Filtering on datasets.{key} is not supported.", reason="bad_filter")
        return (
            "EXISTS (SELECT 1 FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id "
            "WHERE i.destination_type = 'RUN' AND i.destination_id = r.run_uuid "
            f"AND i.source_type = 'DATASET' AND {compare(column)})"
        )
    raise BadRequest(f"Cannot filter on '{kind}'.", reason="bad_filter")


def where(experiment_ids: list[str], clauses: list[dict[str, Any]]) -> tuple[str, list[Any]]:
    """The live runs of the experiments that match every clause: SQL and its arguments."""
    args: list[Any] = list(experiment_ids)
    sql = (
        f"r.experiment_id IN ({', '.join('?' * len(experiment_ids))}) "
        "AND r.lifecycle_stage = 'active'"
    )
    for c in clauses:
        sql += " AND " + clause(c, args)
    return sql, args


def order(orders: list[Any]) -> tuple[str, str, list[Any]]:
    """Parsed sort keys as ``(joins, ORDER BY terms, the joins' arguments)``: missing values
    last, numbers before other text, then newest first, then by run id (a stable order)."""
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
                f"LEFT JOIN {table} {alias} ON {alias}.run_uuid = r.run_uuid AND {alias}.key = ?"
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
