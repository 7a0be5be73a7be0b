"""Each project maps to one MLflow experiment, named ``mllab/<project>``.

mlflow is imported on first use (it costs about a second), never at module import.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from ..projects.store import Project, ProjectStore

EXPERIMENT_PREFIX = "mllab/"
PROJECT_TAG = "mllab.project_id"
log = logging.getLogger(__name__)


def experiment_name(project_name: str) -> str:
    return f"{EXPERIMENT_PREFIX}{project_name}"


class ExperimentLink:
    """Create, rename, delete and count the MLflow experiments behind projects."""

    def __init__(self, tracking_uri: str, artifact_root: Path):
        self.tracking_uri = tracking_uri
        self.artifact_root = Path(artifact_root)
        self._client: MlflowClient | None = None
        # Per instance: functools.cached_property in Python 3.11 locks all instances at once.
        self._lock = threading.Lock()
        self._ensure_lock = threading.Lock()

    @property
    def client(self) -> MlflowClient:
        with self._lock:
            if self._client is None:
                self.prepare_store()
                from mlflow.tracking import MlflowClient

                self._client = MlflowClient(tracking_uri=self.tracking_uri)
            return self._client

    def _sqlite_path(self) -> Path | None:
        if self.tracking_uri.startswith("sqlite:///"):
            return Path(self.tracking_uri[len("sqlite:///") :])
        return None

    def prepare_store(self) -> None:
        """Create an embedded store whose Default experiment keeps artifacts under the home.

        (MLflow's own default would put them in ``./mlruns`` of whatever directory we are in.)
        """
        path = self._sqlite_path()
        if path is None or path.exists():
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        self.artifact_root.mkdir(parents=True, exist_ok=True)
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        SqlAlchemyStore(self.tracking_uri, (self.artifact_root / "0").as_uri())

    def ensure(self, project: Project) -> str:
        """The id of the project's experiment, created (or renamed to match) when needed.

        Threads of this process take turns; another process (a kernel, a second worker)
        creating the same experiment at the same moment is no error: its experiment is
        the one to use."""
        with self._ensure_lock:
            try:
                return self._ensure(project)
            except Exception:
                exp = self.client.get_experiment_by_name(experiment_name(project.name))
                if exp is not None and exp.lifecycle_stage == "active":
                    return str(exp.experiment_id)
                raise

    def attach(self, store: ProjectStore, project: Project) -> Project:
        """The project with its experiment: made (or renamed to match) when needed, and its
        id recorded in the store. Every side (server, scheduler, kernel) links through here."""
        experiment_id = self.ensure(project)
        if experiment_id != project.experiment_id:
            project = store.set_experiment(project, experiment_id)
        return project

    def experiment_for(self, store: ProjectStore, project_name: str) -> str:
        """The MLflow experiment id of the project named ``project_name`` (404 if unknown)."""
        return str(self.attach(store, store.get(project_name)).experiment_id)

    def _ensure(self, project: Project) -> str:
        client = self.client
        name = experiment_name(project.name)
        if project.experiment_id:
            exp = self._get(project.experiment_id)
            if exp is not None and exp.lifecycle_stage == "active":
                if exp.name != name:
                    client.rename_experiment(exp.experiment_id, name)
                return str(exp.experiment_id)
        exp = client.get_experiment_by_name(name)
        if exp is not None and exp.lifecycle_stage == "active":
            client.set_experiment_tag(exp.experiment_id, PROJECT_TAG, project.id)
            return str(exp.experiment_id)
        if exp is not None:  # a deleted experiment still holds the name: move it aside
            client.restore_experiment(exp.experiment_id)
            self._retire(exp.experiment_id, name)
        location = (self.artifact_root / project.id).as_uri()
        return str(
            client.create_experiment(
                name, artifact_location=location, tags={PROJECT_TAG: project.id}
            )
        )

    def _get(self, experiment_id: str) -> Any:
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_experiment(experiment_id)
        except MlflowException:
            return None

    def _retire(self, experiment_id: str, name: str) -> None:
        # MLflow keeps a deleted experiment's name reserved; free it for a future project.
        self.client.rename_experiment(experiment_id, f"{name}~deleted-{experiment_id}")
        self.client.delete_experiment(experiment_id)

    def rename(self, project: Project) -> None:
        if project.experiment_id:
            exp = self._get(project.experiment_id)
            if exp is not None and exp.lifecycle_stage == "active":
                self.client.rename_experiment(exp.experiment_id, experiment_name(project.name))

    def delete(self, project: Project) -> None:
        if not project.experiment_id:
            return
        exp = self._get(project.experiment_id)
        if exp is not None and exp.lifecycle_stage == "active":
            self._retire(exp.experiment_id, exp.name)

    def count_runs(self, experiment_id: str | None) -> int:
        """Active runs in the experiment: one SQL count on the embedded store, else paging."""
        if not experiment_id:
            return 0
        path = self._sqlite_path()
        if path is not None:
            if not path.exists():
                return 0
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
            try:
                row = conn.execute(
                    "SELECT COUNT(*) FROM runs WHERE experiment_id = ?"
                    " AND lifecycle_stage = 'active'",
                    (int(experiment_id),),
                ).fetchone()
            except sqlite3.OperationalError:  # schema not created yet
                return 0
            finally:
                conn.close()
            return int(row[0])
        total, token = 0, None
        while True:
            page = self.client.search_runs([experiment_id], max_results=1000, page_token=token)
            total += len(page)
            token = page.token
            if not token:
                return total
