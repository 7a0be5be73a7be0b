"""Where the lab keeps things: shared by the server and the kernel client (stdlib only)."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "MLLAB_HOME"
PROJECT_ENV = "MLLAB_PROJECT"
JOB_ENV = "MLLAB_JOB_ID"  # a tracked job's id, in its kernel
TRACKING_ENV = "MLFLOW_TRACKING_URI"
ARTIFACTS_ENV = "MLLAB_ARTIFACT_ROOT"
TENSORBOARD_TAG = "mllab.tensorboard"  # on a run with TensorBoard logs: their folder


def default_home(root_dir: str | os.PathLike[str] | None = None) -> Path:
    """The lab's home: ``$MLLAB_HOME``, else ``<root_dir>/.mllab``, else ``~/.mllab``."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser().resolve()
    base = Path(root_dir).expanduser() if root_dir else Path.home()
    return (base / ".mllab").resolve()


def sqlite_tracking_uri(home: Path) -> str:
    """The embedded MLflow store: one SQLite file under the home."""
    return f"sqlite:///{home / 'mlflow.db'}"


def default_tracking_uri(home: Path) -> str:
    return os.environ.get(TRACKING_ENV) or sqlite_tracking_uri(home)


def default_artifact_root(home: Path) -> Path:
    env = os.environ.get(ARTIFACTS_ENV)
    return Path(env).resolve() if env else home / "artifacts"


def db_path(home: Path) -> Path:
    """The lab's own metadata (projects, later jobs): SQLite in WAL mode."""
    return home / "mllab.db"


def tensorboard_root(home: Path) -> Path:
    """Where runs' TensorBoard logs go: ``<home>/tensorboard/<run_id>``."""
    return home / "tensorboard"
