"""Training logs without code: the Keras callback and mlflow.autolog wired to the lab's run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

import jupyter_mllab as mllab
from tests.jobs_helpers import make_notebook, wait_for


@pytest.fixture
def lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MlflowClient:
    home = tmp_path / "home"
    monkeypatch.setenv("MLLAB_HOME", str(home))
    for name in ("MLLAB_RUN_ID", "MLFLOW_RUN_ID", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    mllab.list_projects()
    yield MlflowClient(f"sqlite:///{home / 'mlflow.db'}")
    import mlflow

    while mlflow.active_run():
        mlflow.end_run()
    mlflow.autolog(disable=True)


def _tiny_model() -> Any:
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)],
        name="tiny",
    )
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return model


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def test_keras_callback_logs_epochs_into_the_open_run(lab: MlflowClient) -> None:
    x, y = _data()
    with mllab.start_run(name="keras") as run:
        callback = mllab.keras.Callback(every_n_batches=2)
        _tiny_model().fit(
            x, y, epochs=4, batch_size=16, validation_split=0.25, verbose=0, callbacks=[callback]
        )
    assert callback.run_id == run.info.run_id
    stored = lab.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    params = stored.data.params
    assert params["epochs"] == "4" and params["optimizer"] == "Adam"
    assert params["learning_rate"] == "0.01"  # as a tracked run logs its own parameter
    assert int(params["model_params"]) == 4 * 8 + 8 + 8 + 1
    for key in ("loss", "mae", "val_loss", "val_mae"):
        history = lab.get_metric_history(run.info.run_id, key)
        assert sorted(m.step for m in history) == [0, 1, 2, 3], key
    losses = [
        m.value
        for m in sorted(lab.get_metric_history(run.info.run_id, "loss"), key=lambda m: m.step)
    ]
    assert losses[-1] < losses[0]  # it learned, and the curve says so
    batches = lab.get_metric_history(run.info.run_id, "batch/loss")
    assert sorted(m.step for m in batches) == [
        2,
        4,
        6,
        8,
        10,
        12,
    ]  # 3 batches x 4 epochs, every 2nd


def test_keras_callback_outside_a_run_opens_one(lab: MlflowClient) -> None:
    x, y = _data()
    callback = mllab.keras.Callback(run_name="alone")
    _tiny_model().fit(x, y, epochs=2, verbose=0, callbacks=[callback])
    run = lab.get_run(callback.run_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "alone"
    assert lab.get_experiment(run.info.experiment_id).name == "mllab/default"
    assert len(lab.get_metric_history(run.info.run_id, "loss")) == 2


def test_import_of_the_package_does_not_load_keras() -> None:
    import subprocess
    import sys

    code = "import sys, jupyter_mllab; print('keras' in sys.modules, 'tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_autolog_and_plain_mlflow_land_in_the_lab_run(lab: MlflowClient) -> None:
    import mlflow
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression

    x, y = load_wine(return_X_y=True)
    x = (x - x.mean(axis=0)) / x.std(axis=0)
    with mllab.start_run(name="sk") as run:
        mllab.autolog(log_models=False, log_datasets=False)
        LogisticRegression(C=0.5, max_iter=500).fit(x, y)
        mlflow.log_metric("plain", 1.5)
    stored = lab.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.params["C"] == "0.5"
    assert "training_accuracy_score" in stored.data.metrics
    assert stored.data.metrics["plain"] == 1.5
    assert mlflow.active_run() is None  # the block closed MLflow's run as well
    experiment = stored.info.experiment_id
    assert len(lab.search_runs([experiment])) == 1  # autologging made no run of its own


def test_autolog_logs_keras_training_into_the_lab_run(lab: MlflowClient) -> None:
    x, y = _data()
    with mllab.start_run(name="keras-autolog") as run:
        mllab.autolog(log_models=False, log_datasets=False)
        _tiny_model().fit(x, y, epochs=3, batch_size=16, verbose=0)
    stored = lab.get_run(run.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.params["epochs"] == "3"
    assert stored.data.params["batch_size"] == "16"
    history = lab.get_metric_history(run.info.run_id, "loss")
    assert sorted(m.step for m in history) == [0, 1, 2]  # a point per epoch
    assert len(lab.search_runs([stored.info.experiment_id])) == 1  # no run of its own


# -- inside a tracked job: a real kernel, papermill and the server ---------------------------


async def test_a_job_notebook_logs_keras_and_plain_mlflow(
    api: Any, jp_root_dir: Path, mllab_home: Path
) -> None:
    make_notebook(
        jp_root_dir / "keras.ipynb",
        "epochs = 3",
        "import numpy as np, keras, mlflow\n"
        "import jupyter_mllab as mllab\n"
        "x = np.random.default_rng(0).normal(size=(32, 4)).astype('float32')\n"
        "y = x.sum(axis=1, keepdims=True)\n"
        "model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])\n"
        "model.compile(optimizer='sgd', loss='mse')\n"
        "model.fit(x, y, epochs=epochs, verbose=0, callbacks=[mllab.keras.Callback()])\n"
        "mlflow.log_metric('plain', 2.0)",
    )
    _, job = await api("POST", "jobs", body={"notebook": "keras.ipynb", "timeout": 240})
    job = await wait_for(api, job["id"], timeout=240)
    assert job["status"] == "COMPLETED", job
    client = MlflowClient(f"sqlite:///{mllab_home / 'mlflow.db'}")
    run = client.get_run(job["mlflow_run_id"])
    assert run.info.status == "FINISHED"
    assert run.data.params["epochs"] == "3"  # the job's parameter, and the callback's
    assert sorted(m.step for m in client.get_metric_history(run.info.run_id, "loss")) == [0, 1, 2]
    assert run.data.metrics["plain"] == 2.0  # plain mlflow resumed the job's run
    assert len(client.search_runs([run.info.experiment_id])) == 1
