"""The runs table under hostile or large input: LIKE patterns that would backtrack, text that
a spreadsheet would run as a formula, exports past SQLite's variable limit, and metric
histories far longer than a chart's budget. Each case leaves the server answering."""

from __future__ import annotations

import asyncio
import csv
import io
import itertools
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient
from test_runs_table import experiment, names

from jupyter_mllab.tracking.table.sqlite import SqliteRuns

NOTEBOOK = "/home/jovyan/work/experiments/train.ipynb"


def bulk_runs(db: Path, experiment_id: str, count: int, **tags: str) -> list[str]:
    """``count`` finished runs written straight into MLflow's tables (as bench/tracking.py)."""
    ids = [uuid.uuid4().hex for _ in range(count)]
    conn = sqlite3.connect(db)
    with conn:
        conn.executemany(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, "
            "user_id, status, start_time, end_time, source_version, lifecycle_stage, "
            "artifact_uri, experiment_id) VALUES (?, ?, 'LOCAL', '', '', 'me', 'FINISHED', "
            "?, ?, '', 'active', '', ?)",
            [(rid, f"bulk {i}", 10 + i, 20 + i, int(experiment_id)) for i, rid in enumerate(ids)],
        )
        conn.executemany(
            "INSERT INTO params (key, value, run_uuid) VALUES ('alpha', ?, ?)",
            [(str(i), rid) for i, rid in enumerate(ids)],
        )
        conn.executemany(
            "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
            "VALUES ('acc', ?, 0, 0, 0, ?)",
            [(i / count, rid) for i, rid in enumerate(ids)],
        )
        for key, value in tags.items():
            conn.executemany(
                "INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)",
                [(key, value, rid) for rid in ids],
            )
    conn.close()
    return ids


