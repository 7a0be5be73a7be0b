"""Shared fixtures: a real Jupyter server with the extension, on a fresh lab home."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest_plugins = ("pytest_jupyter.jupyter_server", "_leakcheck")

LAB_ENV = ("MLLAB_HOME", "MLLAB_PROJECT", "MLLAB_ARTIFACT_ROOT", "MLFLOW_TRACKING_URI")


@pytest.fixture(autouse=True)
def _isolated_lab_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server exports these into its process; give every test a clean slate."""
    for name in LAB_ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def mllab_home(tmp_path: Path) -> Path:
    return tmp_path / "lab-home"


@pytest.fixture
def jp_server_config(mllab_home: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_mllab": True}},
        # The default prepares MLflow in a child process (tests/test_info.py covers it);
        # tests share this process's imported mlflow instead, which is much quicker.
        "MLLabApp": {"home": str(mllab_home), "tracking_setup": "thread"},
    }


@pytest.fixture
def api(jp_fetch: Any) -> Any:
    """``await api("GET", "projects")`` -> (status, json body or None)."""

    async def call(
        method: str,
        *parts: str,
        body: Any = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        raw_body: str | None = None,
    ) -> tuple[int, Any]:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if raw_body is not None:
            kwargs["body"] = raw_body
        elif body is not None:
            kwargs["body"] = json.dumps(body)
        elif method in ("POST", "PUT", "PATCH"):
            kwargs["body"] = "{}"
        if params:
            kwargs["params"] = params
        if headers is not None:
            kwargs["headers"] = headers
        response = await jp_fetch("mllab", "api", *parts, **kwargs)
        text = response.body.decode() if response.body else ""
        return response.code, (json.loads(text) if text else None)

    return call
