"""New notebooks from the lab's templates: ``mllab.new_notebook("wine-regression")``.

Works on the lab's home directly (no server), as ``get_dataset`` does: the dataset key is
picked from the current project's datasets, the notebook written into a local folder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _store, current_project

if TYPE_CHECKING:
    from ..datasets.store import DatasetStore
    from ..projects.store import Project


def _project(name: str | None) -> tuple[DatasetStore, Project]:
    """The datasets and ``name`` (default: the current project; ``default`` is made when
    the home is new, as the server does at its start)."""
    from ..datasets.store import DatasetStore
    from ..projects.store import DEFAULT_PROJECT

    store = DatasetStore(_store())
    name = name or current_project()
    if name == DEFAULT_PROJECT:
        return store, store.projects.ensure(DEFAULT_PROJECT)
    return store, store.projects.get(name)


def list_templates(project: str | None = None) -> list[dict[str, Any]]:
    """The templates, each with the keys of the project's (default: the current one's)
    latest dataset versions that fit it, newest first."""
    from ..datasets import fitting
    from ..templates import list_templates as catalog

    templates = catalog()
    store, chosen = _project(project)
    versions = fitting.latest_versions(store, chosen, fitting.slot_media_types(templates))
    return [{**t.to_json(), "datasets": fitting.fitting_keys(t, versions)} for t in templates]


def new_notebook(
    template: str,
    directory: str | os.PathLike[str] = ".",
    dataset: str | None = "auto",
    name: str | None = None,
) -> str:
    """Write a new notebook from ``template`` into ``directory`` and return its path.

    ``dataset``: ``"auto"`` fills in the current project's newest dataset version that
    fits the template (none when none does), a key fills in that version of the current
    project, None fills in none (the notebook reads the sample data copied beside it).
    The name is the template's file name (or ``name``), made unique as JupyterLab does.
    """
    from ..datasets.fitting import pick_dataset
    from ..templates import get_template, instantiate

    chosen = get_template(template)
    key = None
    if dataset is not None:
        store, project = _project(None)
        key = pick_dataset(store, project, chosen, dataset)
    return str(instantiate(chosen.id, Path(directory).expanduser(), key, name))
