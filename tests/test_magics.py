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


def test_track_cell_magic_and_runs_table(
    shell: InteractiveShell, capsys: pytest.CaptureFixture
) -> None:
    for lr in (0.1, 0.3):
        shell.run_cell_magic(
            "mllab",
            f"track --name lr{lr} --log acc,kind,ghost --param lr={lr}",
            f"acc = 1 - {lr}\nkind = 'forest'\nimport jupyter_mllab as mllab\n"
            "mllab.log_metric('loss', acc / 2)",
        )
    out = capsys.readouterr().out
    assert (
        out.count(": FINISHED") == 2
        and "Not logged (no such variable after the cell): ghost" in out
    )
    assert shell.user_ns["acc"] == pytest.approx(0.7)  # the cell ran in the user's namespace

    table = shell.run_line_magic("mllab", "runs --sort 'metrics.acc DESC'")
    assert "2 of 2 runs of project 'default'" in capsys.readouterr().out
    columns = table.columns
    assert columns[:5] == ["run", "name", "status", "started", "took"]
    assert {"lr", "kind", "acc", "loss"} <= set(columns)
    rows = [dict(zip(columns, row, strict=True)) for row in table.rows]
    assert [r["name"] for r in rows] == ["lr0.1", "lr0.3"]
    assert rows[0]["acc"] == "0.9" and rows[0]["kind"] == "forest" and rows[0]["lr"] == "0.1"
    assert rows[1]["loss"] == "0.35"

    table = shell.run_line_magic("mllab", "runs --filter \"params.lr = '0.3'\"")
    assert [r[1] for r in table.rows] == ["lr0.3"]
    with pytest.raises(UsageError, match="Invalid clause"):
        shell.run_line_magic("mllab", "runs --filter 'metrics.acc >'")


def test_track_marks_a_failing_cell_failed(shell: InteractiveShell) -> None:
    with pytest.raises(ZeroDivisionError):
        shell.run_cell_magic("mllab", "track --name broken", "x = 1 / 0")
    table = shell.run_line_magic("mllab", "runs --status FAILED")
    assert [r[1:3] for r in table.rows] == [["broken", "FAILED"]]
    with pytest.raises(UsageError, match="as a cell magic"):
        shell.run_line_magic("mllab", "track")
    with pytest.raises(UsageError, match="NAME=VALUE"):
        shell.run_cell_magic("mllab", "track --param oops", "pass")
