"""Tracking on a shared MLflow server backed by PostgreSQL: a throwaway cluster
(tests/postgres_server.py), ``mlflow server --backend-store-uri postgresql://...
--artifacts-destination ...`` (artifacts through the server, no shared disk), and a lab
subprocess pointed at it with ``MLLabApp.tracking_uri``. A sweep whose runs log metrics and
register their models, the runs table, compare, the registry and its aliases, all held by
PostgreSQL (docs/scaling.md describes this set-up)."""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from deploy_helpers import service_processes
from jobs_helpers import TERMINAL, make_notebook
from lab_server import TOKEN, call, free_port, ok, start, stop, wait_up
from mlflow.tracking import MlflowClient
from mlflow_server import mlflow_server_at
from postgres_server import postgres_at

COLUMNS = ["alcohol", "malic_acid", "ash"]
TRAIN = (
    "import numpy as np\n"
    "import jupyter_mllab as mllab\n"
    "from sklearn.datasets import load_wine\n"
    "from sklearn.linear_model import ElasticNet\n"
    "wine = load_wine(as_frame=True)\n"
    "X, y = wine.data[['alcohol', 'malic_acid', 'ash']], wine.target\n"
    "model = ElasticNet(alpha=alpha, l1_ratio=0.5).fit(X, y)\n"
    "rmse = float(np.sqrt(np.mean((model.predict(X) - y) ** 2)))\n"
    "for step in range(3):\n"
    "    mllab.log_metric('rmse', rmse * (3 - step), step=step)\n"
    "mllab.log_model(model, 'pgwine', sample=X.head(3))\n"
)


def _predict(port: int, service: str, body: Any) -> tuple[int, Any]:
    """A prediction through the lab's proxy for ``service`` (the lab's token only)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(
            "POST", f"/mllab/api/services/{service}/proxy/invocations", json.dumps(body),
            {"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
        )  # fmt: skip
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(the MLflow server's URL, the PostgreSQL URL behind it)."""
    root = tmp_path_factory.mktemp("mlflow-pg")
    with postgres_at() as database, mlflow_server_at(root, database) as url:
        yield url, database


def test_sweep_runs_compare_and_registry_on_postgres(
    shared_server: tuple[str, str], tmp_path: Path
) -> None:
    url, database = shared_server
    assert database.startswith("postgresql://")
    root, home, port = tmp_path / "root", tmp_path / "home", free_port()
    make_notebook(root / "train.ipynb", "alpha = 0.5", TRAIN)
    server = start(root, home, port, f"--MLLabApp.tracking_uri={url}")
    try:
        wait_up(port)
        info = ok(port, "GET", "info")
        assert info["tracking_uri"] == url
        body = {"notebook": "train.ipynb", "parameters": {"alpha": {"values": [0.05, 2.0]}}}
        sweep = ok(port, "POST", "jobs", body)
        deadline = time.monotonic() + 300
        while sweep["status"] not in TERMINAL:
            assert time.monotonic() < deadline, sweep
            time.sleep(0.5)
            sweep = ok(port, "GET", f"jobs/{sweep['id']}")
        assert sweep["status"] == "COMPLETED", "\n".join(
            f"{c['status']} {c['error']}\n" + ok(port, "GET", f"jobs/{c['id']}/log")["text"][-3000:]
            for c in sweep["children"]
        )
        ids = [c["mlflow_run_id"] for c in sweep["children"]]

        # the runs table: the sweep's two runs, best first, from the server
        query = f"project=default&sweep={sweep['mlflow_run_id']}&order_by=metrics.rmse%20ASC"
        page = ok(port, "GET", f"runs?{query}")
        assert page["mlflow_ui"] == url and page["total"] == 2
        assert sorted(r["run_id"] for r in page["runs"]) == sorted(ids)
        best, worst = page["runs"]
        assert best["metrics"]["rmse"] < worst["metrics"]["rmse"]
        assert best["params"]["alpha"] == "0.05"

        # compare: alpha differs, the rmse histories have their 3 steps
        result = ok(port, "GET", f"runs/compare?ids={','.join(ids)}")
        assert result["params"]["alpha"] is True
        assert {k: len(v) for k, v in result["histories"]["rmse"].items()} == dict.fromkeys(ids, 3)

        # log_model registered one version per run; alias the best one
        models = ok(port, "GET", "projects/default/models")["models"]
        [wine] = [m for m in models if m["name"] == "pgwine"]
        assert wine["versions_count"] == 2
        versions = ok(port, "GET", "projects/default/models/pgwine/versions")["versions"]
        [champion] = [v for v in versions if v["run_id"] == best["run_id"]]
        moved = ok(port, "PUT", "projects/default/models/pgwine/aliases/champion",
                   {"version": champion["version"]})  # fmt: skip
        assert moved["aliases"] == ["champion"]
        detail = ok(port, "GET", f"projects/default/models/pgwine/versions/{champion['version']}")
        assert [c["name"] for c in detail["signature"]["inputs"]] == COLUMNS
        assert "MLmodel" in {f["path"] for f in detail["files"]}  # artifacts via the server

        # all of it is in PostgreSQL: MLflow's own client, through the server, agrees
        client = MlflowClient(url, registry_uri=url)
        assert (
            client.get_model_version_by_alias("default~pgwine", "champion").run_id == best["run_id"]
        )
        assert client.get_run(best["run_id"]).data.tags["mllab.sweep_id"] == sweep["id"]

        # a deployment from that registry answers a prediction (through the lab's proxy)
        code, service = call(port, "POST", "services",
                             {"project": "default", "model": "pgwine@champion"})  # fmt: skip
        assert code == 201, service
        deadline = time.monotonic() + 240
        while not (service["status"] == "running" and service["ready"]):
            assert service["status"] != "failed" and time.monotonic() < deadline, service
            time.sleep(0.5)
            service = ok(port, "GET", f"services/{service['name']}")
        assert service["model"]["key"] == f"default/pgwine@{champion['version']}"
        assert service["model"]["run_id"] == best["run_id"]
        rows = {"dataframe_split": {"columns": COLUMNS, "data": [[13.0, 2.0, 2.4]]}}
        code, answer = _predict(port, service["name"], rows)
        assert code == 200 and len(answer["predictions"]) == 1, (code, answer)
        assert isinstance(answer["predictions"][0], float)
        assert call(port, "DELETE", f"services/{service['name']}")[0] == 204
    finally:
        stop(server)
        for proc in service_processes(home):  # a service outlives its lab by design
            proc.kill()
