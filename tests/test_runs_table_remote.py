"""A real remote tracking server: ``mlflow server`` on 127.0.0.1, our lab pointed at it.

The runs table goes through MLflow's client there (no SQLite fast path), with the same
answers; ``mllab.log_metric`` from a kernel-like process lands on the server too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient
from mlflow_server import mlflow_server_at
from test_runs_table import make_runs, names


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mlflow_server_at(tmp_path_factory.mktemp("mlflow-server")) as url:
        yield url


@pytest.fixture
def mllab_config(mlflow_server: str) -> dict[str, Any]:
    return {"tracking_uri": mlflow_server}


async def test_runs_table_on_a_remote_server(api: Any, mlflow_server: str) -> None:
    code, page = await api("GET", "runs", params={"project": "default"})
    assert code == 200, page
    assert page["mlflow_ui"] == mlflow_server
    runs = make_runs(MlflowClient(mlflow_server), page["experiment_id"])

    _, page = await api("GET", "runs", params={"order_by": "metrics.acc DESC", "limit": "3"})
    assert names(page) == ["run 12", "run 11", "run 10"]
    assert page["total"] is None or page["total"] == 13
    _, page = await api("GET", "runs", params={"sweep": runs["sweep"], "limit": "10"})
    assert sorted(names(page)) == ["run 1", "run 2", "run 3"] and page["total"] == 3
    _, page = await api("GET", "runs", params={"filter": "params.opt = 'sgd'", "offset": "1"})
    assert len(page["runs"]) == 3  # runs 3, 6, 9, 12 less the first
    code, reply = await api("GET", "runs", params={"filter": "metrics.acc >> 1"})
    assert code == 400 and reply["reason"] == "bad_filter"

    ids = [runs["runs"][i] for i in (1, 2)]
    code, result = await api("GET", "runs", "compare", params={"ids": ",".join(ids)})
    assert code == 200, result
    assert result["params"]["alpha"] is True
    assert len(result["histories"]["loss"][ids[0]]) == 5


def test_logging_from_a_kernel_to_a_remote_server(
    mlflow_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a kernel does: the client's buffered metrics reach the server, all of them."""
    script = (
        "import jupyter_mllab as mllab\n"
        "with mllab.start_run(name='remote') as run:\n"
        "    mllab.log_params({'lr': 0.1})\n"
        "    for i in range(2500):\n"
        "        mllab.log_metric('loss', 1 / (i + 1), step=i)\n"
        "print(run.info.run_id)\n"
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server, "MLLAB_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    run_id = out.stdout.strip().splitlines()[-1]
    client = MlflowClient(mlflow_server)
    history = client.get_metric_history(run_id, "loss")
    assert sorted(m.step for m in history) == list(range(2500))
    assert client.get_run(run_id).data.params == {"lr": "0.1"}
