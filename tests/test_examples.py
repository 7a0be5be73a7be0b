"""The four examples of ``demo/``, each run headless as a tracked run through the real job
service (a lab subprocess on a copy of demo/, real kernels, papermill, MLflow), with small
parameters: what each must leave behind is in MLflow, the registry and the datasets.

One lab for the module; the four runs are submitted together (two at a time) and each
test waits for its own."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lab_server
import pytest
from jobs_helpers import TERMINAL
from leftovers import SESSION_ENV
from mlflow.tracking import MlflowClient

import jupyter_mllab as mllab
from jupyter_mllab import client

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 300  # seconds a run may take on a loaded 2-core machine
PARAMETERS = {  # the smallest sizes that still show what each example does
    "digits_keras.ipynb": {"epochs": 3, "learning_rate": 0.01},
    "wine_regression.ipynb": {"alpha": 0.1, "l1_ratio": 0.2},
    "text_classification.ipynb": {"max_features": 2000},  # + corpus: a dataset key
    "prepare_data.ipynb": {},  # its default: demo's data/wine.csv, stored first
}


@dataclass
class Lab:
    root: Path
    home: Path
    port: int
    news_key: str
    jobs: dict[str, str]  # notebook -> job id

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        return lab_server.ok(self.port, method, path, body)

    @property
    def mlflow(self) -> MlflowClient:
        return MlflowClient(f"sqlite:///{self.home / 'mlflow.db'}")

    def finished(self, notebook: str) -> dict[str, Any]:
        """The notebook's job once it ended; COMPLETED, or the test fails with its log."""
        job_id = self.jobs[notebook]
        deadline = time.monotonic() + TIMEOUT
        while (job := self.ok("GET", f"jobs/{job_id}"))["status"] not in TERMINAL:
            assert time.monotonic() < deadline, f"{notebook} still {job['status']}"
            time.sleep(0.5)
        if job["status"] != "COMPLETED":
            log = self.ok("GET", f"jobs/{job_id}/log")["text"]
            pytest.fail(f"{notebook} ended {job['status']}: {job.get('error')}\n{log[-4000:]}")
        return job


@contextlib.contextmanager
def kernel_client(home: Path) -> Iterator[None]:
    """``mllab.*`` in this process working on the lab's home, as a kernel of it would."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLLAB_HOME", str(home))
        for name in ("MLLAB_RUN_ID", "MLLAB_JOB_ID", "MLLAB_PROJECT", "MLFLOW_TRACKING_URI"):
            mp.delenv(name, raising=False)
        mp.setattr(client, "_current", None)
        yield


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The lab runs with a session mark of its own (the per-test leak check must not take
    it for a leftover); everything marked with it is reaped when the module ends."""
    base = tmp_path_factory.mktemp("examples")
    root, home = base / "root", base / "home"
    shutil.copytree(
        REPO / "demo", root, ignore=shutil.ignore_patterns(".mllab", ".ipynb_checkpoints")
    )
    mark = f"{os.environ[SESSION_ENV]}-examples-lab"
    with lab_server.module_lab(root, home, mark, "--MLLabApp.max_concurrent_runs=2") as port:
        with kernel_client(home):  # what a person does in the Datasets panel
            news = mllab.upload_dataset(root / "data" / "news.csv", name="news")
        jobs = {}
        for notebook, params in PARAMETERS.items():
            if notebook.startswith("text"):
                params = {**params, "corpus": news["key"]}
            body = {"notebook": notebook, "parameters": params}
            jobs[notebook] = lab_server.ok(port, "POST", "jobs", body)["id"]
        yield Lab(root, home, port, news["key"], jobs)


def _history(lab: Lab, run_id: str, key: str) -> list[tuple[int, float]]:
    return [(m.step, m.value) for m in lab.mlflow.get_metric_history(run_id, key)]


def _input_names(lab: Lab, run_id: str) -> list[str]:
    return [i.dataset.name for i in lab.mlflow.get_run(run_id).inputs.dataset_inputs]


def test_wine_regression_logs_metrics_and_a_registrable_model(lab: Lab) -> None:
    job = lab.finished("wine_regression.ipynb")
    run = lab.mlflow.get_run(job["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert (run.data.params["alpha"], run.data.params["l1_ratio"]) == ("0.1", "0.2")
    metrics = run.data.metrics
    assert {"rmse", "mae", "r2"} <= set(metrics)
    assert 0 < metrics["mae"] <= metrics["rmse"] < 1.5  # alcohol is 11-15 % vol
    assert 0.2 < metrics["r2"] <= 1
    # the run's page offers it ("Register model"), and registering it works
    logged = lab.ok("GET", f"runs/{run.info.run_id}/models")["logged"]
    (model,) = [m for m in logged if m["artifact_path"] == "model"]
    assert "sklearn" in model["flavors"]
    body = {"run_id": run.info.run_id, "artifact_path": "model", "name": "wine"}
    version = lab.ok("POST", "projects/default/models", body)
    assert (version["key"], version["run_id"]) == ("default/wine@1", run.info.run_id)


def test_digits_keras_curves_tensorboard_and_two_formats(lab: Lab) -> None:
    job = lab.finished("digits_keras.ipynb")
    run_id = job["mlflow_run_id"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert [step for step, _ in _history(lab, run_id, key)] == [0, 1, 2], key
    loss = [value for _, value in _history(lab, run_id, "loss")]
    assert loss[-1] < loss[0]  # it learns
    assert lab.mlflow.get_run(run_id).data.metrics["test_accuracy"] > 0.8
    folder = Path(lab.mlflow.get_run(run_id).data.tags["mllab.tensorboard"])
    assert folder.name == run_id and list(folder.rglob("events.out.tfevents.*"))
    registered = lab.ok("GET", f"runs/{run_id}/models")["registered"]
    assert sorted((v["name"], v["format"]) for v in registered) == [
        ("digits", "keras"),
        ("digits", "savedmodel"),
    ]


def test_text_classification_reads_its_corpus_from_a_dataset_key(lab: Lab) -> None:
    job = lab.finished("text_classification.ipynb")
    run = lab.mlflow.get_run(job["mlflow_run_id"])
    assert run.data.params["corpus"] == lab.news_key
    assert _input_names(lab, run.info.run_id) == [lab.news_key]
    metrics = run.data.metrics
    assert 0.8 < metrics["accuracy"] <= 1 and 0.8 < metrics["f1_macro"] <= 1
    logged = lab.ok("GET", f"runs/{run.info.run_id}/models")["logged"]
    assert [m["artifact_path"] for m in logged] == ["model"]


def test_prepare_data_writes_a_version_with_its_lineage(lab: Lab) -> None:
    job = lab.finished("prepare_data.ipynb")
    run_id = job["mlflow_run_id"]
    with kernel_client(lab.home):
        source = mllab.dataset_info("wine")
        derived = mllab.dataset_info("wine-clean")
        frame = mllab.load_dataset(derived["key"])
    assert derived["derived_from"] == [source["key"]]
    assert (derived["source_run_id"], derived["source_job_id"]) == (run_id, job["id"])
    assert source["source_run_id"] == run_id  # the demo's CSV, stored by that run
    assert source["key"] in _input_names(lab, run_id)
    assert {"proline_z", "magnesium_z"} <= set(frame.columns) and len(frame) == 178
    assert abs(frame["proline_z"].mean()) < 1e-9
    assert lab.mlflow.get_run(run_id).data.metrics["rows_out"] == 178
