"""Datasets from a kernel: upload, get, load, and the run records what it opened."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import jupyter_mllab as mllab
from jupyter_mllab import client
from jupyter_mllab.errors import BadRequest, NotFound


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("MLLAB_HOME", str(home))
    monkeypatch.setattr(client, "_current", None)
    mllab.list_projects()  # creates the default project
    return home


@pytest.fixture
def wine(tmp_path: Path) -> Path:
    path = tmp_path / "wine.csv"
    path.write_text("alcohol,quality\n12.5,5\n13.1,6\n11.2,4\n")
    return path


def test_upload_get_load(home: Path, wine: Path) -> None:
    v1 = mllab.upload_dataset(wine, description="reds", tags=["uci"])
    assert v1["key"] == "default/wine@1"
    path = mllab.get_dataset("wine@1")
    assert path.name == "wine.csv"
    assert path.read_text() == wine.read_text()
    assert not os.access(path, os.W_OK) or os.getuid() == 0
    assert oct(path.stat().st_mode & 0o777) == oct(0o444)
    frame = mllab.load_dataset("wine")
    assert list(frame.columns) == ["alcohol", "quality"]
    assert frame["quality"].sum() == 15
    wine.write_text("alcohol,quality\n1,2\n")
    assert mllab.upload_dataset(wine)["version"] == 2
    assert len(mllab.load_dataset("default/wine@latest")) == 1
    assert len(mllab.load_dataset("wine@1")) == 3  # versions are immutable
    assert [d["name"] for d in mllab.list_datasets()] == ["wine"]


def test_folder_and_archive(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "parts"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.csv").write_text("x\n1\n")
    (folder / "sub" / "b.csv").write_text("x\n2\n")
    v = mllab.upload_dataset(folder, name="parts")
    assert (v["kind"], v["file_count"]) == ("folder", 2)
    path = mllab.get_dataset("parts")
    assert sorted(p.relative_to(path).as_posix() for p in path.rglob("*.csv")) == [
        "a.csv",
        "sub/b.csv",
    ]
    assert list(mllab.load_dataset("parts")["x"]) == [1, 2]
    archive = tmp_path / "imgs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("img/1.txt", "one")
    v = mllab.upload_dataset(archive, extract=True)
    assert (v["name"], v["kind"]) == ("imgs", "folder")
    assert (mllab.get_dataset("imgs") / "img" / "1.txt").read_text() == "one"


def test_bad_keys(home: Path) -> None:
    with pytest.raises(NotFound):
        mllab.get_dataset("missing@1")
    with pytest.raises(BadRequest):
        mllab.get_dataset("../../etc/passwd")


def test_a_tracked_run_records_its_datasets(
    home: Path, wine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow.tracking import MlflowClient

    mllab.upload_dataset(wine)
    tracking = MlflowClient(mllab.info()["tracking_uri"])
    run = tracking.create_run(mllab.list_projects()[0]["experiment_id"] or "0")
    monkeypatch.setenv("MLLAB_RUN_ID", run.info.run_id)
    mllab.load_dataset("wine@1")
    inputs = tracking.get_run(run.info.run_id).inputs.dataset_inputs
    assert [i.dataset.name for i in inputs] == ["default/wine@1"]
    sha = mllab.dataset_info("wine@1")["sha256"]
    assert inputs[0].dataset.digest == sha[:36]
    assert sha in inputs[0].dataset.source


@pytest.fixture
def shell(home: Path) -> Iterator[InteractiveShell]:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "jupyter_mllab")
    yield ip
    InteractiveShell.clear_instance()


def test_dataset_magics(shell: InteractiveShell, wine: Path, capsys: pytest.CaptureFixture) -> None:
    key = shell.run_line_magic("mllab", f"dataset upload {wine} --name red -d 'red wine' --tag uci")
    assert key == "default/red@1"
    assert "Uploaded default/red@1" in capsys.readouterr().out
    table = shell.run_line_magic("mllab", "dataset list")
    assert table.rows[0][0] == "default/red@1"
    info = dict(shell.run_line_magic("mllab", "dataset info red").rows)
    assert info["description"] == "red wine"
    assert shell.run_line_magic("mllab", "dataset get red@1").read_text() == wine.read_text()
    with pytest.raises(UsageError, match="No file or folder"):
        shell.run_line_magic("mllab", "dataset upload /nonexistent.csv")
    with pytest.raises(UsageError, match="needs a key"):
        shell.run_line_magic("mllab", "dataset get")
