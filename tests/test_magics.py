"""%mllab on a bare IPython shell."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

from jupyter_mllab import client


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    monkeypatch.setenv("MLLAB_HOME", str(tmp_path))
    monkeypatch.setattr(client, "_current", None)
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "jupyter_mllab")
    yield ip
    InteractiveShell.clear_instance()


def test_info(shell: InteractiveShell, tmp_path: Path) -> None:
    table = shell.run_line_magic("mllab", "info")
    rows = dict(table.rows)
    assert rows["home"] == str(tmp_path)
    assert rows["project"] == "default"
    assert rows["tracking_uri"] == f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert "<table" in table._repr_html_()


def test_projects_create_and_use(shell: InteractiveShell, capsys: pytest.CaptureFixture) -> None:
    table = shell.run_line_magic("mllab", "projects")
    assert [r[1] for r in table.rows] == ["default"]
    assert table.rows[0][0] == "*"
    table = shell.run_line_magic("mllab", "projects create wine -d 'red or white'")
    assert "Created project 'wine'" in capsys.readouterr().out
    assert {r[1]: r[2] for r in table.rows} == {"default": "", "wine": "red or white"}
    shell.run_line_magic("mllab", "use wine")
    assert client.current_project() == "wine"
    marked = [r[1] for r in shell.run_line_magic("mllab", "projects").rows if r[0] == "*"]
    assert marked == ["wine"]
    assert "wine" in repr(table)


def test_errors_are_short_usage_errors(shell: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="no project named 'ghost'"):
        shell.run_line_magic("mllab", "use ghost")
    with pytest.raises(UsageError, match="not a valid project name"):
        shell.run_line_magic("mllab", "projects create 'bad name'")
    with pytest.raises(UsageError, match="invalid choice"):
        shell.run_line_magic("mllab", "frobnicate")


def test_monitor_magic() -> None:
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "jupyter_mllab")
    table = shell.run_line_magic("mllab", "monitor")
    rows = {row[0]: row[1] for row in table.rows}
    assert rows["CPU"].endswith(")") and "cores" in rows["CPU"]
    assert " of " in rows["memory"]
    assert rows.get("GPU") == "none" or any(k.startswith("GPU ") for k in rows)
