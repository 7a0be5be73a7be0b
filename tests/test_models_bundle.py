"""models/bundle.py: a `.mlbundle` built from a real MLflow model, read member by member, then
copied to an empty folder and run by an interpreter that cannot import jupyter_mllab,
JupyterLab, jupyter_server or tornado: `predict` and `serve` answer as the model does.

Why not a fresh venv with only the bundle's requirements: installing mlflow + scikit-learn
+ pandas into a venv is minutes per test run (and needs a package index). Instead the bundle
runs with ``python -S`` (no site: no ``.pth`` file is processed, so the editable install of
jupyter_mllab is not on the path) and ``PYTHONPATH`` set to a copy of the venv's
site-packages made of symlinks, less jupyter*, tornado, notebook* and ipykernel*. A check
in the same set-up asserts that those cannot be imported; what the bundle then needs comes
from the zip itself (its serving code) and the model's requirements alone.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import save_iris_model, served, stop_with_sigterm

from jupyter_mllab.errors import BadRequest
from jupyter_mllab.models.bundle import SERVE_PACKAGE, build_bundle

HIDDEN = ("jupyter", "tornado", "notebook", "ipykernel", "_editable_impl")
CARD: dict[str, Any] = {
    "name": "iris",
    "key": "lab/iris@3",
    "project": "lab",
    "version": 3,
    "run_id": "0123456789abcdef",
    "created": 1764640000.0,
    "created_by": "ada",
    "description": "Iris species from petal and sepal sizes.",
    "metrics": {"accuracy": 0.973, "loss": float("nan")},
    "params": {"C": "1.0", "max_iter": "300", "features": "sepal|petal"},
    "datasets": [{"key": "lab/iris@2", "sha256": "ab" * 32}],
    "notebook": "notebooks/train.ipynb",
    "notebook_sha256": "cd" * 32,
    "git_commit": "1f2e3d4c",
    "flavor": "sklearn",
    "lineage": {"run": {"run_id": "0123456789abcdef"}, "datasets": [{"key": "lab/iris@2"}]},
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("bundle")
    model, frame = save_iris_model(root / "iris-model")
    bundle = build_bundle(root / "iris-model", root / "out" / "iris.mlbundle", card=CARD)
    return {"root": root, "model": model, "frame": frame, "bundle": bundle}


def members(bundle: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(bundle) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_members_documents_and_pinned_requirements(built: dict[str, Any]) -> None:
    import yaml

    import jupyter_mllab.serve

    files = members(built["bundle"])
    names = list(files)
    assert names[0] == "__main__.py"
    assert names[1:] == sorted(names[1:])
    model_dir = built["root"] / "iris-model"
    for path in model_dir.rglob("*"):
        if path.is_file():
            assert files[f"model/{path.relative_to(model_dir).as_posix()}"] == path.read_bytes()
    # The serving code is the package's own files, byte for byte.
    package = Path(jupyter_mllab.serve.__file__).parent
    served_files = {n.split("/", 1)[1] for n in names if n.startswith(f"{SERVE_PACKAGE}/")}
    assert served_files == {p.name for p in package.glob("*.py")}
    for name in served_files:
        assert files[f"{SERVE_PACKAGE}/{name}"] == (package / name).read_bytes()

    requirements = files["requirements.txt"].decode().splitlines()
    assert requirements and all("==" in line for line in requirements)
    packages = {line.split("==")[0] for line in requirements}
    assert {"mlflow", "scikit-learn", "pandas", "numpy", "uvicorn", "httptools"} <= packages
    conda = yaml.safe_load(files["conda.yaml"])
    assert {"pip": requirements} in conda["dependencies"]
    assert any(str(d).startswith("python=3.") for d in conda["dependencies"])

    assert json.loads(files["lineage.json"]) == CARD["lineage"]
    card = json.loads(files["card.json"])
    assert "lineage" not in card and card["key"] == "lab/iris@3"
    assert card["metrics"] == {"accuracy": 0.973, "loss": None}  # strict JSON

    readme = files["README.md"].decode()
    for words in (
        "# lab/iris@3",
        "python iris.mlbundle predict input.csv",
        "python iris.mlbundle serve --port",
        "mlflow.pyfunc.load_model",
        "| petal width (cm) | double | yes |",
        "| 5.1 | 3.5 | 1.4 | 0.2 |",
        "/invocations",
    ):
        assert words in readme, words
    model_card = files["MODEL_CARD.md"].decode()
    for words in (
        "| accuracy | 0.973 |",
        "| max_iter | 300 |",
        f"| lab/iris@2 | {'ab' * 32} |",
        f"| Notebook sha256 | {'cd' * 32} |",
        "| Git commit | 1f2e3d4c |",
        "| Created by | ada |",
        "| Created | 2025-12-02T01:46:40+00:00 |",
        "Iris species from petal and sepal sizes.",
        "| features | sepal\\|petal |",  # a pipe in a value does not break the table
    ):
        assert words in model_card, words


def test_build_is_deterministic_atomic_and_checks_its_input(
    built: dict[str, Any], tmp_path: Path
) -> None:
    again = build_bundle(built["root"] / "iris-model", tmp_path / "iris.mlbundle", card=CARD)
    assert again.read_bytes() == built["bundle"].read_bytes()
    assert os.access(again, os.X_OK)
    assert [p.name for p in tmp_path.iterdir()] == ["iris.mlbundle"]  # no temp file left
    with pytest.raises(BadRequest) as caught:
        build_bundle(tmp_path, tmp_path / "no.mlbundle", card=CARD)
    assert caught.value.reason == "not_a_model"
    assert not (tmp_path / "no.mlbundle").exists()


def test_unzipped_model_loads_with_mlflow(built: dict[str, Any], tmp_path: Path) -> None:
    import mlflow.pyfunc

    with zipfile.ZipFile(built["bundle"]) as archive:
        archive.extractall(tmp_path)
    model = mlflow.pyfunc.load_model(str(tmp_path / "model"))
    frame = built["frame"]
    assert list(model.predict(frame)) == list(built["model"].predict(frame))


def isolated_env(tmp_path: Path) -> dict[str, str]:
    """``python -S`` with PYTHONPATH = the venv's site-packages less the lab's packages."""
    site = Path(sysconfig.get_paths()["purelib"])
    shadow = tmp_path / "site-packages"
    shadow.mkdir()
    for entry in site.iterdir():
        if not entry.name.startswith(HIDDEN) and entry.suffix != ".pth":
            (shadow / entry.name).symlink_to(entry)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "PYTHONPATH": str(shadow),
    }
    if "MLLAB_TEST_SESSION" in os.environ:
        env["MLLAB_TEST_SESSION"] = os.environ["MLLAB_TEST_SESSION"]
    return env


def test_bundle_predicts_and_serves_from_an_empty_folder_without_the_lab(
    built: dict[str, Any], tmp_path: Path
) -> None:
    env = isolated_env(tmp_path)
    folder = tmp_path / "empty"
    folder.mkdir()
    bundle = folder / "iris.mlbundle"
    bundle.write_bytes(built["bundle"].read_bytes())
    python = [sys.executable, "-S"]

    check = subprocess.run(
        [
            *python,
            "-c",
            "import importlib.util as u, sys; print(sys.path); "
            "print([m for m in ('jupyter_mllab', 'jupyterlab', 'jupyter_server', 'tornado',"
            " 'sklearn', 'mlflow') if u.find_spec(m)])",
        ],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.splitlines()[-1] == "['sklearn', 'mlflow']"

    frame = built["frame"].iloc[::10]  # 15 rows, all three species
    frame.to_csv(folder / "input.csv", index=False)
    expected = [int(v) for v in built["model"].predict(frame)]
    run = subprocess.run(
        [*python, "iris.mlbundle", "predict", "input.csv"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert [json.loads(line) for line in run.stdout.splitlines()] == expected
    # Extracted once into the cache, keyed by the bundle's sha256.
    cache = Path(env["HOME"]) / ".cache" / "mlbundle"
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
    assert [p.name for p in cache.iterdir()] == [digest]
    assert (cache / digest / "model" / "MLmodel").is_file()

    info = subprocess.run(
        [*python, "iris.mlbundle", "info", "--json"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert json.loads(info.stdout)["key"] == "lab/iris@3"

    command = [*python, "iris.mlbundle", "--port", "0"]
    with served(command, cwd=folder, env=env, log=tmp_path / "serve.txt") as server:
        assert server.line == f"Serving lab/iris@3 on {server.url}"
        split = {"columns": list(frame.columns), "data": frame.values.tolist()}
        assert server.post_json({"dataframe_split": split}) == (200, {"predictions": expected})
        status, _, body = server.request(
            "POST", "/invocations", frame.to_csv(index=False).encode(), {"Content-Type": "text/csv"}
        )
        assert (status, json.loads(body)) == (200, {"predictions": expected})
        stop_with_sigterm(server)
    assert sorted(p.name for p in folder.iterdir()) == ["input.csv", "iris.mlbundle"]


def test_predict_writes_a_csv_column(
    built: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``predict --output x.csv`` (the bundle's code path, run in-process on the model)."""
    from argparse import Namespace

    from jupyter_mllab.serve.bundle_main import extract_model, main
    from jupyter_mllab.serve.cli import run_predict

    workdir = str(tmp_path / "cache")
    assert main(str(built["bundle"]), ["predict", "nope.csv", "--workdir", workdir]) == 2
    assert "No such file or directory: 'nope.csv'" in capsys.readouterr().err

    frame = built["frame"].head(4)
    frame.to_csv(tmp_path / "in.csv", index=False)
    model_dir = extract_model(built["bundle"], workdir)
    assert extract_model(built["bundle"], workdir) == model_dir  # reused
    out = tmp_path / "predictions.csv"
    assert run_predict(model_dir, Namespace(input=str(tmp_path / "in.csv"), output=str(out))) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [int(row["prediction"]) for row in rows] == list(built["model"].predict(frame))


def test_bundle_module_is_import_light() -> None:
    """The kernel imports it: no mlflow, yaml or pandas until a bundle is built."""
    code = (
        "import sys, jupyter_mllab.models.bundle; "
        "print(sorted(m for m in ('mlflow', 'yaml', 'pandas', 'numpy') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"
