"""The example notebooks as templates: ``list_templates``, ``render``, ``instantiate``.

Each template is a notebook in ``notebooks/`` whose ``metadata.mllab_template`` says what
it is (title, category, default file name) and which variable of its ``parameters`` cell
takes a dataset key. Light on purpose (stdlib only, JSON rather than nbformat): the kernel
client and the magics use it as well as the server.
"""

from __future__ import annotations

import ast
import copy
import csv
import functools
import io
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BadRequest, NotFound

HERE = Path(__file__).parent
NOTEBOOKS = HERE / "notebooks"
DATA = HERE / "data"
META_KEY = "mllab_template"
PARAMETERS_TAG = "parameters"
HEADER_LIMIT = 64 * 1024
# media types told by a file name when a version's own is missing or generic
_SUFFIX_TYPES = {".csv": "text/csv", ".tsv": "text/tab-separated-values"}

__all__ = [
    "DatasetSlot",
    "Template",
    "fits",
    "get_template",
    "header_columns",
    "instantiate",
    "list_templates",
    "notebook_json",
    "render",
    "sample_files",
]


@dataclass(frozen=True)
class DatasetSlot:
    """The variable of the parameters cell that takes a dataset key, and what fits it."""

    parameter: str
    media_types: tuple[str, ...]
    columns: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "parameter": self.parameter,
            "media_types": list(self.media_types),
            "columns": list(self.columns),
        }


@dataclass(frozen=True)
class Template:
    id: str
    title: str
    description: str
    category: str
    filename: str
    order: int
    dataset: DatasetSlot | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "category": self.category,
            "filename": self.filename,
            "order": self.order,
            "dataset": self.dataset.to_json() if self.dataset else None,
        }


def _template(meta: dict[str, Any]) -> Template:
    slot = meta.get("dataset")
    return Template(
        id=str(meta["id"]),
        title=str(meta["title"]),
        description=str(meta["description"]),
        category=str(meta["category"]),
        filename=str(meta["filename"]),
        order=int(meta["order"]),
        dataset=DatasetSlot(
            parameter=str(slot["parameter"]),
            media_types=tuple(slot.get("media_types", ())),
            columns=tuple(slot.get("columns", ())),
        )
        if slot
        else None,
    )


@functools.cache
def _catalog() -> dict[str, tuple[Template, str]]:
    """Template id -> (template, the notebook's text), read once from the package."""
    found: dict[str, tuple[Template, str]] = {}
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        text = path.read_text(encoding="utf-8")
        template = _template(json.loads(text)["metadata"][META_KEY])
        found[template.id] = (template, text)
    return found


def list_templates() -> list[Template]:
    return sorted((t for t, _ in _catalog().values()), key=lambda t: (t.order, t.id))


def get_template(template_id: str) -> Template:
    try:
        return _catalog()[template_id][0]
    except (KeyError, TypeError):
        known = ", ".join(t.id for t in list_templates())
        raise NotFound(
            f"There is no template {template_id!r} (templates: {known}).", reason="no_template"
        ) from None


def _lines(source: str | list[str]) -> list[str]:
    text = source if isinstance(source, str) else "".join(source)
    return text.splitlines(keepends=True)


def _parameters_cell(notebook: dict[str, Any]) -> dict[str, Any] | None:
    for cell in notebook.get("cells", []):
        if PARAMETERS_TAG in cell.get("metadata", {}).get("tags", []):
            return cell
    return None


def _assignment(parameter: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(parameter)}\s*=")


def render(template_id: str, dataset_key: str | None = None) -> dict[str, Any]:
    """The template's notebook (nbformat 4 JSON) without its template metadata; with
    ``dataset_key``, the dataset parameter's line reads ``<parameter> = "<key>"``."""
    template = get_template(template_id)
    notebook: dict[str, Any] = copy.deepcopy(json.loads(_catalog()[template_id][1]))
    notebook["metadata"].pop(META_KEY, None)
    if dataset_key is None:
        return notebook
    if not isinstance(dataset_key, str) or not dataset_key.strip():
        raise BadRequest("A dataset key must be non-empty text.", reason="bad_key")
    if template.dataset is None:
        raise BadRequest(
            f"The template {template.id!r} takes no dataset.", reason="no_dataset_parameter"
        )
    cell = _parameters_cell(notebook)
    pattern = _assignment(template.dataset.parameter)
    lines = _lines(cell["source"]) if cell else []
    for i, line in enumerate(lines):
        if pattern.match(line):
            ending = "\n" if line.endswith("\n") else ""
            literal = json.dumps(dataset_key)  # a double-quoted Python string literal
            lines[i] = f"{template.dataset.parameter} = {literal}{ending}"
            break
    else:  # the notebooks are ours: a template without its line is a packaging fault
        raise RuntimeError(f"{template.id}: no line assigns {template.dataset.parameter}")
    assert cell is not None
    cell["source"] = lines if isinstance(cell["source"], list) else "".join(lines)
    return notebook


