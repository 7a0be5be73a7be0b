"""Services on pytest-jupyter's in-process server: every answer checked against its schema
(the ``api`` fixture), a project with services is not deleted without force (and with
force its services go first), and with ``MLLabApp.stop_services_on_exit`` the lab's stop
stops the services it runs (the session's leftover check fails this test otherwise)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psutil
import pytest
from test_models_handlers import lab_store, train_and_log


@pytest.fixture
def mllab_config() -> dict[str, Any]:
    return {"stop_services_on_exit": True}


async def _running(api: Any, name: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        code, service = await api("GET", "services", name)
        assert code == 200 and service["status"] != "failed", service
        if service["status"] == "running" and service["ready"]:
            return service
        assert time.monotonic() < deadline, service
        await asyncio.sleep(0.2)


async def test_deploy_project_delete_and_the_lab_stop(api: Any) -> None:
    uri, _ = await lab_store(api)
    code, _ = await api("POST", "projects", body={"name": "p2"})
    assert code == 201
    code, page = await api("GET", "runs", params={"project": "p2"})
    assert code == 200, page
    run_id = await asyncio.to_thread(train_and_log, uri, str(page["experiment_id"]))
    body = {"run_id": run_id, "artifact_path": "model", "name": "wine"}
    assert (await api("POST", "projects", "p2", "models", body=body))[0] == 201

    code, service = await api("POST", "services", body={"model": "p2/wine@1"})
    assert code == 201 and service["project"] == "p2", service
    service = await _running(api, "wine")
    code, listed = await api("GET", "services", params={"project": "p2"})
    assert [s["name"] for s in listed["services"]] == ["wine"]
    code, stats = await api("GET", "services", "wine", "metrics")
    assert code == 200 and stats["ready"] is True

    code, error = await api("DELETE", "projects", "p2")
    assert code == 409, error  # it holds a run and a model, and a service
    pid = service["pid"]
    code, _ = await api("DELETE", "projects", "p2", params={"force": "true"})
    assert code == 204
    assert (await api("GET", "services", "wine"))[0] == 404
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE

    # left running on purpose: the lab's stop (stop_services_on_exit) must end it
    code, page = await api("GET", "runs", params={"project": "default"})
    run_id = await asyncio.to_thread(train_and_log, uri, str(page["experiment_id"]))
    body = {"run_id": run_id, "artifact_path": "model", "name": "wine"}
    assert (await api("POST", "projects", "default", "models", body=body))[0] == 201
    code, service = await api("POST", "services", body={"model": "wine@1", "name": "left-on"})
    assert code == 201, service
    await _running(api, "left-on")