async def timed(call: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    result = await call
    return time.perf_counter() - t, result


# -- LIKE without backtracking -----------------------------------------------------------


WORST = [
    "_%" * 8 + "!",  # about 5 s on a regular expression
    "_%" * 12 + "!",  # the review's pattern: minutes
    "%_" * 12 + "!",
    "_%" * 100 + "!",
    "%" * 250 + "!",
    "_%" * 249 + "!",  # 499 characters, under the cap
]


async def test_worst_like_patterns_answer_in_milliseconds(api: Any, mllab_home: Path) -> None:
    exp = await experiment(api)
    client = MlflowClient(f"sqlite:///{mllab_home / 'mlflow.db'}")
    client.create_run(exp, run_name="one", tags={"mllab.notebook": NOTEBOOK})
    for pattern in WORST:
        slow = asyncio.ensure_future(
            timed(api("GET", "runs", params={"notebook": pattern, "limit": "10"}))
        )
        await asyncio.sleep(0.02)
        # another request meanwhile: the server is not pinned by the first one
        info_took, (code, _) = await timed(api("GET", "info"))
        assert code == 200 and info_took < 1.0, pattern
        took, (code, page) = await slow
        assert code == 200, page
        assert page["runs"] == [] and took < 1.0, pattern
        # the same pattern through MLflow's syntax, on a run name
        took, (code, page) = await timed(
            api("GET", "runs", params={"filter": f"attributes.run_name LIKE '{pattern}'"})
        )
        assert code == 200 and page["runs"] == [] and took < 1.0, pattern
    code, page = await api("GET", "runs", params={"notebook": "_%" * 12 + ".ipynb"})
    assert code == 200 and names(page) == ["one"]


async def test_like_keeps_its_meaning(api: Any, mllab_home: Path) -> None:
    """Case-sensitive; ``%`` and ``_`` are wildcards; GLOB's own ``* ? [`` are literal."""
    exp = await experiment(api)
    client = MlflowClient(f"sqlite:///{mllab_home / 'mlflow.db'}")
    for name in ("a*b", "a?b", "a[b]", "axb", "A_B", "a%b"):
        client.create_run(exp, run_name=name)

    async def like(pattern: str) -> list[str]:
        code, page = await api(
            "GET", "runs", params={"filter": f"attributes.run_name LIKE '{pattern}'"}
        )
        assert code == 200, page
        return sorted(names(page))

    assert await like("a*b") == ["a*b"]
    assert await like("a?b") == ["a?b"]
    assert await like("a[b]") == ["a[b]"]
    assert await like("a_b") == ["a%b", "a*b", "a?b", "axb"]
    assert await like("A%") == ["A_B"]
    assert await like("%]") == ["a[b]"]
    assert await like("a%b") == ["a%b", "a*b", "a?b", "axb"]


async def test_long_patterns_get_400_naming_the_limit(api: Any, mllab_home: Path) -> None:
    await experiment(api)
    for params, limit in [
        ({"notebook": "x" * 500}, "500"),  # with the leading % the quick filter adds: 501
        ({"filter": f"attributes.run_name LIKE '{'_' * 501}'"}, "500"),
        ({"filter": f"params.alpha ILIKE '{'%' * 600}'"}, "500"),
        ({"filter": "params.alpha = '1' and " * 300 + "params.alpha = '1'"}, "5000"),
    ]:
        code, reply = await api("GET", "runs", params=params)
        assert code == 400, reply
        assert reply["reason"] in ("pattern_too_long", "filter_too_long")
        assert f"at most {limit} " in reply["message"]
    code, _ = await api("GET", "info")
    assert code == 200


# -- CSV export ---------------------------------------------------------------------------


async def export(jp_fetch: Any, **params: str) -> tuple[int, list[dict[str, str]]]:
    response = await jp_fetch(
        "mllab", "api", "runs", params={"format": "csv", **params}, raise_error=False
    )
    if response.code != 200:
        return response.code, []
    return 200, list(csv.DictReader(io.StringIO(response.body.decode(), newline="")))


async def test_csv_export_escapes_formulas_in_every_text_cell(
    api: Any, jp_fetch: Any, mllab_home: Path
) -> None:
    exp = await experiment(api)
    client = MlflowClient(f"sqlite:///{mllab_home / 'mlflow.db'}")
    hostile = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\t=1+1", "\r=1+1"]
    for n, text in enumerate(hostile):
        run = client.create_run(
            exp, run_name=text, tags={"mllab.notebook": text, "note": text}, start_time=n + 1
        )
        client.log_param(run.info.run_id, "p", text)
    plain = client.create_run(exp, run_name="plain", start_time=100)
    client.log_param(plain.info.run_id, "p", "-0.5")  # a number stays a number
    code, rows = await export(jp_fetch, order_by="attributes.start_time ASC")
    assert code == 200 and len(rows) == len(hostile) + 1
    for text, row in zip(hostile, rows, strict=False):
        for column in ("name", "notebook", "params.p"):
            assert row[column] == "'" + text, (column, row[column])
    assert rows[-1]["name"] == "plain" and rows[-1]["params.p"] == "-0.5"


@pytest.fixture
def sqlite_default_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's own default of 32,766 variables a statement (this Python's build allows
    more; many, such as macOS's, do not)."""
    connect = sqlite3.connect

    def limited(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(*args, **kwargs)
        conn.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 32_766)
        return conn

    monkeypatch.setattr(sqlite3, "connect", limited)


@pytest.mark.usefixtures("sqlite_default_limits")
async def test_csv_export_of_more_runs_than_sqlites_variable_limit(
    api: Any, jp_fetch: Any, mllab_home: Path
) -> None:
    exp = await experiment(api)
    ids = bulk_runs(mllab_home / "mlflow.db", exp, 33_000, **{"mllab.notebook": "/a.ipynb"})
    before = (mllab_home / "mlflow.db").read_bytes()
    code, rows = await export(jp_fetch)
    assert code == 200
    assert len(rows) == 33_000 and {r["run_id"] for r in rows} == set(ids)
    assert all(r["notebook"] == "/a.ipynb" and r["params.alpha"] for r in rows)
    code, rows = await export(jp_fetch, filter="metrics.acc >= 0.5")
    assert code == 200 and len(rows) == 16_500
    assert (mllab_home / "mlflow.db").read_bytes() == before  # nothing stored changed
    code, page = await api("GET", "runs", params={"limit": "1"})
    assert code == 200 and page["total"] == 33_000


# -- metric histories thinned in SQL ------------------------------------------------------

POINTS = 100_000


def long_history(db: Path, run_id: str, keys: tuple[str, ...] = ("loss", "acc")) -> None:
    conn = sqlite3.connect(db)
    with conn:
        for key in keys:
            conn.executemany(
                "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
                "VALUES (?, ?, ?, ?, ?, 0)",
                ((key, 1 / (s + 1), 1000 + s, run_id, s) for s in range(POINTS)),
            )
            conn.execute(
                "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
                "VALUES (?, ?, ?, ?, 0, ?)",
                (key, 1 / POINTS, 1000 + POINTS - 1, POINTS - 1, run_id),
            )
    conn.close()


def assert_thinned(steps: list[int], budget: int) -> None:
    assert 2 <= len(steps) <= budget
    assert steps[0] == 0 and steps[-1] == POINTS - 1  # the first and last points
    assert steps == sorted(set(steps))
    gaps = [b - a for a, b in itertools.pairwise(steps)]
    # each bucket's lowest and highest (2 points a bucket): spread, not clumped
    assert max(gaps) <= 4 * POINTS / budget


class CountingConnection:
    """The table's SQLite connection, counting the rows that reach Python."""

    class Rows(list):  # type: ignore[type-arg]
        def fetchall(self) -> list[Any]:
            return list(self)

        def fetchone(self) -> Any:
            return self[0] if self else None

    def __init__(self, conn: sqlite3.Connection):
        self.conn, self.rows = conn, 0

    def execute(self, *args: Any) -> Rows:
        rows = self.conn.execute(*args).fetchall()
        self.rows += len(rows)
        return self.Rows(rows)


async def test_compare_thins_long_histories(
    api: Any, mllab_home: Path, jp_serverapp: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = jp_serverapp.web_app.settings["mllab"].runs.table
    counting: list[CountingConnection] = []
    exp = await experiment(api)
    backend = table.backend
    assert isinstance(backend, SqliteRuns)  # the embedded store is read in SQL
    real = backend._conn

    def conn() -> CountingConnection:
        if not counting:
            counting.append(CountingConnection(real()))
        return counting[0]

    client = MlflowClient(f"sqlite:///{mllab_home / 'mlflow.db'}")
    run = client.create_run(exp, run_name="long").info.run_id
    short = client.create_run(exp, run_name="short").info.run_id
    client.log_metric(short, "loss", 0.5, step=0)
    client.log_metric(short, "loss", 0.25, step=1)
    long_history(mllab_home / "mlflow.db", run)
    # every point at step 0 (no step given): thinned by time instead
    flat = client.create_run(exp, run_name="flat").info.run_id
    db = sqlite3.connect(mllab_home / "mlflow.db")
    with db:
        db.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
            "VALUES ('loss', ?, ?, ?, 0, 0)",
            ((1 / (i + 1), 5000 + i, flat) for i in range(600)),
        )
    db.close()
    monkeypatch.setattr(backend, "_conn", conn)
    took, (code, result) = await timed(
        api("GET", "runs", "compare", params={"ids": f"{run},{short},{flat}"})
    )
    assert code == 200, result
    for key in ("loss", "acc"):
        points = result["histories"][key][run]
        assert_thinned([p[0] for p in points], 500)
        assert points[0][1] == 1.0 and points[-1][1] == pytest.approx(1 / POINTS)
    assert result["histories"]["loss"][short] == [[0, 0.5], [1, 0.25]]
    flat_points = result["histories"]["loss"][flat]
    assert 2 <= len(flat_points) <= 500
    assert flat_points[0][1] == 1.0 and flat_points[-1][1] == pytest.approx(1 / 600)
    assert counting[0].rows < 2_000  # not the 200,000 points: thinned in SQL
    assert took < 10


async def test_job_metrics_thin_long_histories(
    api: Any, mllab_home: Path, jp_serverapp: Any
) -> None:
    from jupyter_mllab.jobs.store import Job, new_id

    exp = await experiment(api)
    client = MlflowClient(f"sqlite:///{mllab_home / 'mlflow.db'}")
    run = client.create_run(exp, run_name="long").info.run_id
    long_history(mllab_home / "mlflow.db", run)
    lab = jp_serverapp.web_app.settings["mllab"]
    job = Job(
        id=new_id(), kind="run", parent_id=None, project="default", notebook="/x.ipynb",
        kernel="python3", status="COMPLETED", parameters={}, spec={}, tags={}, datasets=[],
        gpus=0, timeout=None, created=time.time(), mlflow_run_id=run,
    )  # fmt: skip
    lab.job_store.insert([job])
    code, reply = await api("GET", "jobs", job.id, "metrics")
    assert code == 200, reply
    for key in ("loss", "acc"):
        points = reply["metrics"][key]
        assert set(points[0]) == {"step", "value", "timestamp"}
        assert_thinned([p["step"] for p in points], 1000)
        assert points[-1]["timestamp"] == 1000 + POINTS - 1
    code, reply = await api("GET", "jobs", job.id, "metrics", params={"max_points": "50"})
    assert code == 200 and 40 <= len(reply["metrics"]["loss"]) <= 50
    code, reply = await api("GET", "jobs", job.id, "metrics", params={"max_points": "1"})
    assert code == 400, reply
