"""The Dask executor against a distributed.LocalCluster with process workers (one machine
standing in for a cluster: the boundary we cannot reach here)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jobs_helpers import make_notebook, simple_notebook, wait_for
from mlflow.tracking import MlflowClient

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local


@pytest.fixture
def mllab_config(cluster: Any) -> dict[str, Any]:
    return {
        "executor": "dask",
        "dask_scheduler_address": cluster.scheduler_address,
        "max_concurrent_runs": 2,
    }


async def test_sweep_on_dask(api: Any, jp_root_dir: Path, mllab_home: Path) -> None:
    simple_notebook(jp_root_dir)
    code, sweep = await api(
        "POST",
        "jobs",
        body={"notebook": "train.ipynb", "parameters": {"alpha": {"values": [0.3, 0.4]}}},
    )
    assert code == 201, sweep
    sweep = await wait_for(api, sweep["id"], timeout=180)
    assert sweep["status"] == "COMPLETED", sweep
    client = MlflowClient(f"sqlite:///{mllab_home / 'mlflow.db'}")
    for child in sweep["children"]:
        assert child["progress"]["cells_done"] == child["progress"]["cells_total"] == 4
        assert client.get_run(child["mlflow_run_id"]).info.status == "FINISHED"
        _, log = await api("GET", "jobs", child["id"], "log")
        assert f"alpha is {child['parameters']['alpha']} epochs 2" in log["text"]
        code, out = await api("GET", "jobs", child["id"], "output")
        assert code == 200 and out["cells"]


async def test_cancel_on_dask(api: Any, jp_root_dir: Path) -> None:
    make_notebook(
        jp_root_dir / "long.ipynb",
        "n = 1",
        "print('started', flush=True)",
        "import time\ntime.sleep(120)",
    )
    _, job = await api("POST", "jobs", body={"notebook": "long.ipynb"})
    deadline = time.monotonic() + 120
    while True:
        _, view = await api("GET", "jobs", job["id"])
        if (view["progress"] or {}).get("cells_done", 0) >= 2:
            break
        assert time.monotonic() < deadline, view
        await asyncio.sleep(0.2)
    started = time.monotonic()
    await api("POST", "jobs", job["id"], "cancel")
    job = await wait_for(api, job["id"], timeout=30)
    assert job["status"] == "CANCELLED" and time.monotonic() - started < 10, job


async def test_outputs_come_back_from_dask(
    api: Any, jp_root_dir: Path, mllab_home: Path, tmp_path: Path
) -> None:
    """With Dask the worker lays out its own working folder (in its temp folder) and its
    outputs travel as MLflow artifacts, not through a shared disk."""
    import json

    make_notebook(
        jp_root_dir / "dwriter.ipynb",
        "n = 3",
        "import os\nrows = open('data/x.csv').read()\n"
        "open('out.txt', 'w').write(f'{n}:{rows}')\nprint('cwd', os.getcwd())",
    )
    (jp_root_dir / "data").mkdir()
    (jp_root_dir / "data" / "x.csv").write_text("a,b\n")
    _, job = await api("POST", "jobs", body={"notebook": "dwriter.ipynb"})
    job = await wait_for(api, job["id"], timeout=180)
    assert job["status"] == "COMPLETED", job
    client = MlflowClient(f"sqlite:///{mllab_home / 'mlflow.db'}")
    run_id = job["mlflow_run_id"]
    out = client.download_artifacts(run_id, "outputs/out.txt", str(tmp_path))
    assert Path(out).read_text() == "3:a,b\n"
    manifest = json.loads(
        Path(client.download_artifacts(run_id, "outputs.json", str(tmp_path))).read_text()
    )
    assert manifest["mode"] == "isolated" and [f["path"] for f in manifest["files"]] == ["out.txt"]
    _, log = await api("GET", "jobs", job["id"], "log")
    assert "mllab-job-" in log["text"]  # the worker's own temp folder, gone with the task
    assert not (jp_root_dir / "out.txt").exists()
    assert not (mllab_home / "jobs" / job["id"] / "work").exists()
