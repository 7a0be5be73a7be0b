"""New notebooks from templates in a kernel: mllab.new_notebook and %mllab new."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import jupyter_mllab as mllab
from jupyter_mllab import client
from jupyter_mllab.errors import BadRequest, NotFound
from jupyter_mllab.templates import DATA

NEWS = "text,label\nthe match ended in a draw,sport\nrates rise again,business\n"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("MLLAB_HOME", str(home))
    monkeypatch.setattr(client, "_current", None)
    return home


@pytest.fixture
def work(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def shell(home: Path) -> Iterator[InteractiveShell]:
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "jupyter_mllab")
    yield ip
    InteractiveShell.clear_instance()


def parameters(path: str | Path) -> str:
    notebook = json.loads(Path(path).read_text())
    (cell,) = [c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", [])]
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def upload(tmp_path: Path, name: str, text: str) -> str:
    source = tmp_path / f"{name}.csv"
    source.write_text(text)
    return str(mllab.upload_dataset(source, name=name)["key"])


def test_new_notebook_on_a_new_home_reads_the_samples(home: Path, work: Path) -> None:
    path = mllab.new_notebook("wine-regression", directory=work)
    assert path == str(work / "wine_regression.ipynb")
    assert 'data = "data/wine.csv"' in parameters(path)  # nothing fits: the default stays
    assert (work / "data" / "wine.csv").read_bytes() == (DATA / "wine.csv").read_bytes()
    again = mllab.new_notebook("wine-regression", directory=work)
    assert again == str(work / "wine_regression-1.ipynb")


def test_new_notebook_auto_picks_the_current_projects_fitting_dataset(
    home: Path, work: Path, tmp_path: Path
) -> None:
    mllab.list_projects()
    news = upload(tmp_path, "news", NEWS)
    wine = upload(tmp_path, "wine", (DATA / "wine.csv").read_text())
    path = mllab.new_notebook("wine-regression", directory=work)
    assert f'data = "{wine}"' in parameters(path)
    assert not (work / "data").exists()
    text = mllab.new_notebook("text-classification", directory=work, name="topics")
    assert text == str(work / "topics.ipynb")
    assert f'corpus = "{news}"' in parameters(text)
    none = mllab.new_notebook("wine-regression", directory=work, dataset=None)
    assert 'data = "data/wine.csv"' in parameters(none)
    pinned = mllab.new_notebook("prepare-data", directory=work, dataset="wine")
    assert 'source = "default/wine@1"' in parameters(pinned)
    with pytest.raises(BadRequest, match="does not fit"):
        mllab.new_notebook("wine-regression", directory=work, dataset="news")
    with pytest.raises(BadRequest, match="of project 'other'"):
        mllab.new_notebook("wine-regression", directory=work, dataset="other/wine@1")
    with pytest.raises(NotFound):
        mllab.new_notebook("ghost", directory=work)
    # another project: its own datasets only
    mllab.create_project("other")
    mllab.set_project("other")
    fresh = mllab.new_notebook("wine-regression", directory=work)
    assert 'data = "data/wine.csv"' in parameters(fresh)


def test_mllab_new_magic(
    shell: InteractiveShell, work: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    table = shell.run_line_magic("mllab", "new")
    assert [r[0] for r in table.rows] == [
        "wine-regression",
        "digits-keras",
        "text-classification",
        "prepare-data",
    ]
    assert all(r[3] == "" for r in table.rows)
    wine = upload(tmp_path, "wine", (DATA / "wine.csv").read_text())
    table = shell.run_line_magic("mllab", "new")
    assert dict((r[0], r[3]) for r in table.rows)["wine-regression"] == wine
    path = shell.run_line_magic("mllab", f"new wine-regression --dir {work}")
    assert "Created" in capsys.readouterr().out
    assert f'data = "{wine}"' in parameters(path)
    line = f"new wine-regression --no-dataset --dir {work} --name mine"
    path = shell.run_line_magic("mllab", line)
    assert path == str(work / "mine.ipynb")
    assert 'data = "data/wine.csv"' in parameters(path)
    path = shell.run_line_magic("mllab", f"new prepare-data --dataset wine@1 --dir {work}")
    assert 'source = "default/wine@1"' in parameters(path)
    with pytest.raises(UsageError, match="There is no template 'ghost'"):
        shell.run_line_magic("mllab", "new ghost")
    with pytest.raises(UsageError, match="not allowed with"):
        shell.run_line_magic("mllab", "new wine-regression --dataset wine --no-dataset")
