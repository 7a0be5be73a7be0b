"""The models REST API (CONTRACT C5) on the embedded SQLite store: the registry per project,
versions, detail and lineage, aliases, tags, delete, registering a run's model, a run's
models, a dataset version's usage and the bundle download.

Versions are made with MLflow itself (``mlflow.sklearn.log_model`` of a tiny
LogisticRegression into a run of the project's experiment, as M1's ``log_model`` does) and
through the register-from-run route; the run that made them opened a dataset version the
way ``jupyter_mllab/lineage.py`` records it.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

from mlflow.tracking import MlflowClient

WINE = b"alcohol,acid,hue,label\n" + b"".join(
    f"{12 + i % 3},{i % 5 / 10},{1 + i % 4 / 10},{i % 2}\n".encode() for i in range(40)
)
COLUMNS = ["alcohol", "acid", "hue"]


async def lab_store(api: Any) -> tuple[str, str]:
    """(the lab's tracking URI, the default project's experiment id)."""
    for _ in range(600):  # MLflow's schema is being made (seconds on a busy machine)
        code, info = await api("GET", "info")
        assert code == 200, info
        if info["ready"]:
            break
        await asyncio.sleep(0.2)
    code, page = await api("GET", "runs", params={"project": "default"})
    assert code == 200, page
    return info["tracking_uri"], str(page["experiment_id"])


def train_and_log(
    tracking_uri: str,
    experiment_id: str,
    *,
    dataset: Any = None,
    tags: dict[str, str] | None = None,
    name: str = "model",
) -> str:
    """A run that trained a small LogisticRegression and logged it as an MLflow model
    (MLflow 3: a logged model ``models:/m-...`` whose source run is this one)."""
    import mlflow
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    from jupyter_mllab.lineage import record_dataset_input

    frame = pd.read_csv(io.BytesIO(WINE))
    model = LogisticRegression(max_iter=200).fit(frame[COLUMNS], frame["label"])
    before = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(tracking_uri)
    try:
        with mlflow.start_run(experiment_id=experiment_id, tags=tags or {}) as run:
            mlflow.log_params({"C": 1.0, "max_iter": 200})
            mlflow.log_metric("accuracy", float(model.score(frame[COLUMNS], frame["label"])))
            mlflow.sklearn.log_model(
                model,
                name=name,
                input_example=frame[COLUMNS].head(25),  # more rows than the detail sends
                pip_requirements=["scikit-learn"],  # no slow requirement inference
            )
        if dataset is not None:
            assert record_dataset_input(tracking_uri, run.info.run_id, dataset)
    finally:
        # back to the server's own (app.py exports it): MLflow's SQL registry resolves
        # "models:/m-..." sources through it
        mlflow.set_tracking_uri(before)  # type: ignore[arg-type]
    return str(run.info.run_id)


def save_into_run_artifacts(tracking_uri: str, experiment_id: str, tmp: Path) -> str:
    """A run whose own artifacts hold an MLflow model folder under ``nested/clf`` (as
    MLflow 2 and some autologgers left them), beside a plain file."""
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0, 0], [1, 1]], [0, 1])
    mlflow.sklearn.save_model(model, tmp / "clf", pip_requirements=["scikit-learn"])
    (tmp / "notes.txt").write_text("not a model")
    client = MlflowClient(tracking_uri)
    run = client.create_run(experiment_id, run_name="legacy")
    client.log_artifacts(run.info.run_id, str(tmp / "clf"), "nested/clf")
    client.log_artifact(run.info.run_id, str(tmp / "notes.txt"), "plain")
    client.set_terminated(run.info.run_id)
    return str(run.info.run_id)


async def import_dataset(api: Any, root: Path, mllab_home: Path) -> Any:
    from jupyter_mllab.lineage import resolve_dataset

    (root / "wine.csv").write_bytes(WINE)
    code, version = await api(
        "POST", "projects", "default", "datasets", body={"path": "wine.csv", "name": "wine"}
    )
    assert code == 201, version
    return resolve_dataset(mllab_home, version["key"], "default")


async def test_registry_routes(api: Any, jp_root_dir: Path, mllab_home: Path) -> None:
    uri, exp = await lab_store(api)
    dataset = await import_dataset(api, jp_root_dir, mllab_home)
    lineage_tags = {
        "mllab.notebook": "notebooks/train.ipynb",
        "mllab.notebook_sha256": "ab" * 32,
        "mllab.job_id": "job-123",
        "mlflow.source.git.commit": "c0ffee",
        "mllab.env.python": "3.11.9",
    }
    run_id = await asyncio.to_thread(train_and_log, uri, exp, dataset=dataset, tags=lineage_tags)
    models = "projects", "default", "models"

    # register from the run's logged model: v1 through our route, v2 the way log_model does
    code, v1 = await api(
        "POST", *models, body={"run_id": run_id, "artifact_path": "model", "name": "wine"}
    )
    assert code == 201, v1
    assert (v1["key"], v1["version"], v1["run_id"]) == ("default/wine@1", 1, run_id)
    assert (v1["flavor"], v1["format"], v1["tags"]["mllab.artifact_path"]) == (
        "sklearn",
        "mlflow",
        "model",
    )
    client = MlflowClient(uri, registry_uri=uri)
    [logged_model] = client.search_logged_models(experiment_ids=[exp])
    v2 = client.create_model_version(  # as mlflow.register_model("models:/m-...") does
        "default~wine",
        f"models:/{logged_model.model_id}",
        run_id=run_id,
        tags={"mllab.project": "default", "mllab.flavor": "sklearn", "mllab.format": "mlflow"},
        model_id=logged_model.model_id,
    )
    code, v3 = await api(
        "POST",
        *models,
        body={"run_id": run_id, "artifact_path": "model", "name": "wine", "alias": "champion"},
    )
    assert code == 201 and v3["aliases"] == ["champion"], v3
    code, other = await api(
        "POST", *models, body={"run_id": run_id, "artifact_path": "model", "name": "iris"}
    )
    assert code == 201, other
    # another project's model, and one MLflow model that is not the lab's, are not listed
    code, _ = await api("POST", "projects", body={"name": "other"})
    assert code == 201
    client.create_registered_model("other~wine")
    client.create_registered_model("plain-mlflow-model")

    # list and search
    code, listing = await api("GET", *models)
    assert code == 200, listing
    assert [m["name"] for m in listing["models"]] == ["iris", "wine"]
    wine = listing["models"][1]
    assert (wine["key"], wine["registered_name"]) == ("default/wine", "default~wine")
    assert (wine["latest_version"], wine["versions_count"]) == (3, 3)
    assert wine["aliases"] == {"champion": 3}
    assert wine["tags"] == {"mllab.project": "default", "mllab.name": "wine"}
    _, found = await api("GET", *models, params={"q": "WIN"})
    assert [m["name"] for m in found["models"]] == ["wine"]
    _, found = await api("GET", *models, params={"q": "nothing-like-it"})
    assert found["models"] == []
    code, one = await api("GET", *models, "wine")
    assert code == 200 and one == wine

    # versions, newest first, paged
    code, page = await api("GET", *models, "wine", "versions", params={"limit": "2"})
    assert code == 200, page
    assert [v["version"] for v in page["versions"]] == [3, 2] and page["total"] == 3
    assert page["versions"][0]["aliases"] == ["champion"]
    _, page = await api("GET", *models, "wine", "versions", params={"offset": "2"})
    assert [v["version"] for v in page["versions"]] == [1]
    code, bad = await api("GET", *models, "wine", "versions", params={"limit": "0"})
    assert code == 400 and bad["reason"] == "bad_argument"

    # one version: signature, input example (20 of 25 rows), metrics, files, lineage
    code, detail = await api("GET", *models, "wine", "versions", str(v2.version))
    assert code == 200, detail
    assert detail["key"] == "default/wine@2" and detail["aliases"] == []
    assert [c["name"] for c in detail["signature"]["inputs"]] == COLUMNS
    assert {c["type"] for c in detail["signature"]["inputs"]} <= {"long", "double"}
    assert detail["signature"]["outputs"] is not None
    example = detail["input_example"]
    assert example["columns"] == COLUMNS and len(example["data"]) == 20 and example["truncated"]
    assert example["data"][0] == [12, 0.0, 1.0]
    assert detail["metrics"]["accuracy"] > 0.4
    assert detail["params"] == {"C": "1.0", "max_iter": "200"}
    files = {f["path"]: f["size"] for f in detail["files"]}
    assert "MLmodel" in files and files["MLmodel"] > 100 and "requirements.txt" in files
    lineage = detail["lineage"]
    assert lineage["run"] == {
        "run_id": run_id,
        "experiment_id": exp,
        "run_name": lineage["run"]["run_name"],
        "status": "FINISHED",
        "job_id": "job-123",
    }
    assert lineage["notebook"] == {"path": "notebooks/train.ipynb", "sha256": "ab" * 32}
    assert lineage["git_commit"] == "c0ffee"
    assert lineage["environment"] == {"mllab.env.python": "3.11.9"}
    assert lineage["datasets"] == [
        {
            "key": "default/wine@1",
            "sha256": hashlib.sha256(WINE).hexdigest(),
            "project": "default",
            "name": "wine",
            "version": 1,
        }
    ]
    code, alone = await api("GET", *models, "wine", "versions", "2", "lineage")
    assert code == 200 and alone == lineage
    code, by_alias = await api("GET", *models, "wine", "versions", "champion")
    assert code == 200 and by_alias["version"] == 3

    # aliases: set, move, remove; to a missing version 404; a bad alias 400
    code, moved = await api("PUT", *models, "wine", "aliases", "champion", body={"version": 1})
    assert code == 200 and moved["version"] == 1 and moved["aliases"] == ["champion"], moved
    code, staged = await api("PUT", *models, "wine", "aliases", "staging", body={"version": 1})
    assert code == 200 and staged["aliases"] == ["champion", "staging"]
    _, wine = await api("GET", *models, "wine")
    assert wine["aliases"] == {"champion": 1, "staging": 1}
    code, err = await api("PUT", *models, "wine", "aliases", "champion", body={"version": 9})
    assert code == 404 and err["reason"] == "no_version"
    code, err = await api("PUT", *models, "wine", "aliases", "latest", body={"version": 1})
    assert code == 400 and err["reason"] == "invalid_alias"
    code, err = await api("PUT", *models, "wine", "aliases", "x", body={"version": 0})
    assert code == 400 and err["reason"] == "bad_version"
    code, _ = await api("DELETE", *models, "wine", "aliases", "staging")
    assert code == 204
    code, err = await api("DELETE", *models, "wine", "aliases", "staging")
    assert code == 404 and err["reason"] == "no_alias"
    _, wine = await api("GET", *models, "wine")
    assert wine["aliases"] == {"champion": 1}

    # tags and description
    version_2 = (*models, "wine", "versions", "2")
    code, patched = await api(
        "PATCH", *version_2, body={"description": "the good one", "tags": {"team": "vision"}}
    )
    assert code == 200, patched
    assert patched["description"] == "the good one" and patched["tags"]["team"] == "vision"
    code, patched = await api("PATCH", *version_2, body={"remove_tags": ["team", "never-set"]})
    assert code == 200 and "team" not in patched["tags"], patched
    assert patched["description"] == "the good one"
    code, err = await api("PATCH", *version_2, body={"tags": {"mllab.flavor": "keras"}})
    assert code == 400 and err["reason"] == "reserved_tag"
    code, err = await api("PATCH", *version_2, body={"tags": {"x": 1}})
    assert code == 400 and err["reason"] == "bad_tags"

    # a run's models; a dataset version's usage (the run, and the versions made by it)
    code, made = await api("GET", "runs", run_id, "models")
    assert code == 200, made
    [logged] = made["logged"]
    assert logged["artifact_path"] == "model" and "sklearn" in logged["flavors"]
    assert sorted(v["key"] for v in made["registered"]) == [
        "default/iris@1",
        "default/wine@1",
        "default/wine@2",
        "default/wine@3",
    ]
    assert next(v for v in made["registered"] if v["key"] == "default/wine@1")["aliases"] == [
        "champion"
    ]
    wine_ds = "projects", "default", "datasets", "wine", "versions"
    code, usage = await api("GET", *wine_ds, "1", "usage")
    assert code == 200, usage
    assert [r["run_id"] for r in usage["runs"]] == [run_id]
    assert usage["runs"][0]["job_id"] == "job-123"
    assert len(usage["models"]) == 4
    # a second version of the dataset that no run opened
    (jp_root_dir / "wine.csv").write_bytes(WINE + b"13,0.1,1.1,0\n")
    code, _ = await api(
        "POST", "projects", "default", "datasets", body={"path": "wine.csv", "name": "wine"}
    )
    code, usage = await api("GET", *wine_ds, "latest", "usage")
    assert code == 200 and usage == {"runs": [], "models": []}
    code, err = await api("GET", "projects", "default", "datasets", "no", "versions", "1", "usage")
    assert code == 404

    # delete a version: then it is gone
    code, _ = await api("DELETE", *version_2)
    assert code == 204
    code, err = await api("GET", *version_2)
    assert code == 404 and err["reason"] == "no_version"
    _, page = await api("GET", *models, "wine", "versions")
    assert [v["version"] for v in page["versions"]] == [3, 1] and page["total"] == 2
    code, err = await api("DELETE", *version_2)
    assert code == 404 and err["reason"] == "no_version"

    # unknown model / version / project; names MLflow or we refuse
    for parts, reason in [
        ((*models, "nope"), "no_model"),
        ((*models, "nope", "versions"), "no_model"),
        ((*models, "nope", "versions", "1"), "no_model"),
        ((*models, "wine", "versions", "77"), "no_version"),
        ((*models, "wine", "versions", "nosuchalias"), "no_version"),
        ((*models, "wine", "versions", "77", "lineage"), "no_version"),
        (("projects", "ghost", "models"), "no_such_project"),
        (("projects", "ghost", "models", "wine"), "no_such_project"),
    ]:
        code, err = await api("GET", *parts)
        assert (code, err["reason"]) == (404, reason), (parts, err)
    code, err = await api("GET", *models, "bad:name")
    assert code == 400 and err["reason"] == "invalid_name"
    code, err = await api(
        "POST", *models, body={"run_id": run_id, "artifact_path": "model", "name": "a~b"}
    )
    assert code == 400 and err["reason"] == "invalid_name"
    code, err = await api("GET", "runs", "0" * 32, "models")
    assert code == 404 and err["reason"] == "no_run"
    code, err = await api("GET", "runs", "not-a-run", "models")
    assert code == 400 and err["reason"] == "bad_run_id"


async def test_register_from_run_artifacts(api: Any, tmp_path: Path) -> None:
    uri, exp = await lab_store(api)
    run_id = await asyncio.to_thread(save_into_run_artifacts, uri, exp, tmp_path)
    models = "projects", "default", "models"

    code, made = await api("GET", "runs", run_id, "models")
    assert code == 200, made
    assert made["logged"] == [
        {"artifact_path": "nested/clf", "flavors": ["python_function", "sklearn"]}
    ]
    assert made["registered"] == []

    body = {"run_id": run_id, "artifact_path": "nested/clf", "name": "tree"}
    code, version = await api("POST", *models, body={**body, "description": "a tree"})
    assert code == 201, version
    assert (version["key"], version["flavor"], version["description"]) == (
        "default/tree@1",
        "sklearn",
        "a tree",
    )
    assert version["source"].endswith("/nested/clf")
    code, detail = await api("GET", *models, "tree", "versions", "1")
    assert code == 200 and "MLmodel" in {f["path"] for f in detail["files"]}
    assert detail["signature"] == {"inputs": None, "outputs": None}
    assert detail["input_example"] is None
    code, made = await api("GET", "runs", run_id, "models")
    assert [v["key"] for v in made["registered"]] == ["default/tree@1"]

    for path in ("plain", "plain/notes.txt", "missing", "../x", "a'b"):
        code, err = await api("POST", *models, body={**body, "artifact_path": path})
        assert (code, err["reason"]) == (400, "not_a_model"), (path, err)
    code, err = await api("POST", *models, body={**body, "run_id": "f" * 32})
    assert code == 404 and err["reason"] == "no_run"
    code, err = await api("POST", *models, body={**body, "run_id": "not-a-run"})
    assert code == 400 and err["reason"] == "bad_run_id"
    code, err = await api("POST", *models, body={**body, "alias": "9lives"})
    assert code == 400 and err["reason"] == "invalid_alias"
    # a run of another project is not this project's to register
    code, _ = await api("POST", "projects", body={"name": "other"})
    code, err = await api("POST", "projects", "other", "models", body=body)
    assert code == 404 and err["reason"] == "no_run"
    # nothing was registered by the refused requests
    _, page = await api("GET", *models, "tree", "versions")
    assert page["total"] == 1

    # a project's models follow its rename, count as its content, and go with it
    client = MlflowClient(uri, registry_uri=uri)
    client.create_registered_model("other~kept", tags={"mllab.project": "other"})
    client.create_model_version("other~kept", version["source"], run_id=run_id)
    code, _ = await api("PATCH", "projects", "other", body={"name": "renamed"})
    assert code == 200
    code, listing = await api("GET", "projects", "renamed", "models")
    assert code == 200 and [m["key"] for m in listing["models"]] == ["renamed/kept"], listing
    assert listing["models"][0]["tags"]["mllab.project"] == "renamed"
    _, project = await api("GET", "projects", "renamed")
    assert project["counts"]["models"] == 1
    code, err = await api("DELETE", "projects", "renamed")
    assert code == 409 and "1 model" in err["message"], err
    code, _ = await api("DELETE", "projects", "renamed", params={"force": "true"})
    assert code == 204
    assert [m.name for m in client.search_registered_models()] == ["default~tree"]


async def test_bundle_download(api: Any, jp_fetch: Any, mllab_home: Path) -> None:
    uri, exp = await lab_store(api)
    run_id = await asyncio.to_thread(train_and_log, uri, exp)
    code, v1 = await api(
        "POST",
        "projects",
        "default",
        "models",
        body={"run_id": run_id, "artifact_path": "model", "name": "wine"},
    )
    assert code == 201, v1
    parts = ("mllab", "api", "projects", "default", "models", "wine", "versions", "1", "bundle")
    # concurrent first requests: one build, the same bytes
    first, second = await asyncio.gather(jp_fetch(*parts), jp_fetch(*parts))
    assert first.code == second.code == 200
    assert first.body == second.body
    disposition = first.headers["Content-Disposition"]
    assert 'filename="wine-v1.mlbundle"' in disposition and disposition.startswith("attachment")
    with zipfile.ZipFile(io.BytesIO(first.body)) as bundle:
        names = bundle.namelist()
        card = json.loads(bundle.read("card.json"))
        lineage = json.loads(bundle.read("lineage.json"))
    assert "model/MLmodel" in names and "__main__.py" in names
    assert (card["key"], card["version"], card["run_id"]) == ("default/wine@1", 1, run_id)
    assert card["flavor"] == "sklearn" and card["params"] == {"C": "1.0", "max_iter": "200"}
    assert lineage["run"]["run_id"] == run_id
    cached = list((mllab_home / "cache" / "models" / "default~wine" / "1").rglob("*.mlbundle"))
    assert len(cached) == 1
    again = await jp_fetch(*parts)
    assert again.body == first.body
    code, _ = await api("DELETE", "projects", "default", "models", "wine", "versions", "1")
    assert code == 204
    assert not (mllab_home / "cache" / "models" / "default~wine" / "1").exists()
    missing = await jp_fetch(*parts, raise_error=False)
    assert missing.code == 404
