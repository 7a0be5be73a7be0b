"""Logging from notebooks: buffered metrics in order, runs, run_experiment, a killed kernel."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import KernelManager
from mlflow.tracking import MlflowClient

import jupyter_mllab as mllab


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    home = tmp_path / "home"
    monkeypatch.setenv("MLLAB_HOME", str(home))
    monkeypatch.delenv("MLLAB_RUN_ID", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    mllab.list_projects()  # the lab's tables and the default project
    return MlflowClient(f"sqlite:///{home / 'mlflow.db'}")


def test_start_run_logs_in_order(lab: MlflowClient) -> None:
    with mllab.start_run(name="loop", params={"lr": 0.1}, tags={"team": "a"}) as run:
        for i in range(2500):
            mllab.log_metric("loss", 1.0 / (i + 1))
        mllab.log_metrics({"acc": 0.5, "f1": 0.4}, step=7)
        mllab.set_tags(stage="test")
    stored = lab.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.params == {"lr": "0.1"}
    assert stored.data.tags["team"] == "a" and stored.data.tags["stage"] == "test"
    assert stored.data.tags["mllab.project"] == "default"
    history = lab.get_metric_history(run.info.run_id, "loss")
    assert sorted(m.step for m in history) == list(range(2500))  # none lost, none twice
    assert {m.step: m.value for m in history}[9] == 0.1
    assert [m.step for m in lab.get_metric_history(run.info.run_id, "acc")] == [7]
    experiment = lab.get_experiment(stored.info.experiment_id)
    assert experiment.name == "mllab/default"


def test_an_interactive_run_records_its_notebook(
    lab: MlflowClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """jupyter_server names a session's notebook to its kernel (JPY_SESSION_NAME): a run
    started there records the notebook and the saved file's sha256, as a tracked job's."""
    import hashlib

    notebook = tmp_path / "train.ipynb"
    notebook.write_text('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}')
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    with mllab.start_run(name="interactive") as run:
        pass
    tags = lab.get_run(run.info.run_id).data.tags
    assert tags["mllab.notebook"] == str(notebook)
    assert tags["mllab.notebook_sha256"] == hashlib.sha256(notebook.read_bytes()).hexdigest()
    assert tags["mlflow.source.type"] == "NOTEBOOK"
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "console-1"))  # not a notebook
    with mllab.start_run(name="console") as run:
        pass
    assert "mllab.notebook" not in lab.get_run(run.info.run_id).data.tags


def test_run_experiment_records_metrics_and_failure(lab: MlflowClient) -> None:
    def train(lr: float, epochs: int) -> dict[str, Any]:
        return {"accuracy": lr * epochs, "note": "not a number"}

    result = mllab.run_experiment(train, {"lr": 0.25, "epochs": 2})
    run = lab.get_run(result["run_id"])
    assert result["metrics"] == {"accuracy": 0.5}
    assert run.data.metrics["accuracy"] == 0.5 and run.data.metrics["duration_s"] >= 0
    assert run.data.params == {"lr": "0.25", "epochs": "2"}
    assert run.data.tags["mllab.env.python"]

    def broken(params: dict[str, Any]) -> None:
        raise ValueError("diverged")

    with pytest.raises(ValueError, match="diverged"):
        mllab.run_experiment(broken, {"x": 1})
    failed = lab.search_runs([run.info.experiment_id], "attributes.status = 'FAILED'")
    assert len(failed) == 1


def test_logging_needs_a_run(lab: MlflowClient) -> None:
    with pytest.raises(RuntimeError, match="No run to log to"):
        mllab.log_metric("x", 1.0)
    with pytest.raises(TypeError), mllab.start_run():
        mllab.log_metric("x", "high")  # type: ignore[arg-type]


def test_a_killed_kernel_loses_at_most_the_last_second(lab: MlflowClient, tmp_path: Path) -> None:
    """A real kernel logs in a loop inside a job's run (MLLAB_RUN_ID) and is SIGKILLed."""
    from jupyter_mllab.client.tracking import _experiment_id

    run_id = lab.create_run(_experiment_id("default")).info.run_id
    marks = tmp_path / "marks.txt"
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env={**os.environ, "MLLAB_RUN_ID": run_id}, cwd=str(tmp_path))
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        kc.execute(
            "import time, jupyter_mllab as mllab\n"
            f"marks = open({str(marks)!r}, 'a', buffering=1)\n"
            "i = 0\n"
            "while True:\n"
            "    mllab.log_metric('x', i, step=i)\n"
            "    if i % 50 == 0:\n"
            "        marks.write(f'{i} {time.time()}\\n')\n"
            "    i += 1\n"
            "    time.sleep(0.001)\n"
        )
        deadline = time.monotonic() + 60
        while not marks.exists() or len(marks.read_text().splitlines()) < 40:
            assert time.monotonic() < deadline, "the kernel never logged"
            time.sleep(0.1)
        time.sleep(2)
        killed_at = time.time()
        os.kill(km.provisioner.pid, signal.SIGKILL)
    finally:
        kc.stop_channels()
        km.cleanup_resources()
    # the step the kernel had reached one second before it died
    lines = [line.split() for line in marks.read_text().splitlines() if line.strip()]
    reached = max(int(i) for i, t in lines if float(t) <= killed_at - 1.0)
    steps = sorted(m.step for m in lab.get_metric_history(run_id, "x"))
    assert steps == list(range(len(steps)))  # in order, no gap, no duplicate
    assert steps[-1] >= reached, (steps[-1], reached)


