"""Paths a request names on the server: Jupyter's hidden-file rules, the lab's own home,
and a sibling folder whose name starts like the root (``<root>-evil``) are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jobs_helpers import simple_notebook


class LabHomeInRoot:
    """The lab's home where it is by default: <root>/.mllab."""

    @pytest.fixture
    def mllab_config(self, jp_root_dir: Path) -> dict[str, Any]:
        return {"home": str(jp_root_dir / ".mllab")}


def _secrets(root: Path) -> None:
    (root / ".env").write_text("API_KEY=secret\n")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("[remote]\nurl = https://token@example\n")
    (root / "work").mkdir()
    (root / "work" / "data.csv").write_text("a\n1\n")
    (root / "work" / ".secret.csv").write_text("a\n2\n")


async def _stored_versions(api: Any) -> list[Any]:
    code, listing = await api("GET", "projects", "default", "datasets")
    assert code == 200, listing
    return listing["datasets"]


class TestHidden(LabHomeInRoot):
    @pytest.fixture
    def jupyter_config(self) -> dict[str, Any]:
        return {"ContentsManager": {"allow_hidden": False}}

    async def test_hidden_files_and_the_lab_home_are_not_imported(
        self, api: Any, jp_root_dir: Path
    ) -> None:
        _secrets(jp_root_dir)
        await _stored_versions(api)  # the lab is set up: its home holds its databases
        assert (jp_root_dir / ".mllab" / "mllab.db").is_file()
        for path in (".env", ".git/config", "work/.secret.csv", ".git"):
            code, error = await api("POST", "projects", "default", "datasets", body={"path": path})
            assert (code, error["reason"]) == (403, "hidden_path"), (path, error)
        for path in (".mllab/mlflow.db", ".mllab", ".mllab/../.mllab/mllab.db"):
            code, error = await api("POST", "projects", "default", "datasets", body={"path": path})
            assert code == 403 and error["reason"] in ("hidden_path", "lab_home"), (path, error)
        assert await _stored_versions(api) == []
        # a folder's hidden entries are left out, as Jupyter's file browser leaves them out
        code, version = await api(
            "POST", "projects", "default", "datasets", body={"path": "work", "name": "w"}
        )
        assert code == 201 and version["file_count"] == 1, version
        code, files = await api("GET", "projects", "default", "datasets", "w", "versions", "1")
        assert code == 200 and ".secret" not in str(files), files

    async def test_hidden_notebooks_are_neither_read_nor_run(
        self, api: Any, jp_root_dir: Path
    ) -> None:
        simple_notebook(jp_root_dir / ".private")
        simple_notebook(jp_root_dir / "work")
        hidden = ".private/train.ipynb"
        code, error = await api("GET", "notebooks", "parameters", params={"path": hidden})
        assert (code, error["reason"]) == (403, "hidden_path"), error
        code, error = await api("POST", "jobs", body={"notebook": hidden})
        assert (code, error["reason"]) == (403, "hidden_path"), error
        code, jobs = await api("GET", "jobs")
        assert code == 200 and jobs["jobs"] == [], jobs
        code, params = await api(
            "GET", "notebooks", "parameters", params={"path": "work/train.ipynb"}
        )
        assert code == 200, params


class TestHiddenAllowed(LabHomeInRoot):
    @pytest.fixture
    def jupyter_config(self) -> dict[str, Any]:
        return {"ContentsManager": {"allow_hidden": True}}

    async def test_the_lab_home_is_refused_even_when_hidden_files_are_allowed(
        self, api: Any, jp_root_dir: Path
    ) -> None:
        _secrets(jp_root_dir)
        await _stored_versions(api)
        for path in (".mllab/mlflow.db", ".mllab", ".mllab/mllab.db", "."):
            code, error = await api("POST", "projects", "default", "datasets", body={"path": path})
            assert (code, error["reason"]) == (403, "lab_home"), (path, error)
        assert await _stored_versions(api) == []
        code, version = await api("POST", "projects", "default", "datasets", body={"path": ".env"})
        assert code == 201, version  # allowed by the server's own setting


async def test_a_sibling_folder_of_the_root_is_refused(
    api: Any, jp_root_dir: Path, mllab_home: Path
) -> None:
    sibling = jp_root_dir.parent / f"{jp_root_dir.name}-evil"
    sibling.mkdir()
    (sibling / "x.csv").write_text("a\n1\n")
    simple_notebook(sibling)
    rel = f"../{sibling.name}"
    code, error = await api(
        "POST", "projects", "default", "datasets", body={"path": f"{rel}/x.csv"}
    )
    assert (code, error["reason"]) == (400, "outside_root"), error
    code, error = await api("POST", "jobs", body={"notebook": f"{rel}/train.ipynb"})
    assert (code, error["reason"]) == (400, "outside_root"), error
    code, error = await api("GET", "notebooks", "parameters", params={"path": f"{rel}/train.ipynb"})
    assert (code, error["reason"]) == (400, "outside_root"), error
    code, error = await api("POST", "jobs", body={"notebook": str(sibling / "train.ipynb")})
    assert (code, error["reason"]) == (400, "outside_root"), error
    assert await _stored_versions(api) == []
    code, jobs = await api("GET", "jobs")
    assert code == 200 and jobs["jobs"] == [], jobs
