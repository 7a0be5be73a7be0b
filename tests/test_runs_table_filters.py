"""The runs table's filter compiler on its own: MLflow filters and sort keys compiled to SQL,
run against a small database with the tables of MLflow's SQLite schema that it reads; and
the backend choice (SQL for an embedded store with that schema, MLflow's client otherwise)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_mllab.errors import BadRequest
from jupyter_mllab.tracking.table import RunsTable, choose_backend, filters
from jupyter_mllab.tracking.table.mlflow_client import MlflowClientRuns
from jupyter_mllab.tracking.table.sqlite import SCHEMA, SqliteRuns

# run id -> (name, status, start, end, lifecycle, params, metrics {key: (value, is_nan)},
# tags, dataset names)
RUNS: dict[str, tuple[Any, ...]] = {
    "a": ("alpha", "FINISHED", 1000, 3000, "active", {"lr": "0.1", "opt": "adam"},
          {"acc": (0.9, 0)}, {"mllab.notebook": "/w/train.ipynb"}, ["wine@1"]),
    "b": ("beta", "FAILED", 2000, 2500, "active", {"lr": "10", "opt": "sgd"},
          {"acc": (0.5, 0)}, {"mllab.notebook": "/w/eval.ipynb"}, ["wine@2"]),
    "c": ("gamma", "FINISHED", 3000, None, "active", {"lr": "2", "opt": "Adam"},
          {"acc": (0.0, 1)}, {"team": "x"}, []),
    "d": ("deleted", "FINISHED", 4000, 5000, "deleted", {"lr": "0.1"},
          {"acc": (1.0, 0)}, {}, []),
    "e": ("epsilon", "RUNNING", 5000, None, "active", {"lr": "n/a"}, {}, {}, ["digits@1"]),
}  # fmt: skip


@pytest.fixture()
def db(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(tmp_path / "mlflow.db")
    for table, columns in SCHEMA.items():
        conn.execute(f"CREATE TABLE {table} ({', '.join(sorted(columns))})")
    for rid, (name, status, start, end, stage, params, metrics, tags, sets) in RUNS.items():
        conn.execute(
            "INSERT INTO runs (run_uuid, name, status, start_time, end_time, experiment_id, "
            "lifecycle_stage, user_id, artifact_uri) VALUES (?, ?, ?, ?, ?, '1', ?, 'me', '')",
            (rid, name, status, start, end, stage),
        )
        conn.executemany(
            "INSERT INTO params (run_uuid, key, value) VALUES (?, ?, ?)",
            [(rid, k, v) for k, v in params.items()],
        )
        for key, (value, is_nan) in metrics.items():
            for table in ("latest_metrics", "metrics"):
                conn.execute(
                    f"INSERT INTO {table} (run_uuid, key, value, is_nan, step) "
                    "VALUES (?, ?, ?, ?, 0)",
                    (rid, key, value, is_nan),
                )
        conn.executemany(
            "INSERT INTO tags (run_uuid, key, value) VALUES (?, ?, ?)",
            [(rid, k, v) for k, v in tags.items()],
        )
        for n, dataset in enumerate(sets):
            uuid = f"{rid}{n}"
            conn.execute(
                "INSERT INTO datasets (dataset_uuid, name, digest) VALUES (?, ?, 'dg')",
                (uuid, dataset),
            )
            conn.execute(
                "INSERT INTO inputs (source_type, source_id, destination_type, destination_id) "
                "VALUES ('DATASET', ?, 'RUN', ?)",
                (uuid, rid),
            )
    conn.commit()
    yield conn
    conn.close()


def matching(
    conn: sqlite3.Connection,
    filter_string: str,
    order_by: list[str] | None = None,
    quick: dict[str, str] | None = None,
) -> list[str]:
    text = filters.combined_filter(filter_string, quick or {})
    clauses, orders = filters.parse(text, order_by or [filters.DEFAULT_ORDER])
    where, wargs = filters.where(["1"], clauses)
    joins, order, oargs = filters.order(orders)
    sql = f"SELECT r.run_uuid FROM runs r {joins} WHERE {where} ORDER BY {order}"
    return [rid for (rid,) in conn.execute(sql, [*oargs, *wargs])]


def test_default_order_is_newest_first_and_skips_deleted_runs(db: sqlite3.Connection) -> None:
    assert matching(db, "") == ["e", "c", "b", "a"]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.acc > 0.6", ["a"]),
        ("metrics.acc <= 0.9", ["b", "a"]),  # c's NaN matches no comparison
        ("params.lr = '0.1'", ["a"]),
        ("params.opt LIKE 'a%'", ["a"]),  # LIKE is case-sensitive, as in MLflow
        ("params.opt ILIKE 'a%'", ["c", "a"]),
        ("params.opt LIKE '_dam'", ["c", "a"]),
        ("attributes.status = 'FINISHED'", ["c", "a"]),
        ("attributes.run_id IN ('b', 'e', 'd')", ["e", "b"]),  # d is deleted
        ("attributes.run_name != 'beta'", ["e", "c", "a"]),
        ("attributes.start_time >= 3000", ["e", "c"]),
        ("tags.team = 'x'", ["c"]),
        ("datasets.name LIKE 'wine@%'", ["b", "a"]),
        ("params.opt = 'adam' and metrics.acc > 0.1", ["a"]),
    ],
)
def test_mlflow_filters_compile_to_sql(
    db: sqlite3.Connection, filter_string: str, expected: list[str]
) -> None:
    assert matching(db, filter_string) == expected


def test_quick_filters(db: sqlite3.Connection) -> None:
    assert matching(db, "", quick={"status": " failed "}) == ["b"]
    assert matching(db, "", quick={"notebook": "train.ipynb"}) == ["a"]
    assert matching(db, "", quick={"dataset": "wine"}) == ["b", "a"]  # any version
    assert matching(db, "", quick={"dataset": "wine@1"}) == ["a"]
    assert matching(db, "", quick={"tag": "team=x"}) == ["c"]
    assert matching(db, "", quick={"tag": "mllab.notebook"}) == ["b", "a"]  # has the tag
    assert matching(db, "metrics.acc > 0.1", quick={"status": "FINISHED"}) == ["a"]
    # a quote in a quick filter stays inside its string
    assert matching(db, "", quick={"notebook": "x' or 1=1"}) == []


def test_like_patterns_are_glob_without_wildcards_leaking() -> None:
    assert filters.glob("a%b_c") == "a*b?c"
    assert filters.glob("*?[") == "[*][?][[]"


def test_sorting_puts_missing_last_and_numbers_in_numeric_order(db: sqlite3.Connection) -> None:
    # lr as numbers 0.1 < 2 < 10, then the text "n/a"
    assert matching(db, "", ["params.lr ASC"]) == ["a", "c", "b", "e"]
    assert matching(db, "", ["params.lr DESC"]) == ["b", "c", "a", "e"]
    # NaN (c) and no metric (e) last, whichever the direction
    assert matching(db, "", ["metrics.acc ASC"]) == ["b", "a", "e", "c"]
    assert matching(db, "", ["metrics.acc DESC"]) == ["a", "b", "e", "c"]
    assert matching(db, "", ["attributes.end_time ASC"]) == ["b", "a", "e", "c"]


@pytest.mark.parametrize(
    ("filter_string", "order_by", "reason"),
    [
        ("metrics.acc >>> 1", [], "bad_filter"),  # MLflow's parser refuses it
        ("datasets.context = 'x'", [], "bad_filter"),
        ("params.x = '" + "y" * (filters.MAX_FILTER + 1) + "'", [], "filter_too_long"),
        ("params.x LIKE '" + "%" * (filters.MAX_PATTERN + 1) + "'", [], "pattern_too_long"),
        ("", ["nonsense.x DESC"], "bad_filter"),
    ],
)
def test_bad_filters_are_400s(filter_string: str, order_by: list[str], reason: str) -> None:
    with pytest.raises(BadRequest) as info:
        clauses, _ = filters.parse(filter_string, order_by)
        filters.where(["1"], clauses)
    assert info.value.reason == reason and info.value.status == 400
    assert str(info.value)


def test_backend_is_chosen_once_from_the_store(db: sqlite3.Connection, tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert isinstance(choose_backend(uri), SqliteRuns)
    assert isinstance(choose_backend("http://127.0.0.1:9"), MlflowClientRuns)
    assert isinstance(choose_backend(f"sqlite:///{tmp_path / 'none.db'}"), MlflowClientRuns)
    # a SQLite file without MLflow's columns is left to MLflow's client
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE runs (run_uuid)")
    other.commit()
    other.close()
    assert isinstance(choose_backend(f"sqlite:///{tmp_path / 'other.db'}"), MlflowClientRuns)

    table = RunsTable(uri)
    page = table.page(["1"], order_by=["metrics.acc DESC"], limit=2)
    assert [r["run_id"] for r in page["runs"]] == ["a", "b"] and page["total"] == 4
    assert page["columns"]["params"] == ["lr", "opt"]
    assert page["runs"][0]["notebook"] == "/w/train.ipynb"
    first = table.backend
    table.compare(["a", "c"])
    assert table.backend is first
    assert table.compare(["a", "c"])["runs"][1]["metrics"] == {"acc": None}  # NaN
