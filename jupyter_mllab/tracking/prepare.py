"""Prepare the tracking store in a process of its own: ``python -m jupyter_mllab.tracking.prepare``.

Creating a new SQLite MLflow store (about 1.6 s of schema migrations) and importing mlflow
(about 1 s) are CPU-bound Python: done in the server's process they would hold its GIL
while JupyterLab starts. Here they run beside it, on the other core.

Prints ``{"default_experiment_id": ...}`` on success.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..projects.store import DEFAULT_PROJECT, ProjectStore
from .experiments import ExperimentLink


def prepare(home: Path, tracking_uri: str, artifact_root: Path) -> str:
    link = ExperimentLink(tracking_uri, artifact_root)
    link.prepare_store()
    store = ProjectStore(home)
    project = store.ensure(DEFAULT_PROJECT)
    experiment_id = link.ensure(project)
    if experiment_id != project.experiment_id:
        store.set_experiment(project, experiment_id)
    return experiment_id


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("home", type=Path)
    parser.add_argument("tracking_uri")
    parser.add_argument("artifact_root", type=Path)
    args = parser.parse_args()
    experiment_id = prepare(args.home, args.tracking_uri, args.artifact_root)
    print(json.dumps({"default_experiment_id": experiment_id}))


if __name__ == "__main__":
    main()
