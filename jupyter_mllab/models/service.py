"""Models as the server sees them: the registry per project, a version's detail and lineage,
bundles built on request, and which runs and models used a dataset version.

Every public method runs its blocking work (MLflow, files) in a thread; handlers wait for
the tracking store before calling in."""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._threads import run_sync
from ..errors import BadRequest, NotFound
from ..lineage import MLFLOW_DIGEST_LENGTH
from .names import registered_name, split_registered_name, validate_alias
from .store import MLMODEL, ModelRegistry, lab_flavor, quote
from .views import (
    bundle_card,
    dataset_inputs,
    input_example_of,
    lineage_of,
    model_view,
    signature_of,
    version_view,
)

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion, RegisteredModel

    from ..datasets.store import DatasetStore
    from ..projects.store import Project, ProjectStore
    from ..tracking.experiments import ExperimentLink

log = logging.getLogger(__name__)
EXAMPLE_READ_BYTES = 4 << 20  # an input example file read at all (views.py cuts it)
MAX_FILES = 1000
MAX_USAGE_RUNS = 1000
RUN_ID_BATCH = 100  # run ids per "run_id IN (...)" search


def _version_number(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) < 10**10 else None


class ModelService:
    def __init__(
        self,
        registry: ModelRegistry,
        experiments: ExperimentLink,
        projects: ProjectStore,
        datasets: DatasetStore,
        cache_dir: Path,
    ):
        self.registry = registry
        self.experiments = experiments
        self.projects = projects
        self.datasets = datasets
        self.cache_dir = cache_dir
        self._build_locks: dict[tuple[str, int], threading.Lock] = {}
        # Told (project, name) after this lab moves an alias (services follow aliases).
        self.alias_listeners: list[Callable[[str, str], None]] = []
        # Asked (project, name, version) before a version is deleted; one raises to refuse
        # (a service serves it).
        self.version_guards: list[Callable[[str, str, int], None]] = []
        self._locks_lock = threading.Lock()

    # -- look-ups ----------------------------------------------------------------------------
    def _registered(self, project: str, name: str) -> str:
        self.projects.get(project)  # 404 no_such_project
        return registered_name(project, name)  # 400 invalid_name

    def _model(self, project: str, name: str) -> RegisteredModel:
        return self.registry.get_model(self._registered(project, name), f"{project}/{name}")

    def _version(self, project: str, name: str, ref: str) -> tuple[RegisteredModel, ModelVersion]:
        """A version by number or alias; the model first (so a missing model is no_model)."""
        rm = self._model(project, name)
        shown = f"{project}/{name}"
        number = _version_number(ref)
        if number is not None:
            return rm, self.registry.get_version(rm.name, number, shown)
        if ref.isdigit():
            raise BadRequest(f"'{ref}' is not a version number.", reason="bad_version")
        return rm, self.registry.version_by_alias(rm.name, validate_alias(ref), shown)

    # -- the registry ------------------------------------------------------------------------
    def _list(self, project: str, search: str) -> dict[str, Any]:
        self.projects.get(project)
        models = self.registry.project_models(project)
        needle = search.strip().lower()
        if needle:
            models = [
                m
                for m in models
                if needle in m.name.partition("~")[2].lower()
                or needle in (m.description or "").lower()
                or any(needle in f"{k} {v}".lower() for k, v in (m.tags or {}).items())
            ]
        prefix = registered_name(project, "x")[:-1]
        by_model: dict[str, list[ModelVersion]] = {m.name: [] for m in models}
        if models:
            for mv in self.registry.versions(f"name LIKE {quote(prefix + '%')}"):
                if mv.name in by_model:
                    by_model[mv.name].append(mv)
        return {"models": [model_view(m, by_model[m.name]) for m in models]}

    async def list_models(self, project: str, search: str = "") -> dict[str, Any]:
        return await run_sync(self._list, project, search)

    def _get(self, project: str, name: str) -> dict[str, Any]:
        rm = self._model(project, name)
        return model_view(rm, self.registry.versions(f"name = {quote(rm.name)}"))

    async def get_model(self, project: str, name: str) -> dict[str, Any]:
        return await run_sync(self._get, project, name)

    def _versions(self, project: str, name: str, offset: int, limit: int) -> dict[str, Any]:
        if offset < 0 or not 1 <= limit <= 1000:
            raise BadRequest("offset >= 0 and limit from 1 to 1000, please.", reason="bad_argument")
        rm = self._model(project, name)
        found = self.registry.versions(f"name = {quote(rm.name)}")
        aliases = {a: int(v) for a, v in (rm.aliases or {}).items()}
        page = found[offset : offset + limit]
        return {"versions": [version_view(v, aliases) for v in page], "total": len(found)}

    async def versions(
        self, project: str, name: str, offset: int = 0, limit: int = 50
    ) -> dict[str, Any]:
        return await run_sync(self._versions, project, name, offset, limit)

    def _lineage(self, mv: ModelVersion) -> dict[str, Any]:
        run = None
        if mv.run_id:
            with contextlib.suppress(NotFound):  # a deleted run: no lineage left
                run = self.registry.get_run(mv.run_id)
        return lineage_of(run)

    async def lineage(self, project: str, name: str, version: str) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            return self._lineage(self._version(project, name, version)[1])

        return await run_sync(work)

    def _detail(self, project: str, name: str, version: str) -> dict[str, Any]:
        rm, mv = self._version(project, name, version)
        view = version_view(mv, {a: int(v) for a, v in (rm.aliases or {}).items()})
        location = self.registry.version_location(rm.name, int(mv.version))
        model = self.registry.read_model(location)
        example = None
        info = getattr(model, "saved_input_example_info", None) or {}
        example_path = info.get("artifact_path") if isinstance(info, dict) else None
        if example_path:
            raw = self.registry.read_json(location, example_path, EXAMPLE_READ_BYTES)
            example = input_example_of(raw) if raw is not None else None
        try:
            files = self.registry.list_files(location, limit=MAX_FILES + 1)
        except Exception:
            log.warning("Listing the files of %s v%s failed", rm.name, mv.version, exc_info=True)
            files = []
        lineage = self._lineage(mv)
        return {
            **view,
            "signature": signature_of(model),
            "input_example": example,
            "metrics": lineage["metrics"],
            "params": lineage["params"],
            "files": [{"path": p, "size": s} for p, s in files[:MAX_FILES]],
            "files_truncated": len(files) > MAX_FILES,
            "lineage": lineage,
        }

    async def version(self, project: str, name: str, version: str) -> dict[str, Any]:
        return await run_sync(self._detail, project, name, version)

    def _patch(self, project: str, name: str, version: str, body: dict[str, Any]) -> dict[str, Any]:
        from ..jobs.tags import MAX_VALUE_LENGTH, check_key

        tags = body.get("tags") or {}
        remove = body.get("remove_tags") or []
        for key in [*tags, *remove]:
            check_key(key)  # mllab.* and mlflow.* are the lab's and MLflow's own
        for key, value in tags.items():
            if len(value) > MAX_VALUE_LENGTH:
                raise BadRequest(
                    f"Tag '{key}' is longer than {MAX_VALUE_LENGTH} characters.", reason="bad_tag"
                )
        rm, mv = self._version(project, name, version)
        number = int(mv.version)
        self.registry.update_version(rm.name, number, body.get("description"), tags, remove)
        rm = self.registry.get_model(rm.name, f"{project}/{name}")
        fresh = self.registry.get_version(rm.name, number, f"{project}/{name}")
        return version_view(fresh, {a: int(v) for a, v in (rm.aliases or {}).items()})

    async def update_version(
        self, project: str, name: str, version: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        return await run_sync(self._patch, project, name, version, body)

    def _set_alias(self, project: str, name: str, alias: str, version: int) -> dict[str, Any]:
        alias = validate_alias(alias)
        rm = self._model(project, name)
        mv = self.registry.get_version(rm.name, version, f"{project}/{name}")  # 404 no_version
        self.registry.set_alias(rm.name, alias, version)
        aliases = {a: int(v) for a, v in (rm.aliases or {}).items()}
        aliases[alias] = version
        return version_view(mv, aliases)

    async def set_alias(self, project: str, name: str, alias: str, version: int) -> dict[str, Any]:
        view = await run_sync(self._set_alias, project, name, alias, version)
        for listener in self.alias_listeners:
            listener(project, name)
        return view

    def _delete_alias(self, project: str, name: str, alias: str) -> None:
        alias = validate_alias(alias)
        rm = self._model(project, name)
        if alias not in (rm.aliases or {}):
            raise NotFound(f"Model '{project}/{name}' has no alias '{alias}'.", reason="no_alias")
        self.registry.delete_alias(rm.name, alias)

    async def delete_alias(self, project: str, name: str, alias: str) -> None:
        await run_sync(self._delete_alias, project, name, alias)

    def _delete_version(self, project: str, name: str, version: str) -> None:
        rm, mv = self._version(project, name, version)
        for guard in self.version_guards:
            guard(project, name, int(mv.version))
        self.registry.delete_version(rm.name, int(mv.version))
        self._forget_bundles(rm.name, int(mv.version))

    async def delete_version(self, project: str, name: str, version: str) -> None:
        await run_sync(self._delete_version, project, name, version)

    # -- a project's models as the project changes ----------------------------------------
    def count(self, project: Project) -> int:
        """Registered models of the project (the projects list's counts)."""
        return len(self.registry.project_models(project.name))

    def rename_project(self, old: str, new: str) -> None:
        """Follow a project's rename: ``old~name`` becomes ``new~name`` (keys change too)."""
        for rm in self.registry.project_models(old):
            _, name = split_registered_name(rm.name) or ("", rm.name)
            try:
                self.registry.rename_model(rm.name, registered_name(new, name), new)
            except Exception:
                log.exception("Could not rename model %r for project %r", rm.name, new)
            shutil.rmtree(self.cache_dir / rm.name, ignore_errors=True)

    def forget_project(self, project: Project) -> None:
        """A deleted project's registered models go with it (a new project of that name
        must not inherit them)."""
        for rm in self.registry.project_models(project.name):
            try:
                self.registry.delete_model(rm.name)
            except Exception:
                log.exception("Could not delete model %r of project %r", rm.name, project.name)
            shutil.rmtree(self.cache_dir / rm.name, ignore_errors=True)

    # -- registering a run's model -----------------------------------------------------------
    def _register(self, project: str, body: dict[str, Any], author: str) -> dict[str, Any]:
        name = body["name"]
        registered = self._registered(project, name)
        alias = validate_alias(body["alias"]) if body.get("alias") else None
        path = body["artifact_path"].strip("/")
        if not path or "'" in path or any(p in ("", ".", "..") for p in path.split("/")):
            raise BadRequest(
                f"'{body['artifact_path']}' is not an artifact path.", reason="not_a_model"
            )
        run = self.registry.get_run(body["run_id"])
        experiment_id = self.experiments.experiment_for(self.projects, project)
        if str(run.info.experiment_id) != experiment_id:
            raise NotFound(
                f"Run {body['run_id']} is not a run of project '{project}'.", reason="no_run"
            )
        # The run's own artifacts (MLflow 2 style, some autologgers), else MLflow 3's
        # logged model of that name whose source run this is.
        model_id: str | None = None
        location = source = self.registry.run_artifact_uri(run, path)
        model = self.registry.read_model(location)
        if model is None:
            logged = self.registry.logged_models(experiment_id, run.info.run_id, path)
            if logged:
                # its storage location as the source, not "models:/m-...": MLflow's SQL
                # registry resolves that through the process-wide tracking URI
                model_id = logged[-1].model_id
                source = str(logged[-1].artifact_location)
                model = self.registry.read_model(source)
        if model is None:
            raise BadRequest(
                f"Run {run.info.run_id} holds no MLflow model at '{path}' (no MLmodel file).",
                reason="not_a_model",
            )
        flavors = sorted((model.flavors or {}).keys())
        self.registry.ensure_model(registered, {"mllab.project": project, "mllab.name": name})
        tags = {
            "mllab.project": project,
            "mllab.flavor": lab_flavor(flavors),
            "mllab.format": "mlflow",
            "mllab.artifact_path": path,
        }
        if author:
            tags["mllab.created_by"] = author
        mv = self.registry.create_version(
            registered, source, run.info.run_id, tags, body.get("description"), model_id
        )
        aliases: dict[str, int] = {}
        if alias:
            self.registry.set_alias(registered, alias, int(mv.version))
            aliases[alias] = int(mv.version)
        return version_view(mv, aliases)

    async def register(self, project: str, body: dict[str, Any], author: str) -> dict[str, Any]:
        return await run_sync(self._register, project, body, author)

    def _run_models(self, run_id: str) -> dict[str, Any]:
        run = self.registry.get_run(run_id)
        logged = []
        for path in self.registry.run_model_folders(run_id):
            model = self.registry.read_model(self.registry.run_artifact_uri(run, path))
            logged.append(
                {"artifact_path": path, "flavors": sorted((model.flavors or {}) if model else [])}
            )
        for lm in self.registry.logged_models(str(run.info.experiment_id), run_id):
            if any(item["artifact_path"] == lm.name for item in logged):
                continue
            model = self.registry.read_model(lm.artifact_location)
            flavors = sorted((model.flavors or {}) if model else [])
            logged.append({"artifact_path": lm.name, "flavors": flavors, "model_id": lm.model_id})
        versions = [
            v
            for v in self.registry.versions(f"run_id = {quote(run_id)}")
            if split_registered_name(v.name)
        ]
        return {"logged": logged, "registered": self._views_with_aliases(versions)}

    async def run_models(self, run_id: str) -> dict[str, Any]:
        return await run_sync(self._run_models, run_id)

    def _views_with_aliases(self, versions: list[ModelVersion]) -> list[dict[str, Any]]:
        aliases: dict[str, dict[str, int]] = {}
        for name in {v.name for v in versions}:
            try:
                rm = self.registry.get_model(name, name)
                aliases[name] = {a: int(n) for a, n in (rm.aliases or {}).items()}
            except NotFound:
                aliases[name] = {}
        return [version_view(v, aliases[v.name]) for v in versions]

    # -- dataset usage -----------------------------------------------------------------------
    def _usage(self, project: str, name: str, version: int | None) -> dict[str, Any]:
        ds = self.datasets.get(self.projects.get(project), name, version)
        experiments = [p.experiment_id for p in self.projects.list() if p.experiment_id]
        runs = []
        if experiments:
            digest = ds.sha256[:MLFLOW_DIGEST_LENGTH]
            found = self.registry.search_runs(experiments, f"dataset.digest = {quote(digest)}")
            for run in found[:MAX_USAGE_RUNS]:
                if any(d["sha256"] == ds.sha256 for d in dataset_inputs(run)):
                    runs.append(run)
        ids = [r.info.run_id for r in runs]
        versions: list[ModelVersion] = []
        for start in range(0, len(ids), RUN_ID_BATCH):
            batch = ", ".join(quote(i) for i in ids[start : start + RUN_ID_BATCH])
            versions += [
                v
                for v in self.registry.versions(f"run_id IN ({batch})")
                if split_registered_name(v.name)
            ]
        return {
            "runs": [
                {
                    "run_id": r.info.run_id,
                    "run_name": r.info.run_name,
                    "experiment_id": str(r.info.experiment_id),
                    "job_id": r.data.tags.get("mllab.job_id"),
                    "status": r.info.status,
                }
                for r in runs
            ],
            "models": self._views_with_aliases(versions),
        }

    async def dataset_usage(self, project: str, name: str, version: int | None) -> dict[str, Any]:
        return await run_sync(self._usage, project, name, version)

    # -- bundles -----------------------------------------------------------------------------
    def _bundle_dir(self, registered: str, version: int) -> Path:
        return self.cache_dir / registered / str(version)

    def _forget_bundles(self, registered: str, version: int) -> None:
        shutil.rmtree(self._bundle_dir(registered, version), ignore_errors=True)

    def _lock_for(self, registered: str, version: int) -> threading.Lock:
        with self._locks_lock:
            return self._build_locks.setdefault((registered, version), threading.Lock())

    def _bundle(self, project: str, name: str, version: str) -> tuple[Path, str]:
        """The version's ``.mlbundle``, built once per version (by creation time: a number
        MLflow hands out again after a delete gets a new bundle); concurrent requests for
        one version wait for the one build."""
        from .bundle import build_bundle

        rm, mv = self._version(project, name, version)
        number = int(mv.version)
        filename = f"{name}-v{number}.mlbundle"
        folder = self._bundle_dir(rm.name, number) / str(mv.creation_timestamp or 0)
        target = folder / filename
        with self._lock_for(rm.name, number):
            if target.is_file():
                return target, filename
            self._forget_bundles(rm.name, number)  # an older version of that number
            detail = self._detail(project, name, str(number))
            location = self.registry.version_location(rm.name, number)
            model_dir = self.registry.download(location, folder / "model")
            if not (model_dir / MLMODEL).is_file():
                raise BadRequest(f"{detail['key']} holds no MLmodel file.", reason="not_a_model")
            card = bundle_card(detail, project, name)
            try:
                build_bundle(model_dir, target, card=card)
            finally:
                with contextlib.suppress(OSError):
                    shutil.rmtree(model_dir)
            return target, filename

    async def bundle(self, project: str, name: str, version: str) -> tuple[Path, str]:
        return await run_sync(self._bundle, project, name, version)
