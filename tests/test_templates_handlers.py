"""Notebook templates over real HTTP: the list with the datasets that fit, new notebooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from jupyter_mllab.templates import DATA, list_templates

NEWS = "text,label\nthe match ended in a draw,sport\nrates rise again,business\n"


def wine_csv() -> str:
    return (DATA / "wine.csv").read_text()


@pytest.fixture
def add_dataset(api: Any, jp_root_dir: Path) -> Any:
    """A dataset version from a file of the server root (the "Upload as dataset" route)."""

    async def add(name: str, filename: str, text: str, project: str = "default") -> str:
        (jp_root_dir / filename).write_text(text)
        code, version = await api(
            "POST", "projects", project, "datasets", body={"path": filename, "name": name}
        )
        assert code == 201, version
        return str(version["key"])

    return add


def parameters_source(path: Path) -> str:
    notebook = json.loads(path.read_text())
    cells = [c for c in notebook["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(cells) == 1, path
    source = cells[0]["source"]
    return source if isinstance(source, str) else "".join(source)


async def fitting(api: Any, project: str | None = None) -> dict[str, list[str]]:
    code, data = await api("GET", "templates", params={"project": project} if project else None)
    assert code == 200, data
    return {t["id"]: t["datasets"] for t in data["templates"]}


async def test_templates_are_listed_in_order(api: Any) -> None:
    code, data = await api("GET", "templates")
    assert code == 200, data
    ids = [t["id"] for t in data["templates"]]
    assert ids == [t.id for t in list_templates()]
    assert set(ids) == {"wine-regression", "digits-keras", "text-classification", "prepare-data"}
    wine = data["templates"][0]
    assert wine["id"] == "wine-regression"
    assert wine["dataset"]["parameter"] == "data"
    assert wine["datasets"] == []  # a new lab has no datasets


async def test_templates_list_the_datasets_that_fit(api: Any, add_dataset: Any) -> None:
    wine = await add_dataset("wine", "wine.csv", wine_csv())
    news = await add_dataset("news", "news.csv", NEWS)
    await add_dataset("notes", "notes.txt", "alcohol,text,label\n")  # not a CSV
    fit = await fitting(api)
    assert fit["wine-regression"] == [wine]
    assert fit["text-classification"] == [news]
    assert fit["digits-keras"] == []  # takes no dataset
    assert fit["prepare-data"] == [news, wine]  # any CSV, newest first
    # only latest versions, newest first
    wine2 = await add_dataset("wine", "wine.csv", wine_csv().replace("14.23", "14.24"))
    red = await add_dataset("red-wine", "red.csv", wine_csv())
    assert wine2 == "default/wine@2"
    assert (await fitting(api))["wine-regression"] == [red, wine2]
    # another project sees its own
    code, _ = await api("POST", "projects", body={"name": "other"})
    assert code == 201
    assert (await fitting(api, "other"))["wine-regression"] == []
    code, error = await api("GET", "templates", params={"project": "ghost"})
    assert code == 404, error


async def test_new_notebook_fills_in_the_newest_dataset_that_fits(
    api: Any, jp_fetch: Any, add_dataset: Any, jp_root_dir: Path
) -> None:
    await add_dataset("news", "news.csv", NEWS)
    key = await add_dataset("wine", "wine.csv", wine_csv())
    (jp_root_dir / "work").mkdir()
    response = await jp_fetch(
        "mllab", "api", "templates", "wine-regression",
        method="POST", body=json.dumps({"directory": "work", "project": "default"}),
    )  # fmt: skip
    assert response.code == 201
    created = json.loads(response.body)
    assert created == {"path": "work/wine_regression.ipynb", "dataset": key}
    assert response.headers["Location"].endswith("/api/contents/work/wine_regression.ipynb")
    notebook = jp_root_dir / "work" / "wine_regression.ipynb"
    assert f'data = "{key}"\n' in parameters_source(notebook)
    assert "mllab_template" not in json.loads(notebook.read_text())["metadata"]
    assert not (jp_root_dir / "work" / "data").exists()  # a key: no sample data
    # unique names, as JupyterLab makes them
    code, again = await api("POST", "templates", "wine-regression", body={"directory": "work"})
    assert code == 201 and again["path"] == "work/wine_regression-1.ipynb", again
    code, third = await api("POST", "templates", "wine-regression", body={"directory": "/work/"})
    assert code == 201 and third["path"] == "work/wine_regression-2.ipynb", third
    # the text template takes the news corpus, not the wine table
    code, text = await api("POST", "templates", "text-classification", body={})
    assert code == 201 and text["dataset"] == "default/news@1", text
    assert 'corpus = "default/news@1"' in parameters_source(jp_root_dir / text["path"])


async def test_new_notebook_without_a_dataset_gets_the_sample_data(
    api: Any, jp_root_dir: Path, add_dataset: Any
) -> None:
    await add_dataset("wine", "wine.csv", wine_csv())
    code, created = await api("POST", "templates", "wine-regression", body={"dataset": None})
    assert code == 201, created
    assert created == {"path": "wine_regression.ipynb", "dataset": None}
    assert 'data = "data/wine.csv"' in parameters_source(jp_root_dir / created["path"])
    sample = jp_root_dir / "data" / "wine.csv"
    assert sample.read_bytes() == (DATA / "wine.csv").read_bytes()
    # nothing fits: none filled in, samples written (only where absent)
    sample.write_text("alcohol\n1\n")
    code, text = await api("POST", "templates", "text-classification", body={})
    assert code == 201 and text["dataset"] is None, text
    assert (jp_root_dir / "data" / "news.csv").read_bytes() == (DATA / "news.csv").read_bytes()
    code, again = await api("POST", "templates", "wine-regression", body={"dataset": None})
    assert code == 201 and again["path"] == "wine_regression-1.ipynb"
    assert sample.read_text() == "alcohol\n1\n"  # the person's own file stays
    # a template without a dataset parameter
    code, digits = await api("POST", "templates", "digits-keras", body={})
    assert code == 201 and digits == {"path": "digits_keras.ipynb", "dataset": None}, digits


async def test_new_notebook_with_an_explicit_key(
    api: Any, jp_root_dir: Path, add_dataset: Any
) -> None:
    await add_dataset("wine", "wine.csv", wine_csv())
    await add_dataset("wine", "wine.csv", wine_csv().replace("14.23", "14.24"))
    await add_dataset("news", "news.csv", NEWS)
    code, created = await api("POST", "templates", "wine-regression", body={"dataset": "wine@1"})
    assert code == 201 and created["dataset"] == "default/wine@1", created
    assert 'data = "default/wine@1"' in parameters_source(jp_root_dir / created["path"])
    code, latest = await api("POST", "templates", "wine-regression", body={"dataset": "wine"})
    assert code == 201 and latest["dataset"] == "default/wine@2", latest  # pinned
    code, _ = await api("POST", "projects", body={"name": "other"})
    assert code == 201
    await add_dataset("wine", "wine2.csv", wine_csv(), project="other")
    for key, reason in [
        ("news", "dataset_does_not_fit"),
        ("other/wine@1", "other_project"),
        ("not a key!", "invalid_key"),
        ("ghost", "no_such_dataset"),
        ("wine@9", "no_such_version"),
    ]:
        code, error = await api("POST", "templates", "wine-regression", body={"dataset": key})
        assert (code, error["reason"]) == (400, reason), (key, error)
    code, error = await api("POST", "templates", "digits-keras", body={"dataset": "wine"})
    assert (code, error["reason"]) == (400, "no_dataset_parameter"), error
    # in project other, its own key is fine
    code, theirs = await api(
        "POST", "templates", "wine-regression", body={"dataset": "wine", "project": "other"}
    )
    assert code == 201 and theirs["dataset"] == "other/wine@1", theirs
    made = sorted(p.name for p in jp_root_dir.glob("*.ipynb"))
    assert made == ["wine_regression-1.ipynb", "wine_regression-2.ipynb", "wine_regression.ipynb"]


async def test_new_notebook_refuses_bad_places(api: Any, jp_root_dir: Path) -> None:
    (jp_root_dir / "sub").mkdir()
    (jp_root_dir / ".hidden").mkdir()
    for body, expected in [
        ({"directory": "nope"}, (404, "no_directory")),
        ({"directory": "../"}, (400, "bad_path")),
        ({"directory": "sub/../.."}, (400, "bad_path")),
        ({"directory": "sub/../../etc"}, (400, "bad_path")),
        ({"directory": ".hidden"}, (403, "hidden_path")),
        ({"directory": 3}, (400, "bad_path")),
        ({"dataset": 3}, (400, "invalid_key")),
        ({"folder": "sub"}, (400, "unknown_field")),
    ]:
        code, error = await api("POST", "templates", "wine-regression", body=body)
        assert (code, error["reason"]) == expected, (body, error)
    code, error = await api("POST", "templates", "nope", body={})
    assert (code, error["reason"]) == (404, "no_template"), error
    assert list(jp_root_dir.rglob("*.ipynb")) == []
    assert not (jp_root_dir.parent / "wine_regression.ipynb").exists()
    code, error = await api("POST", "templates", "wine-regression", body={"project": "ghost"})
    assert code == 404, error
