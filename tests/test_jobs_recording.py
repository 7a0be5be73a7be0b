"""A job's MLflow run (jobs/recording.py), without a server or a kernel: opened with its
tags, parameters and datasets; ended with its metrics, output notebook and status."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import jupyter_mllab as mllab
from jupyter_mllab import client
from jupyter_mllab.jobs.recording import MlflowRecording, mlflow_status


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("MLLAB_HOME", str(home))
    monkeypatch.setattr(client, "_current", None)
    mllab.list_projects()  # creates the default project
    return home


def test_the_status_map() -> None:
    assert [mlflow_status(s) for s in ("COMPLETED", "CANCELLED", "FAILED", "ODD")] == [
        "FINISHED",
        "KILLED",
        "FAILED",
        "FAILED",
    ]


def test_a_job_run_is_recorded(home: Path, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    wine = tmp_path / "wine.csv"
    wine.write_text("alcohol,quality\n12.5,5\n")
    key = mllab.upload_dataset(wine)["key"]
    uri = client.tracking_uri()
    experiment = MlflowClient(uri).create_experiment("e", artifact_location=str(tmp_path / "a"))
    spec = {
        "id": "job1",
        "tracking_uri": uri,
        "experiment_id": experiment,
        "run_name": "train (alpha=0.5)",
        "notebook": str(tmp_path / "train.ipynb"),
        "notebook_content": '{"cells": []}',
        "project": "default",
        "parameters": {"alpha": 0.5, "name": "x"},
        "tags": {"team": "a"},
        "datasets": [key],
        "env": {"MLLAB_HOME": str(home)},
    }
    recording = MlflowRecording(spec)
    tracking, run_id = recording.start()
    assert recording.mlflow_run_id == run_id
    run = tracking.get_run(run_id)
    assert run.info.status == "RUNNING" and run.info.run_name == "train (alpha=0.5)"
    assert run.data.params == {"alpha": "0.5", "name": "x"}
    tags = run.data.tags
    assert tags["mllab.job_id"] == "job1" and tags["team"] == "a"
    assert tags["mllab.env.python"] and "mllab.env.jupyter_mllab" in tags
    assert [i.dataset.name for i in run.inputs.dataset_inputs] == ["default/wine@1"]

    output = tmp_path / "output.ipynb"
    output.write_text('{"cells": []}')
    started = time.time()
    recording.finish(tracking, run_id, "CANCELLED", output, started, started + 1.5, None)
    run = tracking.get_run(run_id)
    assert run.info.status == "KILLED"
    assert run.data.metrics["duration_s"] == 1.5
    assert [a.path for a in tracking.list_artifacts(run_id)] == ["output.ipynb"]
