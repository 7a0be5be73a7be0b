"""The template catalog: the example notebooks as templates, rendered and instantiated."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_mllab import templates
from jupyter_mllab.errors import BadRequest, NotFound
from jupyter_mllab.templates import __main__ as demo_cli

REPO = Path(__file__).resolve().parents[1]
IDS = {"wine-regression", "digits-keras", "text-classification", "prepare-data"}


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _parameters(nb: dict) -> str:
    (cell,) = [c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", [])]
    return _source(cell)


def test_catalog_lists_every_notebook_in_order() -> None:
    found = templates.list_templates()
    assert {t.id for t in found} == IDS
    assert [t.order for t in found] == sorted(t.order for t in found)
    wine = templates.get_template("wine-regression")
    assert wine.filename == "wine_regression.ipynb"
    assert wine.dataset is not None and wine.dataset.parameter == "data"
    as_json = wine.to_json()
    assert as_json["dataset"] == {
        "parameter": "data",
        "media_types": ["text/csv"],
        "columns": ["alcohol"],
    }
    json.dumps([t.to_json() for t in found])  # JSON all the way down


def test_unknown_template_is_not_found() -> None:
    with pytest.raises(NotFound) as caught:
        templates.get_template("nope")
    assert caught.value.reason == "no_template"
    with pytest.raises(NotFound):
        templates.render("nope")


@pytest.mark.parametrize("template", templates.list_templates(), ids=lambda t: t.id)
def test_each_notebook_is_clean_with_a_parameters_cell(template: templates.Template) -> None:
    nb = templates.render(template.id)
    assert nb["nbformat"] == 4
    assert "mllab_template" not in nb["metadata"]
    assert nb["cells"][0]["cell_type"] == "markdown"
    assert "parameters" in _source(nb["cells"][0])  # the intro says what drives a run
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None
    params = _parameters(nb)
    compile(params, template.id, "exec")
    if template.dataset:
        assert re.search(rf"^{template.dataset.parameter} = ", params, re.M)


def test_render_replaces_only_the_dataset_line() -> None:
    plain = _parameters(templates.render("wine-regression"))
    filled = _parameters(templates.render("wine-regression", 'lab/wine@3"x'))
    assert 'data = "data/wine.csv"' in plain
    changed = [
        (a, b) for a, b in zip(plain.splitlines(), filled.splitlines(), strict=True) if a != b
    ]
    assert changed == [('data = "data/wine.csv"', 'data = "lab/wine@3\\"x"')]
    namespace: dict = {}
    exec(filled, namespace)  # a Python string literal, quotes escaped
    assert namespace["data"] == 'lab/wine@3"x' and namespace["alpha"] == 0.5
    # the other cells are the template's own
    other = templates.render("wine-regression", "lab/wine@3")["cells"]
    assert [_source(c) for c in other[2:]] == [
        _source(c) for c in templates.render("wine-regression")["cells"][2:]
    ]
    # each render is a fresh copy
    templates.render("wine-regression")["cells"].clear()
    assert templates.render("wine-regression")["cells"]


def test_render_refuses_an_empty_key() -> None:
    with pytest.raises(BadRequest):
        templates.render("wine-regression", "  ")


def _version(media_type: str, filename: str, columns: list[str] | None) -> dict:
    return {"media_type": media_type, "filename": filename, "columns": columns, "kind": "file"}


def test_fits_on_media_type_and_header_columns() -> None:
    wine = templates.get_template("wine-regression")
    header = ["alcohol", "malic_acid", "target"]
    assert templates.fits(wine, _version("text/csv", "wine.csv", header))
    # a generic media type, told by the file name
    assert templates.fits(wine, _version("application/octet-stream", "w.csv", header))
    assert not templates.fits(wine, _version("application/json", "wine.json", header))
    assert not templates.fits(wine, _version("text/csv", "wine.csv", ["quality", "ph"]))
    assert not templates.fits(wine, _version("text/csv", "wine.csv", None))
    folder = {**_version("text/csv", "wine.csv", header), "kind": "folder"}
    assert not templates.fits(wine, folder)
    no_slot = templates.Template("x", "X", "", "c", "x.ipynb", 1, None)
    assert not templates.fits(no_slot, _version("text/csv", "wine.csv", header))


def test_header_columns(tmp_path: Path) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text('\ufeffa,"b,c", d\r\n1,2,3\n', encoding="utf-8")
    assert templates.header_columns(csv) == ["a", "b,c", "d"]
    tsv = tmp_path / "a.tsv"
    tsv.write_text("x\ty\n1\t2\n")
    assert templates.header_columns(tsv) == ["x", "y"]
    blob = tmp_path / "blob"  # a stored blob has no suffix: read by content
    blob.write_text("text,label\nhi,a\n")
    assert templates.header_columns(blob) == ["text", "label"]
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"PK\x03\x04\x00\x00")
    assert templates.header_columns(binary) is None
    long = tmp_path / "long.csv"
    long.write_text("a" * 100 + "\n1\n")
    assert templates.header_columns(long, limit=50) is None
    assert templates.header_columns(long) == ["a" * 100]
    parquet = tmp_path / "x.parquet"
    parquet.write_text("a,b\n")
    assert templates.header_columns(parquet) is None
    assert templates.header_columns(tmp_path) is None
    assert templates.header_columns(tmp_path / "missing.csv") is None
    assert templates.header_columns(templates.DATA / "wine.csv")[0] == "alcohol"


def test_sample_files() -> None:
    ((relative, source),) = templates.sample_files("wine-regression")
    assert relative == "data/wine.csv"
    assert source.read_bytes() == (REPO / "demo" / "data" / "wine.csv").read_bytes()
    assert templates.sample_files("prepare-data") == [("data/wine.csv", source)]
    ((relative, source),) = templates.sample_files("text-classification")
    assert (relative, source.name) == ("data/news.csv", "news.csv")
    assert templates.sample_files("digits-keras") == []  # scikit-learn ships its data


def test_news_corpus_is_generated_and_hard_enough() -> None:
    from jupyter_mllab.templates import make_news

    committed = (templates.DATA / "news.csv").read_text(encoding="utf-8")
    assert make_news.render() == committed  # the script makes exactly the shipped file
    columns = templates.header_columns(templates.DATA / "news.csv")
    assert columns == ["text", "label"]
    assert templates.fits(
        templates.get_template("text-classification"),
        {"media_type": "text/csv", "filename": "news.csv", "columns": columns},
    )
    import pandas as pd
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import make_pipeline

    news = pd.read_csv(templates.DATA / "news.csv")
    assert news["label"].value_counts().to_dict() == {
        t: make_news.PER_TOPIC for t in make_news.TOPICS
    }
    model = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=1000))
    accuracy = cross_val_score(model, news["text"], news["label"], cv=4).mean()
    assert 0.85 < accuracy < 1.0  # learnable, not trivial


def test_instantiate_unique_names_and_sample_files(tmp_path: Path) -> None:
    first = templates.instantiate("wine-regression", tmp_path, None)
    assert first == tmp_path / "wine_regression.ipynb"
    assert (tmp_path / "data" / "wine.csv").read_bytes() == (
        templates.DATA / "wine.csv"
    ).read_bytes()
    (tmp_path / "data" / "wine.csv").write_text("alcohol\n1\n")  # the user's copy stays
    second = templates.instantiate("wine-regression", tmp_path, "lab/wine@2")
    third = templates.instantiate("wine-regression", tmp_path, None)
    assert [second.name, third.name] == ["wine_regression-1.ipynb", "wine_regression-2.ipynb"]
    assert (tmp_path / "data" / "wine.csv").read_text() == "alcohol\n1\n"
    assert 'data = "lab/wine@2"' in _parameters(json.loads(second.read_text()))
    assert json.loads(first.read_text()) == templates.render("wine-regression")
    named = templates.instantiate("wine-regression", tmp_path / "new", "k@1", name="mine")
    assert named == tmp_path / "new" / "mine.ipynb"
    assert not (tmp_path / "new" / "data").exists()  # a key: no sample data needed
    for bad in ("../x", "a/b", "", ".."):
        with pytest.raises(BadRequest):
            templates.instantiate("wine-regression", tmp_path, None, name=bad)


def test_demo_check_detects_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo_cli.main(["--write", str(tmp_path)]) == 0
    assert (tmp_path / "wine_regression.ipynb").is_file()
    assert (tmp_path / "data" / "wine.csv").is_file()
    assert demo_cli.main(["--check", str(tmp_path)]) == 0
    notebook = tmp_path / "wine_regression.ipynb"
    notebook.write_text(notebook.read_text().replace("alpha = 0.5", "alpha = 0.7"))
    (tmp_path / "data" / "wine.csv").unlink()
    capsys.readouterr()
    assert demo_cli.main(["--check", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "wine_regression.ipynb: differs" in err and "wine.csv: missing" in err


def test_committed_demo_matches_the_package() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "jupyter_mllab.templates", "--check", str(REPO / "demo")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_the_catalog_is_light() -> None:
    """The kernel client and the magics use it: no server module, nothing heavy."""
    probe = (
        "import sys, jupyter_mllab.templates as t; t.list_templates(); t.render(t.list_templates()"
        "[0].id); heavy = ('mlflow', 'tornado', 'jupyter_server', 'pandas', 'nbformat'); "
        "print(sorted(k for k in heavy if k in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
