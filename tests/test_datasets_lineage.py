"""A derived version names its parents (exact keys) and, in a tracked run, the run and job
that made it; the run lists the parents as inputs: the lineage reads from both ends."""

from __future__ import annotations

from pathlib import Path

import pytest

import jupyter_mllab as mllab
from jupyter_mllab import client
from jupyter_mllab.errors import BadRequest, NotFound


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("MLLAB_HOME", str(home))
    monkeypatch.delenv("MLLAB_RUN_ID", raising=False)
    monkeypatch.delenv("MLLAB_JOB_ID", raising=False)
    monkeypatch.setattr(client, "_current", None)
    mllab.list_projects()
    return home


@pytest.fixture
def raw(tmp_path: Path) -> Path:
    path = tmp_path / "raw.csv"
    path.write_text("a,b\n1,2\n1,2\n3,\n")
    return path


@pytest.fixture
def clean(tmp_path: Path) -> Path:
    path = tmp_path / "clean.csv"
    path.write_text("a,b\n1,2\n")
    return path


def test_derived_from_is_recorded_as_exact_keys(home: Path, raw: Path, clean: Path) -> None:
    mllab.upload_dataset(raw)
    mllab.upload_dataset(raw, name="other")
    plain = mllab.upload_dataset(clean)
    assert plain["derived_from"] == [] and plain["source_run_id"] is None
    derived = mllab.upload_dataset(clean, name="raw-clean", derived_from=["raw", "other@1", "raw"])
    # resolved (a bare name is the latest version) and de-duplicated, in the order given
    assert derived["derived_from"] == ["default/raw@1", "default/other@1"]
    assert mllab.dataset_info("raw-clean@1")["derived_from"] == derived["derived_from"]
    listed = {d["name"]: d for d in mllab.list_datasets()}
    assert listed["raw-clean"]["latest"]["derived_from"] == derived["derived_from"]
    one = mllab.upload_dataset(clean, name="single", derived_from="raw@1")  # one key as text
    assert one["derived_from"] == ["default/raw@1"]


def test_a_bad_parent_stores_nothing(home: Path, raw: Path, clean: Path) -> None:
    mllab.upload_dataset(raw)
    with pytest.raises(NotFound):
        mllab.upload_dataset(clean, name="raw-clean", derived_from=["raw@7"])
    with pytest.raises(BadRequest):
        mllab.upload_dataset(clean, name="raw-clean", derived_from=["../etc@1"])
    assert "raw-clean" not in {d["name"] for d in mllab.list_datasets()}
    with pytest.raises(NotFound):
        mllab.dataset_info("raw-clean")


def test_in_a_run_the_source_run_and_job_are_recorded(
    home: Path, raw: Path, clean: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    mllab.upload_dataset(raw)
    tracking = MlflowClient(mllab.info()["tracking_uri"])
    run = tracking.create_run(mllab.list_projects()[0]["experiment_id"] or "0")
    monkeypatch.setenv("MLLAB_RUN_ID", run.info.run_id)
    monkeypatch.setenv("MLLAB_JOB_ID", "job-16")
    version = mllab.upload_dataset(clean, name="raw-clean", derived_from=["raw"])
    assert version["source_run_id"] == run.info.run_id
    assert version["source_job_id"] == "job-16"
    assert version["derived_from"] == ["default/raw@1"]
    # the run names its parent as an input (without having opened it)
    inputs = tracking.get_run(run.info.run_id).inputs.dataset_inputs
    assert [i.dataset.name for i in inputs] == ["default/raw@1"]


def test_a_start_run_block_is_the_source(home: Path, raw: Path, clean: Path) -> None:
    mllab.upload_dataset(raw)
    with mllab.start_run("prepare") as run:
        mllab.load_dataset("raw")
        version = mllab.upload_dataset(clean, name="raw-clean", derived_from=["raw"])
    assert version["source_run_id"] == run.info.run_id
    assert version["source_job_id"] is None
