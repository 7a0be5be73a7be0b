"""The in-kernel face of the lab: ``import jupyter_mllab as mllab``.

It works on the lab's home directly (``$MLLAB_HOME``, exported by the server to its
kernels), so it needs no server and never imports jupyter_server. mlflow is imported
only by the calls that need it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import paths
from ..uris import redact_uri

if TYPE_CHECKING:
    from ..projects.store import ProjectStore

_current: str | None = None


def home() -> Path:
    return paths.default_home()


def _store() -> ProjectStore:
    from ..projects.store import ProjectStore

    return ProjectStore(home())


def current_project() -> str:
    """The project this kernel works in.

    ``set_project`` in this process wins; then ``$MLLAB_PROJECT`` (set for tracked runs);
    then the lab's current project as chosen in the sidebar; else ``default``.
    """
    if _current:
        return _current
    env = os.environ.get(paths.PROJECT_ENV)
    if env:
        return env
    if paths.db_path(home()).exists():
        return _store().get_current()
    return "default"


def set_project(name: str) -> str:
    """Work in another (existing) project from now on, in this process only."""
    global _current
    project = _store().get(name)
    _current = project.name
    return project.name


def list_projects() -> list[dict[str, Any]]:
    """The lab's projects, each as a dict (name, description, created, updated, ...)."""
    from ..projects.store import DEFAULT_PROJECT

    store = _store()
    store.ensure(DEFAULT_PROJECT)
    return [p.to_json() for p in store.list()]


def create_project(name: str, description: str = "") -> dict[str, Any]:
    """Create a project and its MLflow experiment."""
    from ..tracking.experiments import ExperimentLink

    store = _store()
    project = store.create(name, description)
    link = ExperimentLink(tracking_uri(), paths.default_artifact_root(home()))
    return link.attach(store, project).to_json()


def tracking_uri() -> str:
    return paths.default_tracking_uri(home())


def info() -> dict[str, Any]:
    """Version, home, tracking URI and the current project, as this kernel sees them."""
    from .. import __version__

    return {
        "version": __version__,
        "home": str(home()),
        "tracking_uri": redact_uri(tracking_uri()),
        "artifact_root": str(paths.default_artifact_root(home())),
        "project": current_project(),
    }
