"""The projects REST API over real HTTP, against a real server with the extension."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


async def test_list_has_the_default_project(api: Any) -> None:
    status, body = await api("GET", "projects")
    assert status == 200
    assert [p["name"] for p in body["projects"]] == ["default"]  # at once, MLflow or not
    await api("GET", "info", params={"wait": "true"})
    status, body = await api("GET", "projects")
    assert status == 200
    assert [p["name"] for p in body["projects"]] == ["default"]
    assert body["current"] == "default"
    project = body["projects"][0]
    assert set(project) >= {"name", "description", "created", "updated", "experiment_id", "counts"}
    assert project["experiment_id"]


async def test_create_returns_201_with_location(api: Any, jp_base_url: str) -> None:
    status, body = await api("POST", "projects", body={"name": "wine", "description": "red"})
    assert status == 201
    assert body["name"] == "wine"
    assert body["description"] == "red"
    status, got = await api("GET", "projects", "wine")
    assert status == 200
    assert got["experiment_id"] == body["experiment_id"]


async def test_location_header(jp_fetch: Any, jp_base_url: str) -> None:
    response = await jp_fetch("mllab", "api", "projects", method="POST", body='{"name": "loc"}')
    assert response.code == 201
    assert response.headers["Location"] == f"{jp_base_url}mllab/api/projects/loc"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": ""}, "empty"),
        ({"name": "x" * 65}, "too long"),
        ({"name": "a/b"}, "path separators"),
        ({"name": "..\\x"}, "path separators"),
        ({"name": "no spaces"}, "not a valid"),
        # the body's model (projects/schemas.py) names the field
        ({"name": 3}, "'name': Input should be a valid string"),
        ({}, "'name' is required"),
        ({"name": "ok", "description": 5}, "'description': Input should be a valid string"),
    ],
)
async def test_bad_names_get_400_with_json_error(api: Any, body: dict, fragment: str) -> None:
    status, error = await api("POST", "projects", body=body)
    assert status == 400
    assert set(error) == {"message", "reason"}
    assert fragment in error["message"]
    _, listing = await api("GET", "projects")
    assert [p["name"] for p in listing["projects"]] == ["default"]  # nothing created


async def test_invalid_json_gets_400(api: Any) -> None:
    status, error = await api("POST", "projects", raw_body="{not json")
    assert status == 400
    assert error["reason"] == "bad_json"
    status, error = await api("POST", "projects", raw_body="[1, 2]")
    assert status == 400
    assert "JSON object" in error["message"]


async def test_duplicate_gets_409(api: Any) -> None:
    assert (await api("POST", "projects", body={"name": "Dup"}))[0] == 201
    status, error = await api("POST", "projects", body={"name": "dup"})
    assert status == 409
    assert error == {"message": "A project named 'Dup' already exists.", "reason": "duplicate"}


async def test_unknown_project_gets_404(api: Any) -> None:
    status, error = await api("GET", "projects", "nope")
    assert status == 404
    assert error["reason"] == "no_such_project"


async def test_rename_and_describe(api: Any) -> None:
    await api("POST", "projects", body={"name": "old"})
    status, body = await api("PATCH", "projects", "old", body={"name": "new", "description": "d"})
    assert status == 200
    assert (body["name"], body["description"]) == ("new", "d")
    assert (await api("GET", "projects", "old"))[0] == 404
    status, error = await api("PATCH", "projects", "new", body={"owner": "me"})
    assert status == 400
    assert "owner" in error["message"]
    status, error = await api("PATCH", "projects", "new", body={"name": "../x"})
    assert status == 400


async def test_delete(api: Any, mllab_home: Path) -> None:
    await api("POST", "projects", body={"name": "gone"})
    folders = list((mllab_home / "projects").iterdir())
    assert len(folders) == 2
    status, body = await api("DELETE", "projects", "gone")
    assert status == 204
    assert body is None
    assert (await api("GET", "projects", "gone"))[0] == 404
    assert len(list((mllab_home / "projects").iterdir())) == 1


async def test_delete_default_is_refused(api: Any) -> None:
    status, error = await api("DELETE", "projects", "default")
    assert status == 409
    assert error["reason"] == "default_project"


async def test_delete_non_empty_needs_force(api: Any, mllab_home: Path) -> None:
    from mlflow.tracking import MlflowClient

    _, project = await api("POST", "projects", body={"name": "full"})
    MlflowClient(f"sqlite:///{mllab_home / 'mlflow.db'}").create_run(project["experiment_id"])
    status, error = await api("DELETE", "projects", "full")
    assert status == 409
    assert error["reason"] == "not_empty"
    assert "1 runs" in error["message"] or "1 run" in error["message"]
    status, _ = await api("DELETE", "projects", "full", params={"force": "maybe"})
    assert status == 400
    status, _ = await api("DELETE", "projects", "full", params={"force": "true"})
    assert status == 204


async def test_traversal_in_the_url_reaches_nothing(api: Any, mllab_home: Path) -> None:
    for name in ("..%2F..%2Fetc", "%2e%2e", "%252e%252e%252f"):
        status, error = await api("DELETE", "projects", name, params={"force": "true"})
        assert status in (404, 409), name
        assert set(error) == {"message", "reason"}
    assert (mllab_home / "mlflow.db").exists()


async def test_current_project(api: Any) -> None:
    assert await api("GET", "current-project") == (200, {"name": "default"})
    await api("POST", "projects", body={"name": "mine"})
    assert await api("PUT", "current-project", body={"name": "mine"}) == (200, {"name": "mine"})
    assert (await api("GET", "projects"))[1]["current"] == "mine"
    status, _ = await api("PUT", "current-project", body={"name": "ghost"})
    assert status == 404
    status, _ = await api("PUT", "current-project", body={"project": "mine"})
    assert status == 400
    assert (await api("GET", "current-project"))[1] == {"name": "mine"}
