"""docs/: the generated pages match the code (as ``openapi --check`` does for the OpenAPI
document), they cover what they claim to, and every relative link of the docs resolves."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import jupyter_mllab
from jupyter_mllab import docgen
from jupyter_mllab.app import MLLabApp

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def test_generated_pages_are_current() -> None:
    assert docgen.stale() == [], "run: python -m jupyter_mllab.docgen"


def test_check_fails_on_a_stale_page(tmp_path: Path) -> None:
    docgen.write(tmp_path)
    assert docgen.stale(tmp_path) == []
    page = tmp_path / "configuration.md"
    page.write_text(page.read_text().replace("max_tensorboards", "max_boards"))
    (tmp_path / "client.md").unlink()
    assert docgen.stale(tmp_path) == ["configuration.md", "client.md"]
    out = subprocess.run(
        [sys.executable, "-m", "jupyter_mllab.docgen", "--check"],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr  # the committed pages, not tmp_path's


def test_configuration_has_every_trait() -> None:
    text = (DOCS / "configuration.md").read_text()
    traits = MLLabApp.class_own_traits(config=True)
    assert len(traits) > 20
    for name, trait in traits.items():
        section = text.split(f"\n## {name}\n", 1)[1].split("\n## ", 1)[0]
        assert docgen.escape(" ".join(trait.help.split()))[:40] in section, name
        assert f"--MLLabApp.{name}=" in section
    assert "`local`, `dask`" in text  # an Enum's values
    assert "`100,000`" in text and "(50 GiB)" in text  # numbers a person can read


def test_rest_api_has_every_route() -> None:
    text = (DOCS / "rest-api.md").read_text()
    document = json.loads((DOCS / "openapi.json").read_text())
    for path, verbs in document["paths"].items():
        for verb in verbs:
            assert f"### `{verb.upper()} {path.removeprefix('/mllab/api/')}`" in text, path
    for name in document["components"]["schemas"]:
        assert f'<a id="schema-{name.lower()}"></a>{name}' in text


def test_client_page_has_every_function_and_magic() -> None:
    text = (DOCS / "client.md").read_text()
    functions = [n for n in jupyter_mllab.__all__ if n not in ("__version__", "keras")]
    functions.remove("load_ipython_extension")
    for name in functions:
        assert f"### `mllab.{name}`" in text, name
    assert "mllab.log_metric(key: str, value: float, step: int | None = None) -> None" in text
    assert "Callback(every_n_batches: int | None = None" in text  # read without Keras
    for magic in ("%mllab run NOTEBOOK", "%mllab deploy MODEL", "%%mllab track"):
        assert magic in text


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors of a Markdown page, and its explicit ``<a id>`` ones."""
    text = page.read_text()
    found = set(re.findall(r'<a id="([^"]+)"></a>', text))
    for heading in re.findall(r"^#+ (.+)$", text, flags=re.M):
        heading = re.sub(r"<[^>]+>", "", heading)
        found.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    return found


PAGES = sorted([ROOT / "README.md", *DOCS.glob("*.md"), *DOCS.glob("guide/*.md")])


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_links_resolve(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name}: {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked), f"{page.name}: {target}"
