"""The runs table over a real MLflow store: paging, sorting, MLflow filters, quick filters,
compare and CSV; on the embedded SQLite store (fast path) and, in
test_runs_table_remote.py, on a real ``mlflow server``."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param
from mlflow.tracking import MlflowClient


async def experiment(api: Any) -> str:
    code, page = await api("GET", "runs", params={"project": "default"})
    assert code == 200, page
    return str(page["experiment_id"])


def make_runs(client: MlflowClient, experiment_id: str) -> dict[str, Any]:
    """12 runs: alpha 1..12 (as text: '10' must sort after '9'), opt adam/sgd, acc and a
    loss curve; runs 1-3 are children of a sweep run; run 4 read a dataset; run 5 failed;
    run 6 has a parameter that looks like a spreadsheet formula."""
    sweep = client.create_run(experiment_id, run_name="train sweep", tags={"mllab.search": "grid"})
    ids = {}
    for i in range(1, 13):
        tags = {"mllab.notebook": "/work/train.ipynb" if i % 2 else "/work/other.ipynb"}
        if i <= 3:
            tags["mlflow.parentRunId"] = sweep.info.run_id
        if i == 7:
            tags["team"] = "vision"
        run = client.create_run(experiment_id, run_name=f"run {i}", tags=tags, start_time=1000 * i)
        run_id = run.info.run_id
        params = [Param("alpha", str(i)), Param("opt", "adam" if i % 3 else "sgd")]
        if i == 6:
            params.append(Param("note", "=cmd|' /C calc'!A0"))
        metrics = [Metric("acc", i / 12, 0, s) for s in range(1)]
        metrics += [Metric("loss", 1.0 / (i + s), 0, s) for s in range(5)]
        client.log_batch(run_id, metrics=metrics, params=params)
        if i == 4:
            ds = Dataset("default/wine@2", "d" * 36, "mllab", "{}")
            client.log_inputs(run_id, [DatasetInput(ds, [InputTag("mlflow.data.context", "x")])])
        client.set_terminated(run_id, "FAILED" if i == 5 else "FINISHED", end_time=1000 * i + 500)
        ids[i] = run_id
    client.set_terminated(sweep.info.run_id, "FINISHED")
    return {"runs": ids, "sweep": sweep.info.run_id}


async def seed(api: Any, home: Path) -> dict[str, Any]:
    exp = await experiment(api)
    return make_runs(MlflowClient(f"sqlite:///{home / 'mlflow.db'}"), exp)


def names(page: dict[str, Any]) -> list[str]:
    return [r["name"] for r in page["runs"]]


async def test_paging_and_default_order(api: Any, mllab_home: Path) -> None:
    await seed(api, mllab_home)
    code, page = await api("GET", "runs", params={"limit": "5"})
    assert code == 200, page
    assert page["total"] == 13 and len(page["runs"]) == 5
    # newest first: the sweep run started last (now), then run 12, 11, ...
    assert names(page) == ["train sweep", "run 12", "run 11", "run 10", "run 9"]
    _, second = await api("GET", "runs", params={"limit": "5", "offset": "5"})
    assert names(second) == ["run 8", "run 7", "run 6", "run 5", "run 4"]
    assert page["columns"]["params"] == ["alpha", "note", "opt"]
    assert page["columns"]["metrics"] == ["acc", "loss"]
    assert "mllab.notebook" in page["columns"]["tags"]
    row = second["runs"][3]
    assert row["status"] == "FAILED" and row["duration"] == 0.5
    assert row["metrics"]["loss"] == pytest.approx(1 / 9)  # the latest point: step 4
    assert row["notebook"] == "/work/train.ipynb"


async def test_sorting_by_metric_and_numeric_parameter(api: Any, mllab_home: Path) -> None:
    await seed(api, mllab_home)
    _, page = await api("GET", "runs", params={"order_by": "metrics.acc DESC", "limit": "3"})
    assert names(page) == ["run 12", "run 11", "run 10"]
    _, page = await api("GET", "runs", params={"order_by": "params.alpha ASC", "limit": "13"})
    # numbers as numbers (2 before 10); the sweep run has no alpha: last
    assert names(page)[:3] == ["run 1", "run 2", "run 3"]
    assert names(page)[8:10] == ["run 9", "run 10"] and names(page)[-1] == "train sweep"
    _, page = await api(
        "GET", "runs", params=[("order_by", "params.opt"), ("order_by", "metrics.acc DESC")]
    )
    assert names(page)[:4] == ["run 11", "run 10", "run 8", "run 7"]  # adam, by acc


async def test_mlflow_filters(api: Any, mllab_home: Path) -> None:
    await seed(api, mllab_home)

    async def filtered(text: str) -> list[str]:
        code, page = await api("GET", "runs", params={"filter": text, "limit": "100"})
        assert code == 200, page
        return sorted(names(page), key=lambda n: int(n.split()[-1]) if n[-1].isdigit() else 0)

    assert await filtered("metrics.acc >= 0.75") == ["run 9", "run 10", "run 11", "run 12"]
    assert await filtered("params.opt = 'sgd' and metrics.acc < 0.5") == ["run 3"]
    assert await filtered("params.alpha != '1' and params.alpha LIKE '1%'") == [
        "run 10", "run 11", "run 12"
    ]  # fmt: skip
    assert await filtered("attributes.status = 'FAILED'") == ["run 5"]
    assert await filtered("tags.team = 'vision'") == ["run 7"]
    assert await filtered("attributes.run_name LIKE 'run 1%'") == [
        "run 1",
        "run 10",
        "run 11",
        "run 12",
    ]
    assert await filtered("attributes.run_name LIKE 'RUN 1'") == []  # LIKE is case-sensitive
    assert await filtered("attributes.run_name ILIKE 'RUN 1'") == ["run 1"]
    assert await filtered("datasets.name = 'default/wine@2'") == ["run 4"]


async def test_quick_filters(api: Any, mllab_home: Path) -> None:
    runs = await seed(api, mllab_home)

    async def quick(**params: str) -> list[str]:
        code, page = await api("GET", "runs", params={**params, "limit": "100"})
        assert code == 200, page
        return sorted(names(page))

    assert await quick(sweep=runs["sweep"]) == ["run 1", "run 2", "run 3"]
    assert await quick(status="failed") == ["run 5"]
    assert await quick(dataset="default/wine") == ["run 4"]
    assert await quick(dataset="default/wine@3") == []
    assert await quick(tag="team=vision") == ["run 7"]
    assert len(await quick(notebook="train.ipynb")) == 6
    assert await quick(notebook="train.ipynb", filter="metrics.acc > 0.8") == ["run 11"]


@pytest.mark.parametrize(
    "params",
    [
        {"filter": "metrics.acc >> 1"},
        {"filter": "params.alpha = 1"},  # MLflow: parameter values are strings, quoted
        {"order_by": "metrics.acc SIDEWAYS"},
        {"limit": "0"},
        {"limit": "x"},
        {"offset": "-1"},
    ],
)
async def test_bad_queries_get_400_with_mlflows_message(
    api: Any, mllab_home: Path, params: dict[str, str]
) -> None:
    await seed(api, mllab_home)
    code, reply = await api("GET", "runs", params=params)
    assert code == 400, reply
    assert set(reply) == {"message", "reason"} and reply["message"]
    assert "Traceback" not in reply["message"]


async def test_unknown_project(api: Any) -> None:
    code, reply = await api("GET", "runs", params={"project": "nope"})
    assert code == 404 and reply["reason"] == "no_such_project"


async def test_compare(api: Any, mllab_home: Path) -> None:
    runs = await seed(api, mllab_home)
    ids = [runs["runs"][i] for i in (1, 2, 3)]
    code, result = await api("GET", "runs", "compare", params={"ids": ",".join(ids)})
    assert code == 200, result
    assert [r["run_id"] for r in result["runs"]] == ids
    assert result["params"] == {"alpha": True, "opt": True}
    assert result["metrics"] == {"acc": True, "loss": True}
    loss = result["histories"]["loss"][ids[0]]
    assert [p[0] for p in loss] == [0, 1, 2, 3, 4] and loss[0][1] == 1.0
    code, reply = await api("GET", "runs", "compare", params={"ids": "0" * 32})
    assert code == 404 and reply["reason"] == "no_such_run"
    code, reply = await api("GET", "runs", "compare", params={"ids": "../etc"})
    assert code == 400


async def test_csv_export(api: Any, jp_fetch: Any, mllab_home: Path) -> None:
    await seed(api, mllab_home)
    response = await jp_fetch(
        "mllab", "api", "runs", params={"format": "csv", "order_by": "params.alpha"}
    )
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.body.decode())))
    assert len(rows) == 13
    assert rows[0]["name"] == "run 1" and rows[0]["params.alpha"] == "1"
    assert float(rows[11]["metrics.acc"]) == 1.0
    note = next(r for r in rows if r["name"] == "run 6")["params.note"]
    assert note.startswith("'=")  # a formula stays text in a spreadsheet


async def test_many_runs_page_is_one_query_not_per_run(api: Any, mllab_home: Path) -> None:
    """A page reads the rows it shows, not every run: with 500 more runs a page of 10
    sorted by a metric still returns quickly and the count is right."""
    await seed(api, mllab_home)
    import sqlite3
    import time
    import uuid

    exp = await experiment(api)
    conn = sqlite3.connect(mllab_home / "mlflow.db")
    with conn:
        for i in range(500):
            rid = uuid.uuid4().hex
            conn.execute(
                "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, "
                "user_id, status, start_time, end_time, source_version, lifecycle_stage, "
                "artifact_uri, experiment_id) VALUES (?, ?, 'LOCAL', '', '', 'me', 'FINISHED', "
                "?, ?, '', 'active', '', ?)",
                (rid, f"bulk {i}", 10 + i, 20 + i, int(exp)),
            )
            conn.execute(
                "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
                "VALUES ('acc', ?, 0, 0, 0, ?)",
                (2 + i / 1000, rid),
            )
    conn.close()
    t = time.perf_counter()
    code, page = await api("GET", "runs", params={"order_by": "metrics.acc DESC", "limit": "10"})
    assert code == 200 and page["total"] == 513
    assert names(page)[0] == "bulk 499"
    assert time.perf_counter() - t < 5
