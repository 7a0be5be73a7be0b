"""The kernel client: light to import, and it sees the same lab as the server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import jupyter_mllab as mllab
from jupyter_mllab import client
from jupyter_mllab.errors import NotFound

HEAVY = ("mlflow", "jupyter_server", "tornado", "pandas", "pyarrow", "tensorflow", "pynvml")


def test_import_is_light() -> None:
    code = (
        "import sys, json; import jupyter_mllab as m; "
        f"print(json.dumps([n for n in {HEAVY!r} if n in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLLAB_HOME", str(tmp_path))
    monkeypatch.setattr(client, "_current", None)
    return tmp_path


def test_current_project_precedence(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert mllab.current_project() == "default"  # a brand-new home
    assert [p["name"] for p in mllab.list_projects()] == ["default"]
    client._store().create("lab-choice")
    client._store().set_current("lab-choice")
    assert mllab.current_project() == "lab-choice"  # the sidebar's choice
    client._store().create("run-choice")
    monkeypatch.setenv("MLLAB_PROJECT", "run-choice")
    assert mllab.current_project() == "run-choice"  # a tracked run's project
    assert mllab.set_project("lab-choice") == "lab-choice"
    assert mllab.current_project() == "lab-choice"  # this process's own choice
    with pytest.raises(NotFound):
        mllab.set_project("missing")


def test_create_project_makes_its_experiment(home: Path) -> None:
    created = mllab.create_project("from-kernel", "made in a notebook")
    from mlflow.tracking import MlflowClient

    exp = MlflowClient(f"sqlite:///{home / 'mlflow.db'}").get_experiment(created["experiment_id"])
    assert exp.name == "mllab/from-kernel"
    assert mllab.info()["home"] == str(home)


async def test_a_real_kernel_sees_the_servers_lab(api: Any, jp_serverapp: Any) -> None:
    """A kernel started by the server inherits MLLAB_HOME and sees the sidebar's project."""
    await api("POST", "projects", body={"name": "seen-by-kernel"})
    await api("PUT", "current-project", body={"name": "seen-by-kernel"})
    km = jp_serverapp.kernel_manager
    kernel_id = await km.start_kernel(kernel_name="python3")
    kc = km.get_kernel(kernel_id).client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=60)
        outputs: list[str] = []
        reply = await kc.execute_interactive(
            "import jupyter_mllab as mllab, os\n"
            "print(mllab.current_project(), os.environ['MLLAB_HOME'])",
            output_hook=lambda msg: outputs.append(msg["content"].get("text", "")),
            timeout=60,
        )
        assert reply["content"]["status"] == "ok"
        project, home = "".join(outputs).split()
        assert project == "seen-by-kernel"
        assert home == os_home(jp_serverapp)
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(kernel_id, now=True)


def os_home(serverapp: Any) -> str:
    return str(serverapp.web_app.settings["mllab"].config.home)
