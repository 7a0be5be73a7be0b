"""The MLflow Model Registry as the lab uses it: a thin layer over ``MlflowClient``.

Every method blocks (MLflow over SQLite or HTTP): the service calls them through
``_threads.run_sync``. MLflow's errors come out as ours: an unknown model or version is a
404 (``no_model`` / ``no_version``), a value MLflow refuses a 400. mlflow is imported on
first use. The registry URI is the tracking URI (one store holds runs and models).
"""

from __future__ import annotations

import contextlib
import json
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest, MLLabError, NotFound
from .names import SEPARATOR

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.entities.model_registry import ModelVersion, RegisteredModel
    from mlflow.tracking import MlflowClient

PAGE = 1000  # MLflow's page size for registry searches
MAX_ITEMS = 10_000  # the most models, versions or runs one answer walks
MLMODEL = "MLmodel"

# MLflow flavor (the MLmodel file's key) -> C3's mllab.flavor, first match wins
FLAVORS = (
    ("keras", "keras"),
    ("tensorflow", "keras"),
    ("sklearn", "sklearn"),
    ("xgboost", "xgboost"),
    ("lightgbm", "lightgbm"),
    ("pytorch", "pytorch"),
)


def lab_flavor(flavors: list[str]) -> str:
    for key, flavor in FLAVORS:
        if key in flavors:
            return flavor
    return "pyfunc"


def quote(value: str) -> str:
    """A string literal of MLflow's filter language."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@contextlib.contextmanager
def mlflow_errors(not_found: str = "no_model", what: str = "") -> Iterator[None]:
    """MLflow's exceptions as ours: RESOURCE_DOES_NOT_EXIST 404, a refused value 400."""
    from mlflow.exceptions import MlflowException

    try:
        yield
    except MlflowException as exc:
        code = exc.error_code
        message = exc.message if isinstance(exc.message, str) else str(exc)
        if code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND"):
            raise NotFound(what or message, reason=not_found) from None
        if code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST"):
            raise BadRequest(message, reason="invalid_name") from None
        if code in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
            raise MLLabError(message, reason="exists", status=409) from None
        raise


