"""Prepare the tracking store in a process of its own: ``python -m jupyter_mllab.tracking.prepare``.

Creating a new SQLite MLflow store (about 1.6 s of schema migrations) and importing mlflow
(about 1 s) are CPU-bound Python: done in the server's process they would hold its GIL
while JupyterLab starts. Here they run beside it, on the other core.

Reads ``{"home", "tracking_uri", "artifact_root"}`` as JSON from stdin (the URI may
hold a password: never on a command line) and prints ``{"default_experiment_id": ...}``
on success. It watches the server's lifeline and dies with it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .._procs import watch_lifeline
from ..projects.store import DEFAULT_PROJECT, ProjectStore
from .experiments import ExperimentLink


def prepare(home: Path, tracking_uri: str, artifact_root: Path) -> str:
    link = ExperimentLink(tracking_uri, artifact_root)
    link.prepare_store()
    store = ProjectStore(home)
    store.ensure(DEFAULT_PROJECT)
    return link.experiment_for(store, DEFAULT_PROJECT)


def main() -> None:
    watch_lifeline()  # an unreachable tracking server must not keep us past the lab
    args = json.loads(sys.stdin.read())
    experiment_id = prepare(Path(args["home"]), args["tracking_uri"], Path(args["artifact_root"]))
    print(json.dumps({"default_experiment_id": experiment_id}))


if __name__ == "__main__":
    main()
