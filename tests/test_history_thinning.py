"""Metric histories thinned to a point budget (tracking/table/thinning.py) and fetched
incrementally: bounded, the first, last and extreme points kept, the same answer from SQL
over MLflow's SQLite store as from MLflow's client, and only newer points after a step or a
time, through both history routes (a run's metrics, Compare)."""

from __future__ import annotations

import itertools
import math
import random
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient
from test_runs_table import experiment

from jupyter_mllab.tracking.table.mlflow_client import MlflowClientRuns
from jupyter_mllab.tracking.table.sqlite import SqliteRuns
from jupyter_mllab.tracking.table.thinning import Window, thin

N = 20_000


def noisy(n: int, seed: int = 1) -> list[tuple[int, float | None, int]]:
    """A falling, noisy curve with two spikes (one up, one down) and a NaN gap."""
    rng = random.Random(seed)
    points: list[tuple[int, float | None, int]] = []
    for s in range(n):
        value: float | None = 1 / (1 + s / 100) + rng.random() * 0.01
        if s == n // 3:
            value = 50.0  # a divergence the chart must show
        if s == 2 * n // 3:
            value = -7.0
        if s == n // 2:
            value = None
        points.append((s, value, 10_000 + s))
    return points


@pytest.mark.parametrize("most", [4, 5, 50, 501, 2000])
def test_thin_is_bounded_and_keeps_first_last_and_extremes(most: int) -> None:
    points = noisy(N)
    kept = thin(points, most)
    assert 2 <= len(kept) <= most
    assert kept[0] == points[0] and kept[-1] == points[-1]
    steps = [p[0] for p in kept]
    assert steps == sorted(set(steps))  # in order, no duplicates
    values = [p[1] for p in kept]
    assert 50.0 in values and -7.0 in values  # the spikes survive any budget
    assert set(kept) <= set(points)  # real points, not averages
    if most >= 50:
        # spread over the whole range: no stretch of steps without a point
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(kept)]
        assert max(gaps) <= 2 * N / ((most - 2) // 2) + 1


def test_thin_leaves_short_histories_and_flat_steps() -> None:
    short = noisy(30)
    assert thin(short, 30) == short
    # every point logged at step 0: buckets of time instead
    flat = [(0, float(math.sin(i / 50)), 1000 + i) for i in range(5000)]
    kept = thin(flat, 100)
    assert len(kept) <= 100 and kept[0] == flat[0] and kept[-1] == flat[-1]
    assert max(p[1] for p in kept) == max(p[1] for p in flat)  # type: ignore[type-var]


def test_window_keeps_points_after_a_step_and_a_time() -> None:
    points = noisy(100)
    assert [p[0] for p in points if Window(after_step=90).keeps(p)] == list(range(91, 100))
    assert [p[0] for p in points if Window(since=10_095).keeps(p)] == list(range(96, 100))
    both = Window(after_step=10, since=10_095)
    assert [p[0] for p in points if both.keeps(p)] == list(range(96, 100))


def write_history(db: Path, run_id: str, key: str, points: list[Any]) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ((key, 0.0 if v is None else v, t, run_id, s, int(v is None)) for s, v, t in points),
        )
    conn.close()


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, str, list[Any]]:
    db = tmp_path / "mlflow.db"
    client = MlflowClient(f"sqlite:///{db}")
    exp = client.create_experiment("thin", artifact_location=str(tmp_path / "art"))
    run = client.create_run(exp).info.run_id
    points = noisy(N)
    write_history(db, run, "loss", points)
    return db, run, points


@pytest.mark.parametrize("most", [4, 101, 1000])
def test_sql_and_mlflow_client_thin_alike(store: tuple[Path, str, list[Any]], most: int) -> None:
    db, run, points = store
    fast = SqliteRuns.open(db)
    assert fast is not None
    slow = MlflowClientRuns(f"sqlite:///{db}")
    keys = {run: ["loss"]}
    by_sql = fast.histories([run], most, keys)["loss"][run]
    by_client = slow.histories([run], most, keys)["loss"][run]
    assert by_sql == by_client
    assert 2 <= len(by_sql) <= most
    assert by_sql[0] == points[0] and by_sql[-1] == points[-1]
    assert {50.0, -7.0} <= {p[1] for p in by_sql}
    # incremental: only what came after the last point seen, thinned alike
    window = Window(after_step=N - 10)
    newer = fast.histories([run], most, keys, window)["loss"][run]
    assert newer == slow.histories([run], most, keys, window)["loss"][run]
    assert newer[0][0] == N - 9 and newer[-1][0] == N - 1 and len(newer) <= most
    if most >= 9:
        assert [p[0] for p in newer] == list(range(N - 9, N))
    assert "loss" not in fast.histories([run], most, keys, Window(since=10_000 + N))


async def test_history_routes_take_a_budget_and_fetch_incrementally(
    api: Any, mllab_home: Path, jp_serverapp: Any
) -> None:
    from jupyter_mllab.jobs.store import Job, new_id

    exp = await experiment(api)
    client = MlflowClient(f"sqlite:///{mllab_home / 'mlflow.db'}")
    run = client.create_run(exp, run_name="noisy").info.run_id
    points = noisy(N)
    write_history(mllab_home / "mlflow.db", run, "loss", points)
    client.log_metric(run, "acc", 0.5, step=0)  # makes the run's metric keys known
    lab = jp_serverapp.web_app.settings["mllab"]
    job = Job(
        id=new_id(), kind="run", parent_id=None, project="default", notebook="/x.ipynb",
        kernel="python3", status="RUNNING", parameters={}, spec={}, tags={}, datasets=[],
        gpus=0, timeout=None, created=time.time(), mlflow_run_id=run,
    )  # fmt: skip
    lab.job_store.insert([job])

    code, reply = await api("GET", "jobs", job.id, "metrics", params={"max_points": "300"})
    assert code == 200, reply
    loss = reply["metrics"]["loss"]
    assert 2 <= len(loss) <= 300
    assert loss[-1] == {"step": N - 1, "value": points[-1][1], "timestamp": 10_000 + N - 1}
    assert max(p["value"] for p in loss if p["value"] is not None) == 50.0

    # the page has everything up to the last step: only newer points come back
    last = loss[-1]
    code, reply = await api(
        "GET", "jobs", job.id, "metrics", params={"after_step": str(last["step"])}
    )
    assert code == 200 and reply["metrics"] == {}, reply
    more = [(N + i, 0.01, 10_000 + N + i) for i in range(5)]
    write_history(mllab_home / "mlflow.db", run, "loss", more)
    code, reply = await api(
        "GET", "jobs", job.id, "metrics", params={"since": str(last["timestamp"])}
    )
    assert code == 200, reply
    assert [p["step"] for p in reply["metrics"]["loss"]] == [N + i for i in range(5)]

    # Compare takes the same budget and window
    code, reply = await api(
        "GET", "runs", "compare", params={"ids": run, "max_points": "100", "after_step": "10"}
    )
    assert code == 200, reply
    history = reply["histories"]["loss"][run]
    assert 2 <= len(history) <= 100 and history[0][0] == 11 and history[-1][0] == N + 4

    for bad in ({"max_points": "1"}, {"max_points": "10001"}, {"after_step": "x"}):
        code, reply = await api("GET", "jobs", job.id, "metrics", params=bad)
        assert code == 400 and reply["reason"] == "bad_argument", reply