class ModelRegistry:
    """Registered models, versions, aliases and the artifacts behind them."""

    def __init__(self, tracking_uri: str, prepare: Callable[[], None] | None = None):
        self.tracking_uri = tracking_uri
        self._prepare = prepare  # makes an embedded store before its first use
        self._client: MlflowClient | None = None
        self._lock = threading.Lock()

    @property
    def client(self) -> MlflowClient:
        with self._lock:
            if self._client is None:
                if self._prepare is not None:
                    self._prepare()
                from mlflow.tracking import MlflowClient

                self._client = MlflowClient(self.tracking_uri, registry_uri=self.tracking_uri)
            return self._client

    # -- registered models -----------------------------------------------------------------
    def project_models(self, project: str) -> list[RegisteredModel]:
        """The project's registered models (``project~*``), by name."""
        prefix = f"{project}{SEPARATOR}"
        found = self._pages(
            lambda token: self.client.search_registered_models(
                f"name LIKE {quote(prefix + '%')}", max_results=PAGE, page_token=token
            )
        )
        # LIKE's '_' matches any character: keep the exact prefix only
        return sorted((m for m in found if m.name.startswith(prefix)), key=lambda m: m.name)

    def get_model(self, registered: str, shown: str) -> RegisteredModel:
        with mlflow_errors("no_model", f"There is no model named '{shown}'."):
            return self.client.get_registered_model(registered)

    def ensure_model(self, registered: str, tags: dict[str, str]) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self.client.create_registered_model(registered, tags=tags)
        except MlflowException as exc:
            if exc.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
                with mlflow_errors():
                    raise

    def rename_model(self, old: str, new: str, project: str) -> None:
        """``old`` as ``new`` (a project's rename), its mllab.project tags following."""
        with mlflow_errors():
            self.client.rename_registered_model(old, new)
            self.client.set_registered_model_tag(new, "mllab.project", project)
            for mv in self.versions(f"name = {quote(new)}"):
                if "mllab.project" in (mv.tags or {}):
                    self.client.set_model_version_tag(new, mv.version, "mllab.project", project)

    def delete_model(self, registered: str) -> None:
        with mlflow_errors():
            self.client.delete_registered_model(registered)

    # -- versions --------------------------------------------------------------------------
    def versions(self, filter_string: str) -> list[ModelVersion]:
        """Every version the filter matches (up to MAX_ITEMS), newest version first."""
        found = self._pages(
            lambda token: self.client.search_model_versions(
                filter_string,
                max_results=PAGE,
                order_by=["version_number DESC"],
                page_token=token,
            )
        )
        return sorted(found, key=lambda v: (v.name, -int(v.version)))

    def get_version(self, registered: str, version: int, shown: str) -> ModelVersion:
        with mlflow_errors("no_version", f"There is no version {version} of model '{shown}'."):
            return self.client.get_model_version(registered, str(version))

    def version_by_alias(self, registered: str, alias: str, shown: str) -> ModelVersion:
        missing = f"Model '{shown}' has no alias '{alias}'."
        try:
            with mlflow_errors("no_version", missing):
                return self.client.get_model_version_by_alias(registered, alias)
        except BadRequest:  # what MLflow's SQL store says of an alias it does not know
            raise NotFound(missing, reason="no_version") from None

    def set_alias(self, registered: str, alias: str, version: int) -> None:
        with mlflow_errors("no_version"):
            self.client.set_registered_model_alias(registered, alias, str(version))

    def delete_alias(self, registered: str, alias: str) -> None:
        with mlflow_errors("no_version"):
            self.client.delete_registered_model_alias(registered, alias)

    def update_version(
        self,
        registered: str,
        version: int,
        description: str | None,
        tags: dict[str, str],
        remove_tags: list[str],
    ) -> None:
        with mlflow_errors("no_version"):
            if description is not None:
                self.client.update_model_version(registered, str(version), description)
            for key, value in tags.items():
                self.client.set_model_version_tag(registered, str(version), key, value)
            for key in remove_tags:
                with contextlib.suppress(NotFound), mlflow_errors("no_tag"):
                    self.client.delete_model_version_tag(registered, str(version), key)

    def delete_version(self, registered: str, version: int) -> None:
        with mlflow_errors("no_version"):
            self.client.delete_model_version(registered, str(version))

    def create_version(
        self,
        registered: str,
        source: str,
        run_id: str,
        tags: dict[str, str],
        description: str | None,
        model_id: str | None,
    ) -> ModelVersion:
        with mlflow_errors("no_model"):
            return self.client.create_model_version(
                registered,
                source,
                run_id=run_id,
                tags=tags,
                description=description,
                model_id=model_id,
            )

    # -- runs and artifacts ----------------------------------------------------------------
    def get_run(self, run_id: str) -> Run:
        with mlflow_errors("no_run", f"There is no MLflow run '{run_id}'."):
            return self.client.get_run(run_id)

    def search_runs(self, experiment_ids: list[str], filter_string: str) -> list[Run]:
        return self._pages(
            lambda token: self.client.search_runs(
                experiment_ids, filter_string, max_results=PAGE, page_token=token
            )
        )

    def run_model_folders(self, run_id: str, max_depth: int = 3) -> list[str]:
        """Folders of the run's own artifacts that hold an MLmodel file (bounded walk)."""
        found: list[str] = []
        seen = 0
        pending: list[tuple[str | None, int]] = [(None, 0)]
        while pending and seen < MAX_ITEMS:
            path, depth = pending.pop(0)
            with mlflow_errors("no_run"):
                entries = self.client.list_artifacts(run_id, path)
            seen += len(entries)
            if any(not e.is_dir and e.path.rsplit("/", 1)[-1] == MLMODEL for e in entries):
                if path:
                    found.append(path)
                continue
            if depth < max_depth:
                pending += [(e.path, depth + 1) for e in entries if e.is_dir]
        return found

    def logged_models(self, experiment_id: str, run_id: str, name: str | None = None) -> list[Any]:
        """MLflow 3's logged models (``models:/m-...``) whose source run is ``run_id``."""
        clause = f"source_run_id = {quote(run_id)}"
        if name is not None:
            clause += f" AND name = {quote(name)}"
        with mlflow_errors("no_run"):
            return list(
                self.client.search_logged_models(
                    experiment_ids=[experiment_id], filter_string=clause, max_results=100
                )
            )

    def run_artifact_uri(self, run: Run, path: str) -> str:
        return f"{run.info.artifact_uri.rstrip('/')}/{path}"

    def version_location(self, registered: str, version: int) -> str:
        """Where a version's model files are (a file:, mlflow-artifacts: or s3: URI...)."""
        with mlflow_errors("no_version"):
            return str(self.client.get_model_version_download_uri(registered, str(version)))

    def _repo(self, uri: str) -> Any:
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        return get_artifact_repository(
            uri, tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
        )

    def list_files(self, uri: str, limit: int = 1000, max_depth: int = 6) -> list[tuple[str, int]]:
        """``(path, size)`` of the files under ``uri``, relative to it (bounded)."""
        repo = self._repo(uri)
        files: list[tuple[str, int]] = []
        pending: list[tuple[str | None, int]] = [(None, 0)]
        while pending and len(files) < limit:
            path, depth = pending.pop(0)
            for entry in repo.list_artifacts(path):
                if entry.is_dir:
                    if depth < max_depth:
                        pending.append((entry.path, depth + 1))
                elif len(files) < limit:
                    files.append((entry.path, int(entry.file_size or 0)))
        return sorted(files)

    def read_model(self, uri: str) -> Any | None:
        """The ``mlflow.models.Model`` of the MLmodel file at ``uri``, or None if none."""
        from mlflow.models import Model

        with tempfile.TemporaryDirectory(prefix="mllab-mlmodel-") as tmp:
            try:
                local = self._repo(uri).download_artifacts(MLMODEL, tmp)
            except Exception:
                return None
            try:
                return Model.load(local)
            except Exception:
                return None

    def read_json(self, uri: str, path: str, max_bytes: int) -> Any | None:
        """A small JSON file of a model (its input example); None if absent or too big."""
        with tempfile.TemporaryDirectory(prefix="mllab-model-file-") as tmp:
            try:
                local = Path(self._repo(uri).download_artifacts(path, tmp))
            except Exception:
                return None
            if local.stat().st_size > max_bytes:
                return None
            try:
                return json.loads(local.read_text(encoding="utf-8"))
            except ValueError:
                return None

    def download(self, uri: str, dest: Path) -> Path:
        dest.mkdir(parents=True, exist_ok=True)
        return Path(self._repo(uri).download_artifacts("", str(dest)))

    # -- paging ----------------------------------------------------------------------------
    @staticmethod
    def _pages(search: Callable[[str | None], Any]) -> list[Any]:
        items: list[Any] = []
        token: str | None = None
        while len(items) < MAX_ITEMS:
            with mlflow_errors():
                page = search(token)
            items += list(page)
            token = page.token
            if not token:
                break
        return items[:MAX_ITEMS]
