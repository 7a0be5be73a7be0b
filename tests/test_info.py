"""GET /mllab/api/info and what the server exports for its kernels."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest


async def test_info(api: Any, mllab_home: Path) -> None:
    status, info = await api("GET", "info", params={"wait": "true"})
    assert status == 200
    from jupyter_mllab import __version__

    assert info["version"] == __version__
    assert info["home"] == str(mllab_home)
    assert info["tracking_uri"] == f"sqlite:///{mllab_home / 'mlflow.db'}"
    assert info["artifact_root"] == str(mllab_home / "artifacts")
    assert info["executor"] == "local"
    assert info["max_concurrent_runs"] == (os.cpu_count() or 1)
    assert isinstance(info["gpu"]["available"], bool)
    assert info["gpu"]["count"] == len(info["gpu"]["names"])
    assert info["ready"] is True
    assert (mllab_home / "mlflow.db").exists()
    assert not Path("mlruns").exists()


class TestChildProcessSetup:
    @pytest.fixture
    def mllab_config(self) -> dict[str, Any]:
        return {"tracking_setup": "process"}  # what a real server does: a child process

    async def test_info_answers_at_once_while_setting_up(self, api: Any, mllab_home: Path) -> None:
        status, info = await api("GET", "info")
        assert status == 200
        assert info["ready"] is False  # MLflow's store is being made, in a child process
        _, info = await api("GET", "info", params={"wait": "true"})
        assert info["ready"] is True
        assert info["tracking_error"] is None
        _, listing = await api("GET", "projects")
        assert listing["projects"][0]["experiment_id"]
        assert (mllab_home / "mlflow.db").exists()


async def test_server_exports_the_home_for_kernels(api: Any, mllab_home: Path) -> None:
    await api("GET", "info")
    assert os.environ["MLLAB_HOME"] == str(mllab_home)
    assert os.environ["MLFLOW_TRACKING_URI"] == f"sqlite:///{mllab_home / 'mlflow.db'}"


class TestConfiguredServer:
    @pytest.fixture
    def mllab_config(self, tmp_path: Path) -> dict[str, Any]:
        return {
            "home": str(tmp_path / "elsewhere"),
            "max_concurrent_runs": 3,
            "executor": "dask",
            "dask_scheduler_address": "tcp://127.0.0.1:8786",
            "tracking_setup": "process",  # as before: this test reads only the traits
        }

    async def test_configuration_traits(self, api: Any, tmp_path: Path) -> None:
        _, info = await api("GET", "info")
        assert info["home"] == str(tmp_path / "elsewhere")
        assert info["max_concurrent_runs"] == 3
        assert info["executor"] == "dask"
        assert info["dask_scheduler_address"] == "tcp://127.0.0.1:8786"
