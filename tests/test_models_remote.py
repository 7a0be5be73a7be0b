"""The models registry on a real remote tracking server: ``mlflow server`` on 127.0.0.1, the
lab's tracking (and so registry) URI pointed at it. Register from a run, list, versions,
detail, aliases, delete: the same answers as on the embedded store, all through MLflow's
REST client (no SQLite, no local registry)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient
from mlflow_server import mlflow_server_at
from test_models_handlers import COLUMNS, import_dataset, lab_store, train_and_log


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mlflow_server_at(tmp_path_factory.mktemp("mlflow-server")) as url:
        yield url


@pytest.fixture
def mllab_config(mlflow_server: str) -> dict[str, Any]:
    return {"tracking_uri": mlflow_server}


async def test_registry_on_a_remote_server(
    api: Any, mlflow_server: str, jp_root_dir: Path, mllab_home: Path
) -> None:
    uri, exp = await lab_store(api)
    assert uri == mlflow_server
    dataset = await import_dataset(api, jp_root_dir, mllab_home)
    run_id = await asyncio.to_thread(
        train_and_log, uri, exp, dataset=dataset, tags={"mllab.notebook": "remote.ipynb"}
    )
    models = "projects", "default", "models"
    body = {"run_id": run_id, "artifact_path": "model", "name": "wine"}

    code, v1 = await api("POST", *models, body=body)
    assert code == 201, v1
    assert (v1["key"], v1["flavor"], v1["format"]) == ("default/wine@1", "sklearn", "mlflow")
    code, v2 = await api("POST", *models, body={**body, "alias": "champion"})
    assert code == 201 and v2["aliases"] == ["champion"], v2
    # the server holds them: MLflow's own client sees the versions and the alias
    client = MlflowClient(mlflow_server, registry_uri=mlflow_server)
    assert client.get_model_version_by_alias("default~wine", "champion").version == "2"

    code, listing = await api("GET", *models)
    assert code == 200, listing
    [wine] = listing["models"]
    assert (wine["latest_version"], wine["versions_count"], wine["aliases"]) == (
        2,
        2,
        {"champion": 2},
    )
    code, page = await api("GET", *models, "wine", "versions", params={"limit": "1"})
    assert code == 200 and [v["version"] for v in page["versions"]] == [2] and page["total"] == 2

    code, detail = await api("GET", *models, "wine", "versions", "1")
    assert code == 200, detail
    assert [c["name"] for c in detail["signature"]["inputs"]] == COLUMNS
    assert detail["input_example"]["columns"] == COLUMNS
    assert "MLmodel" in {f["path"] for f in detail["files"]}
    assert detail["lineage"]["run"]["run_id"] == run_id
    assert detail["lineage"]["notebook"] == {"path": "remote.ipynb", "sha256": None}

    code, moved = await api("PUT", *models, "wine", "aliases", "champion", body={"version": 1})
    assert code == 200 and moved["aliases"] == ["champion"]
    code, err = await api("PUT", *models, "wine", "aliases", "champion", body={"version": 5})
    assert code == 404 and err["reason"] == "no_version"
    assert client.get_model_version_by_alias("default~wine", "champion").version == "1"

    code, made = await api("GET", "runs", run_id, "models")
    assert code == 200 and [m["artifact_path"] for m in made["logged"]] == ["model"]
    assert sorted(v["version"] for v in made["registered"]) == [1, 2]

    code, usage = await api(
        "GET", "projects", "default", "datasets", "wine", "versions", "1", "usage"
    )
    assert code == 200 and [r["run_id"] for r in usage["runs"]] == [run_id], usage
    assert sorted(v["version"] for v in usage["models"]) == [1, 2]
    assert detail["lineage"]["datasets"][0]["key"] == "default/wine@1"

    code, _ = await api("DELETE", *models, "wine", "versions", "2")
    assert code == 204
    code, err = await api("GET", *models, "wine", "versions", "2")
    assert code == 404 and err["reason"] == "no_version"
    code, err = await api("GET", *models, "nope")
    assert code == 404 and err["reason"] == "no_model"
    code, err = await api("POST", *models, body={**body, "artifact_path": "nothing-here"})
    assert code == 400 and err["reason"] == "not_a_model"
