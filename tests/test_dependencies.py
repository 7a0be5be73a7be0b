"""Dependencies said out loud: every third-party module that jupyter_mllab imports belongs to a
distribution that pyproject.toml declares (the runtime dependencies or a feature extra, never
only the test extra), and the packages whose internals the code relies on are capped below
their next major, at a version range the installed one satisfies."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")  # Python 3.11

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "jupyter_mllab"
# Declared without being imported: the app the extension lives in, and nbclient, whose
# NotebookClient papermill's engine subclasses and the job runner drives (see the README);
# fastapi-offline, whose Swagger UI files serve/apidocs.py reads (found, not imported); and
# httptools and uvloop, which uvicorn picks for the model service when they are installed.
NOT_IMPORTED = {"jupyterlab", "nbclient", "fastapi-offline", "httptools", "uvloop"}
CAPPED = ("mlflow", "papermill", "jupyter-client", "nbclient")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> dict[str, dict[str, Requirement]]:
    """``{"dependencies" or extra: {distribution: requirement}}`` from pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    groups = {"dependencies": project["dependencies"], **project["optional-dependencies"]}
    return {
        group: {normalized(r.name): r for r in map(Requirement, reqs)}
        for group, reqs in groups.items()
    }


def imported_modules(root: Path) -> dict[str, set[str]]:
    """``{top-level module: {files importing it}}``, absolute imports only."""
    found: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        if "labextension" in path.relative_to(root).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(root.parent)))
    return found


def third_party(modules: dict[str, set[str]]) -> dict[str, set[str]]:
    return {
        m: files
        for m, files in modules.items()
        if m not in sys.stdlib_module_names and m != "__future__" and m != "jupyter_mllab"
    }


def test_every_imported_package_is_declared() -> None:
    groups = declared()
    usable = {d for group, reqs in groups.items() if group != "test" for d in reqs}
    owners = importlib.metadata.packages_distributions()
    modules = third_party(imported_modules(PACKAGE))
    assert {"mlflow", "tornado", "jupyter_client", "dateutil", "PIL"} <= set(modules)
    undeclared = {}
    extras = {d for group, reqs in groups.items() if group not in ("dependencies", "test")
              for d in reqs}  # fmt: skip
    for module, files in modules.items():
        dists = {normalized(d) for d in owners.get(module, [])}
        if not dists and normalized(module) in extras:
            continue  # an optional library used where installed (torch: log_model's flavor)
        assert dists, f"{module} (imported by {sorted(files)}) is not installed"
        if not dists & usable:
            undeclared[module] = (sorted(dists), sorted(files))
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"
    # and nothing declared at run time is left over from code that no longer imports it
    provided = {normalized(d) for m in modules for d in owners.get(m, [])}
    unused = set(groups["dependencies"]) - provided - NOT_IMPORTED
    assert not unused, f"declared but never imported: {sorted(unused)}"


def test_the_check_sees_an_undeclared_import(tmp_path: Path) -> None:
    """The scan finds imports anywhere in a module (in functions too), not only at the top."""
    (tmp_path / "mod.py").write_text(
        "import os\nfrom . import sibling\n\ndef f():\n    import yaml.loader\n"
    )
    assert set(third_party(imported_modules(tmp_path))) == {"yaml"}


@pytest.mark.parametrize("dist", CAPPED)
def test_packages_relied_on_in_their_internals_are_capped(dist: str) -> None:
    req = declared()["dependencies"][dist]
    caps = [s for s in req.specifier if s.operator == "<"]
    assert caps, f"{req} has no upper bound"
    installed = Version(importlib.metadata.version(dist))
    assert req.specifier.contains(installed, prereleases=True), (req, installed)
    # the cap is the next major, not a tighter pin
    assert Version(caps[0].version).major == installed.major + 1, (req, installed)