def test_direct_sqlite_writes_match_mlflows_log_batch(lab: MlflowClient) -> None:
    """The embedded store's fast path stores what MLflow's own log_batch stores for the
    same points: out-of-order steps, repeated points, equal steps, NaN and infinities."""
    import math

    from mlflow.entities import Metric

    from jupyter_mllab.tracking.fastlog import RunNotActive, SqliteMetricWriter

    points = [
        ("loss", 0.5, 1000, 3),
        ("loss", 0.9, 1000, 1),
        ("loss", 0.5, 1000, 3),  # the same point again: stored once
        ("loss", 0.4, 1001, 3),  # same step, later: the latest
        ("loss", 0.3, 999, 2),
        ("acc", float("nan"), 1000, 0),
        ("acc", float("inf"), 1000, 1),
        ("gain", float("-inf"), 5, 0),
        ("gain", 7.0, 5, 0),  # same step and time, greater value: the latest
    ]
    experiment = lab.create_experiment("fastlog")
    ours = lab.create_run(experiment).info.run_id
    theirs = lab.create_run(experiment).info.run_id
    writer = SqliteMetricWriter(lab.tracking_uri)
    assert writer.usable()
    writer.write(ours, points[:4])
    writer.write(ours, points[4:])
    lab.log_batch(theirs, metrics=[Metric(k, v, ts, s) for k, v, ts, s in points[:4]])
    lab.log_batch(theirs, metrics=[Metric(k, v, ts, s) for k, v, ts, s in points[4:]])

    def same(a: float, b: float) -> bool:
        return (math.isnan(a) and math.isnan(b)) or a == b

    for key in ("loss", "acc", "gain"):
        a = sorted((m.step, m.timestamp, m.value) for m in lab.get_metric_history(ours, key))
        b = sorted((m.step, m.timestamp, m.value) for m in lab.get_metric_history(theirs, key))
        assert len(a) == len(b) and all(
            x[:2] == y[:2] and same(x[2], y[2]) for x, y in zip(a, b, strict=True)
        ), (key, a, b)
    latest_ours = lab.get_run(ours).data.metrics
    latest_theirs = lab.get_run(theirs).data.metrics
    assert latest_ours.keys() == latest_theirs.keys()
    assert all(same(latest_ours[k], latest_theirs[k]) for k in latest_ours), (
        latest_ours,
        latest_theirs,
    )
    lab.delete_run(ours)
    with pytest.raises(RunNotActive):
        writer.write(ours, points[:1])


@pytest.mark.parametrize(("uri", "imported"), [("http://127.0.0.1:9", "True"), ("sqlite", "False")])
def test_the_sender_thread_never_imports_mlflow_first(
    uri: str, imported: str, tmp_path: Path
) -> None:
    """On a remote store the sender thread would import mlflow while the cell's next call
    (log_model) imports it too: two first imports at once can see it half-initialised
    (ImportError from mlflow.tracking.fluent, seen on an ``mlflow server``). So the first
    log_metric imports it in the caller's thread; on the embedded SQLite store it imports
    no mlflow at all (the fast path)."""
    import subprocess
    import sys

    script = (
        "import os, sys\nimport jupyter_mllab as mllab\nmllab.log_metric('loss', 1.0)\n"
        "print('mlflow.tracking' in sys.modules, flush=True)\n"
        "os._exit(0)  # no flush at exit: nothing listens on the remote address\n"
    )
    if uri == "sqlite":
        uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
        MlflowClient(uri).search_experiments()  # the store's tables, as the lab makes them
    env = {**os.environ, "MLLAB_RUN_ID": "0" * 32, "MLFLOW_TRACKING_URI": uri,
           "MLLAB_HOME": str(tmp_path)}  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [imported]