def _default_value(template_id: str) -> Any:
    """The value the dataset parameter's line assigns in the template."""
    template = get_template(template_id)
    if template.dataset is None:
        return None
    cell = _parameters_cell(json.loads(_catalog()[template_id][1]))
    pattern = _assignment(template.dataset.parameter)
    for line in _lines(cell["source"]) if cell else []:
        if pattern.match(line):
            try:
                return ast.literal_eval(line.split("=", 1)[1].split("#", 1)[0].strip())
            except (ValueError, SyntaxError):
                return None
    return None


def sample_files(template_id: str) -> list[tuple[str, Path]]:
    """The packaged data a new notebook reads when no dataset key is filled in: (its path
    relative to the notebook, e.g. ``data/wine.csv``; the file in this package)."""
    default = _default_value(template_id)
    if not isinstance(default, str) or not default.startswith("data/"):
        return []
    source = DATA / default.removeprefix("data/")
    return [(default, source)] if source.is_file() else []


def header_columns(path: Path, limit: int = HEADER_LIMIT) -> list[str] | None:
    """The header of a CSV (or TSV) file: its first line's fields; None for a file that
    is not delimited text (a binary, another format, a first line past ``limit``)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix and suffix not in _SUFFIX_TYPES and suffix != ".txt":
        return None
    try:
        with path.open("rb") as f:
            head = f.read(limit)
            more = bool(f.read(1))
    except (IsADirectoryError, FileNotFoundError, PermissionError):
        return None
    if b"\x00" in head:
        return None
    line, newline, _ = head.partition(b"\n")
    if not newline and more:  # the first line does not end within the limit
        return None
    try:
        text = line.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError:
        return None
    row = next(csv.reader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ","), [])
    columns = [c.strip() for c in row]
    return columns if any(columns) else None


def fits(template: Template, version: dict[str, Any]) -> bool:
    """Whether a dataset version (its JSON, with ``columns`` read from its header or None)
    can fill the template's dataset parameter: a file of a type the slot takes, with every
    column the slot names."""
    slot = template.dataset
    if slot is None or version.get("kind", "file") != "file":
        return False
    media = version.get("media_type") or ""
    by_name = _SUFFIX_TYPES.get(Path(str(version.get("filename") or "")).suffix.lower())
    if slot.media_types and media not in slot.media_types and by_name not in slot.media_types:
        return False
    if not slot.columns:
        return True
    columns = version.get("columns") or []
    return all(c in columns for c in slot.columns)


def notebook_json(notebook: dict[str, Any]) -> str:
    """A notebook as text, as nbformat writes it (one-space indent, sorted keys)."""
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def _file_name(template: Template, name: str | None) -> str:
    if name is None:
        return template.filename
    base = name.strip()
    if not base or "/" in base or "\\" in base or "\x00" in base or base in (".", ".."):
        raise BadRequest(f"{name!r} is not a usable file name.", reason="invalid_filename")
    return base if base.endswith(".ipynb") else f"{base}.ipynb"


def instantiate(
    template_id: str, directory: Path, dataset_key: str | None, name: str | None = None
) -> Path:
    """Write a new notebook from the template into ``directory`` and return its path.

    The name is the template's file name (or ``name``), made unique as JupyterLab does
    (``wine_regression.ipynb``, ``wine_regression-1.ipynb``, ...). Without a dataset key
    the sample data it reads is copied beside it, where absent."""
    template = get_template(template_id)
    text = notebook_json(render(template_id, dataset_key))
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem, ext = _file_name(template, name).rsplit(".", 1)
    for i in range(10_000):
        path = directory / (f"{stem}.{ext}" if i == 0 else f"{stem}-{i}.{ext}")
        try:
            with path.open("x", encoding="utf-8") as f:  # exclusive: never overwrite
                f.write(text)
            break
        except FileExistsError:
            continue
    else:
        raise BadRequest(f"No free file name for {stem}.{ext} in {directory}.")
    if dataset_key is None:
        for relative, source in sample_files(template_id):
            target = directory / relative
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
    return path
